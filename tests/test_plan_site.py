"""The site file: what it accepts, and errors that name the file, the line and the key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from s2ws.errors import SiteFileError
from s2ws.plan import PriceCurve, Series, Site, example_site, load_site, parse_duration

T0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)

PRICES = """start,import_price,export_price
2026-03-01T00:00:00+01:00,0.20,0.05
2026-03-01T01:00:00+01:00,0.30,0.07
"""


def write(tmp_path: Path, text: str, prices: str = PRICES) -> Path:
    (tmp_path / "prices.csv").write_text(prices, encoding="utf-8")
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """# the reference home
[grid]
import_limit_w = 17000
export_limit_w = 10000

[prices]
csv = "prices.csv"

[base_load]
w = 300

[objective]
kind = "peak"

[plan]
horizon = "12h"
step = "PT30M"
time_limit_s = 2.5
"""


def test_a_complete_site_file(tmp_path: Path) -> None:
    site = load_site(write(tmp_path, GOOD))
    assert (site.import_limit_w, site.export_limit_w) == (17000.0, 10000.0)
    assert site.objective.kind == "peak"
    assert (site.horizon, site.step, site.time_limit_s) == (timedelta(hours=12), timedelta(minutes=30), 2.5)
    assert site.base_load_w.at(T0) == 300.0
    start = datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
    assert site.prices.import_at(start) == 0.20
    assert site.prices.import_at(start + timedelta(minutes=90)) == 0.30  # the last row lasts an hour too
    assert site.prices.export_at(start + timedelta(hours=5)) == 0.07  # and then its prices hold


def test_defaults(tmp_path: Path) -> None:
    site = load_site(write(tmp_path, "[prices]\nimport_price = 0.25\n"))
    assert (site.horizon, site.step) == (timedelta(hours=24), timedelta(minutes=15))
    assert site.import_limit_w is None and site.objective.kind == "cost"
    assert site.prices.export_at(T0) == 0.0
    assert (site.time_limit_s, site.time_limit_per_device_s) == (3.5, 0.4)


def test_the_time_limit_per_device_can_be_set(tmp_path: Path) -> None:
    site = load_site(write(tmp_path, GOOD + "time_limit_per_device_s = 0.1\n"))
    assert site.time_limit_for(100) == 10.0


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        (GOOD.replace("import_limit_w", "import_limt_w"), 3, "grid.import_limt_w", "unknown key"),
        (GOOD.replace("17000", '"lots"'), 3, "grid.import_limit_w", "must be a number"),
        (GOOD.replace("-10000", "x").replace("10000", "-1"), 4, "grid.export_limit_w", "at least 0"),
        (GOOD.replace('"peak"', '"cheap"'), 13, "objective.kind", "'cost'"),
        (GOOD.replace('"12h"', '"half a day"'), 16, "plan.horizon", "not a duration"),
        (GOOD.replace('"PT30M"', '"13h"'), 17, "plan.step", "longer than the horizon"),
        (GOOD.replace("time_limit_s = 2.5", "time_limit_s = 0"), 18, "plan.time_limit_s", "positive"),
        (GOOD + "time_limit_per_device_s = -1\n", 19, "plan.time_limit_per_device_s", "at least 0"),
        (GOOD + "\n[battery]\nsize = 3\n", 20, "battery", "unknown table"),
        (GOOD.replace('csv = "prices.csv"', 'csv = "missing.csv"'), 7, "prices.csv", "cannot read"),
        (GOOD.replace("[grid]\n", "[grid]\nimport_limit_w = = 3\n"), 3, "", "not valid TOML"),
    ],
)
def test_errors_name_the_line_and_the_key(tmp_path: Path, text: str, line: int, key: str, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SiteFileError) as error:
        load_site(path)
    assert (error.value.line, error.value.key) == (line, key)
    assert words in error.value.reason
    assert str(error.value).startswith(f"{path}:{line}: ")


@pytest.mark.parametrize(
    ("prices", "line", "key", "words"),
    [
        ("begin,import,export\n", 1, "header", "must be start,import_price,export_price"),
        (PRICES + "2026-03-01T02:00:00,0.3,0.1\n", 4, "start", "no UTC offset"),
        (PRICES + "yesterday,0.3,0.1\n", 4, "start", "not an RFC 3339 time"),
        (PRICES + "2026-03-01T02:00:00+01:00,cheap,0.1\n", 4, "import_price", "not a number"),
        (PRICES + "2026-03-01T00:30:00+01:00,0.3,0.1\n", 4, "start", "increasing time order"),
        (PRICES + "2026-03-01T02:00:00+01:00,0.3\n", 4, "row", "2 fields"),
    ],
)
def test_price_file_errors_name_its_line(tmp_path: Path, prices: str, line: int, key: str, words: str) -> None:
    with pytest.raises(SiteFileError) as error:
        load_site(write(tmp_path, GOOD, prices))
    assert error.value.path.endswith("prices.csv")
    assert (error.value.line, error.value.key) == (line, key)
    assert words in error.value.reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24h", timedelta(hours=24)),
        ("15min", timedelta(minutes=15)),
        ("1h30min", timedelta(minutes=90)),
        ("90s", timedelta(seconds=90)),
        ("2d", timedelta(days=2)),
        ("PT24H", timedelta(hours=24)),
        ("PT15M", timedelta(minutes=15)),
        ("P1DT6H", timedelta(hours=30)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "15", "PT", "P", "0min", "an hour", "-5min"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_series_mean_and_grid() -> None:
    series = Series(((T0, 100.0), (T0 + timedelta(minutes=30), 300.0)), default=0.0)
    assert series.mean(T0, T0 + timedelta(hours=1)) == 200.0
    assert series.at(T0 + timedelta(hours=2)) == 0.0  # the last point lasted 30 min, like the one before
    site = Site(prices=PriceCurve.flat(T0, 0.3), horizon=timedelta(hours=1))
    starts, lengths = site.grid(T0 + timedelta(minutes=7))
    assert starts[0] == T0 + timedelta(minutes=7) and starts[1] == T0 + timedelta(minutes=15)
    assert lengths[0] == 8 * 60 and set(lengths[1:-1]) == {900.0}
    starts, lengths = site.grid(T0 + timedelta(minutes=13))  # 2 minutes to the boundary: merged
    assert starts[1] == T0 + timedelta(minutes=30) and lengths[0] == 17 * 60


def test_example_site_covers_the_day() -> None:
    site = example_site(T0 + timedelta(hours=9))
    assert site.prices.import_at(T0 + timedelta(hours=18)) > site.prices.import_at(T0 + timedelta(hours=13))
    assert site.base_load_w.at(T0 + timedelta(hours=18)) > site.base_load_w.at(T0 + timedelta(hours=3))
    assert site.import_limit_w == 17000.0
