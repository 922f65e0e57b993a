"""The TOML site file and the built-in example home.

```toml
[grid]
import_limit_w = 17000          # W; leave out for no limit
export_limit_w = 10000

[prices]
csv = "prices.csv"              # relative to this file: start,import_price,export_price (per kWh)
# or a flat tariff:  import_price = 0.30   export_price = 0.08
gas_price = 1.20                # per m³, optional

[base_load]
w = 350                         # constant W, or:  csv = "base.csv"  (start,w)

[objective]
kind = "cost"                   # "cost" | "peak" | "self-consumption" | "weighted"
capacity_price = 0.0            # per kW of the horizon's highest import, optional
weights = { cost = 1.0, peak = 0.1 }   # for "weighted"

[plan]
horizon = "24h"                 # "15min", "90s", "1h30min", or ISO 8601 "PT24H"
step = "15min"
time_limit_s = 3.5
time_limit_per_device_s = 0.4   # a larger site: this much per device, at most 45 s
```

Errors are :class:`~s2ws.errors.SiteFileError` naming the file, the line and the key (tomllib
reports syntax errors with a line but gives none for keys, so the line of a key is looked up
in the text).
"""

from __future__ import annotations

import csv
import math
import re
import tomllib
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import SiteFileError
from .site import OBJECTIVE_KINDS, Objective, PriceCurve, Series, Site

__all__ = ["example_site", "load_site", "parse_duration"]

_KEYS: Mapping[str, frozenset[str]] = {
    "grid": frozenset({"import_limit_w", "export_limit_w"}),
    "prices": frozenset({"csv", "import_price", "export_price", "gas_price"}),
    "base_load": frozenset({"w", "csv"}),
    "objective": frozenset({"kind", "capacity_price", "weights"}),
    "plan": frozenset({"horizon", "step", "time_limit_s", "time_limit_per_device_s", "mip_gap"}),
}

_UNITS = {"h": 3600.0, "min": 60.0, "m": 60.0, "s": 1.0, "d": 86400.0}
_SHORT = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*(d|h|min|m|s)\s*)+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|min|m|s)")
_ISO = re.compile(r"^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def parse_duration(text: str) -> timedelta:
    """``"24h"``, ``"15min"``, ``"1h30min"``, ``"90s"``, ``"2d"`` or ISO 8601 ``"PT24H"``/``"P1D"``."""
    value = text.strip()
    iso = _ISO.match(value.upper())
    if iso and value.upper() not in ("P", "PT"):
        days, hours, minutes, seconds = (float(g) if g else 0.0 for g in iso.groups())
        result = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    elif _SHORT.match(value):
        result = timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in _PART.findall(value)))
    else:
        raise ValueError(f'{text!r} is not a duration (write "24h", "15min", "1h30min", "90s" or ISO 8601 "PT24H")')
    if result <= timedelta(0):
        raise ValueError(f"{text!r} is not a positive duration")
    return result


def _line_of(text: str, table: str, key: str | None) -> int:
    """The line of ``key`` in ``[table]`` (or of the table header when key is None); 0 if not found."""
    current = ""
    header_line = 0
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.match(r"^\[\s*([A-Za-z0-9_.\-\"]+)\s*\]", stripped)
        if header:
            current = header.group(1).strip('"')
            if current == table:
                header_line = number
            continue
        if key is None:
            continue
        if current == table and re.match(rf"^\"?{re.escape(key)}\"?\s*=", stripped):
            return number
        if current == "" and re.match(rf"^{re.escape(table)}\.{re.escape(key)}\s*=", stripped):
            return number
    return header_line


class _Reader:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text

    def fail(self, table: str, key: str | None, reason: str) -> SiteFileError:
        name = f"{table}.{key}" if key else f"[{table}]"
        return SiteFileError(str(self.path), _line_of(self.text, table, key), name, reason)

    def number(self, table: Mapping[str, Any], name: str, key: str, *, minimum: float | None = 0.0) -> float | None:
        if key not in table:
            return None
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.fail(name, key, f"must be a number, not {value!r}")
        if minimum is not None and value < minimum:
            raise self.fail(name, key, f"must be at least {minimum:g}, not {value!r}")
        return float(value)

    def string(self, table: Mapping[str, Any], name: str, key: str) -> str | None:
        if key not in table:
            return None
        value = table[key]
        if not isinstance(value, str):
            raise self.fail(name, key, f"must be a string, not {value!r}")
        return value

    def duration(self, table: Mapping[str, Any], name: str, key: str, default: timedelta) -> timedelta:
        text = self.string(table, name, key)
        if text is None:
            return default
        try:
            return parse_duration(text)
        except ValueError as error:
            raise self.fail(name, key, str(error)) from None

    def csv_rows(
        self, table: str, key: str, relative: str, columns: tuple[str, ...]
    ) -> list[tuple[datetime, list[float]]]:
        file = (self.path.parent / relative).resolve()
        try:
            handle = file.open(newline="", encoding="utf-8")
        except OSError as error:
            raise self.fail(table, key, f"cannot read {file}: {error.strerror or error}") from None
        rows: list[tuple[datetime, list[float]]] = []
        with handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None or [h.strip() for h in header] != list(columns):
                raise SiteFileError(
                    str(file), 1, "header", f"must be {','.join(columns)}, not {','.join(header or [])!r}"
                )
            for row in reader:
                line = reader.line_num
                if not row or all(not cell.strip() for cell in row):
                    continue
                if len(row) != len(columns):
                    raise SiteFileError(str(file), line, "row", f"has {len(row)} fields, the header {len(columns)}")
                try:
                    start = datetime.fromisoformat(row[0].strip().replace("Z", "+00:00"))
                except ValueError:
                    raise SiteFileError(str(file), line, columns[0], f"{row[0]!r} is not an RFC 3339 time") from None
                if start.tzinfo is None:
                    raise SiteFileError(str(file), line, columns[0], f"{row[0]!r} has no UTC offset")
                values: list[float] = []
                for name, cell in zip(columns[1:], row[1:], strict=True):
                    try:
                        number = float(cell)
                    except ValueError:
                        raise SiteFileError(str(file), line, name, f"{cell!r} is not a number") from None
                    if not math.isfinite(number):
                        raise SiteFileError(str(file), line, name, f"{cell!r} is not a finite number")
                    values.append(number)
                if rows and start <= rows[-1][0]:
                    raise SiteFileError(str(file), line, columns[0], "rows must be in increasing time order")
                rows.append((start, values))
        if not rows:
            raise SiteFileError(str(file), 2, "row", "the file has no rows")
        return rows


def load_site(path: str | Path) -> Site:
    """Read a TOML site file; every mistake raises :class:`SiteFileError` with file, line and key."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise SiteFileError(str(file), 0, "", f"cannot read it: {error.strerror or error}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"line (\d+)", str(error))
        raise SiteFileError(str(file), int(match.group(1)) if match else 0, "", f"not valid TOML: {error}") from None
    r = _Reader(file, text)
    for name, table in data.items():
        if name not in _KEYS:
            known = ", ".join(f"[{k}]" for k in _KEYS)
            raise SiteFileError(str(file), _line_of(text, name, None), name, f"unknown table (known: {known})")
        if not isinstance(table, dict):
            raise SiteFileError(str(file), _line_of(text, "", name), name, "must be a table")
        for key in table:
            if key not in _KEYS[name]:
                raise r.fail(name, key, f"unknown key (known in [{name}]: {', '.join(sorted(_KEYS[name]))})")
    grid = data.get("grid", {})
    prices_table = data.get("prices", {})
    base_table = data.get("base_load", {})
    objective_table = data.get("objective", {})
    plan_table = data.get("plan", {})

    prices: PriceCurve
    price_csv = r.string(prices_table, "prices", "csv")
    if price_csv is not None:
        if "import_price" in prices_table or "export_price" in prices_table:
            raise r.fail("prices", "import_price", "give either csv or flat prices, not both")
        rows = r.csv_rows("prices", "csv", price_csv, ("start", "import_price", "export_price"))
        prices = PriceCurve(tuple((start, v[0], v[1]) for start, v in rows))
    else:
        flat_import = r.number(prices_table, "prices", "import_price", minimum=None)
        if flat_import is None:
            raise r.fail("prices", None, 'needs csv = "FILE" or import_price')
        flat_export = r.number(prices_table, "prices", "export_price", minimum=None) or 0.0
        prices = PriceCurve(((datetime(1970, 1, 1).astimezone(), flat_import, flat_export),))

    base = Series.constant(0.0)
    base_csv = r.string(base_table, "base_load", "csv")
    if base_csv is not None:
        if "w" in base_table:
            raise r.fail("base_load", "w", "give either csv or w, not both")
        rows = r.csv_rows("base_load", "csv", base_csv, ("start", "w"))
        base = Series(tuple((start, v[0]) for start, v in rows), rows[-1][1][0])
    else:
        constant = r.number(base_table, "base_load", "w", minimum=None)
        if constant is not None:
            base = Series.constant(constant)

    kind = r.string(objective_table, "objective", "kind") or "cost"
    if kind not in OBJECTIVE_KINDS:
        raise r.fail("objective", "kind", f"{kind!r} is not one of {', '.join(repr(k) for k in OBJECTIVE_KINDS)}")
    weights_raw = objective_table.get("weights", {})
    if not isinstance(weights_raw, dict):
        raise r.fail("objective", "weights", "must be a table like { cost = 1.0, peak = 0.1 }")
    weights: dict[str, float] = {}
    for key, value in weights_raw.items():
        if key not in ("cost", "peak", "self-consumption"):
            raise r.fail("objective", "weights", f"unknown weight {key!r} (known: cost, peak, self-consumption)")
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise r.fail("objective", "weights", f"weight {key} must be a number >= 0, not {value!r}")
        weights[key] = float(value)
    if weights and kind != "weighted":
        raise r.fail("objective", "weights", 'weights apply only with kind = "weighted"')

    horizon = r.duration(plan_table, "plan", "horizon", timedelta(hours=24))
    step = r.duration(plan_table, "plan", "step", timedelta(minutes=15))
    if step > horizon:
        raise r.fail("plan", "step", "is longer than the horizon")
    time_limit = r.number(plan_table, "plan", "time_limit_s")
    if time_limit is not None and time_limit <= 0:
        raise r.fail("plan", "time_limit_s", "must be positive")
    per_device = r.number(plan_table, "plan", "time_limit_per_device_s")
    gap = r.number(plan_table, "plan", "mip_gap")
    return Site(
        import_limit_w=r.number(grid, "grid", "import_limit_w"),
        export_limit_w=r.number(grid, "grid", "export_limit_w"),
        prices=prices,
        base_load_w=base,
        objective=Objective(kind, MappingProxyType(weights)),
        capacity_price=r.number(objective_table, "objective", "capacity_price"),
        horizon=horizon,
        step=step,
        time_limit_s=3.5 if time_limit is None else time_limit,
        time_limit_per_device_s=0.4 if per_device is None else per_device,
        mip_gap=0.005 if gap is None else gap,
        gas_price=r.number(prices_table, "prices", "gas_price") or 0.0,
    )


# A winter weekday of a dynamic (day-ahead) tariff, per hour, in EUR/kWh incl. taxes: cheap at
# night, a dip at midday (solar), dear in the evening peak.
_DAY_IMPORT = (
    0.24, 0.23, 0.22, 0.22, 0.22, 0.23, 0.27, 0.33, 0.36, 0.31, 0.26, 0.22,
    0.20, 0.19, 0.21, 0.25, 0.30, 0.38, 0.42, 0.40, 0.34, 0.30, 0.27, 0.25,
)  # fmt: skip
# The base load of a home, W per hour: night, morning, day, evening.
_DAY_BASE = (
    220, 200, 200, 200, 210, 260, 420, 520, 380, 300, 280, 300,
    340, 300, 280, 300, 380, 560, 640, 600, 520, 440, 340, 260,
)  # fmt: skip


def example_site(origin: datetime, days: int = 3) -> Site:
    """The built-in example home: 17 kW import / 10 kW export, a dynamic tariff (export at 40 %
    of the wholesale part of the import price, and at least nothing), a base load, cost objective.
    Hourly rows start at ``origin``'s midnight and repeat for ``days`` days."""
    midnight = origin.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = []
    base = []
    for day in range(days + 1):
        for hour in range(24):
            start = midnight + timedelta(days=day, hours=hour)
            price = _DAY_IMPORT[hour]
            rows.append((start, price, max(0.0, round((price - 0.15) * 0.4 + 0.02, 4))))
            base.append((start, float(_DAY_BASE[hour])))
    return Site(
        import_limit_w=17_000.0,
        export_limit_w=10_000.0,
        prices=PriceCurve(tuple(rows)),
        base_load_w=Series(tuple(base), float(_DAY_BASE[-1])),
        objective=Objective("cost"),
        horizon=timedelta(hours=24),
        step=timedelta(minutes=15),
        time_limit_s=3.5,
        gas_price=1.20,
    )
