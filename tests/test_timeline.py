"""Saturating time arithmetic (s2ws.messages.timeline): a peer's durations and timestamps never
make a time computation raise; the result is exact when it fits and clamped when it does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from s2ws.messages.timeline import MAX_DURATION_MS, earlier, first_instant, last_instant, later, span, total_ms, utc
from strategies import EDGE_DURATIONS, aware_datetimes, edge_datetimes

DURATIONS = st.one_of(st.integers(0, MAX_DURATION_MS), st.sampled_from(EDGE_DURATIONS))
AMOUNTS = st.one_of(
    st.integers(-MAX_DURATION_MS, MAX_DURATION_MS),
    st.floats(-1e300, 1e300, allow_nan=False),
    st.sampled_from(EDGE_DURATIONS),
    st.timedeltas(),
)
MOMENTS = st.one_of(aware_datetimes(), edge_datetimes(), st.datetimes())
MS = timedelta(milliseconds=1)


def _exact(moment: datetime, amount: float | timedelta) -> datetime | None:
    """moment + amount by plain datetime arithmetic, None where that overflows."""
    try:
        step = amount if isinstance(amount, timedelta) else timedelta(milliseconds=amount)
        return moment + step
    except OverflowError:
        return None


def test_the_largest_duration_is_saturated_not_raised() -> None:
    start = datetime(2000, 1, 1, tzinfo=UTC)
    assert span(MAX_DURATION_MS) == timedelta.max
    assert span(-MAX_DURATION_MS) == timedelta.min
    assert later(start, MAX_DURATION_MS) == datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert earlier(start, MAX_DURATION_MS) == datetime(1, 1, 1, tzinfo=UTC)
    assert later(start, 1500) == start + timedelta(milliseconds=1500)
    assert total_ms([MAX_DURATION_MS, MAX_DURATION_MS]) == MAX_DURATION_MS
    assert total_ms([1, 2, 3]) == 6


def test_the_timezone_is_kept_and_a_saturated_time_still_converts_to_utc() -> None:
    minus5 = timezone(timedelta(hours=-5))
    plus5 = timezone(timedelta(hours=5))
    end = later(datetime(2000, 1, 1, tzinfo=minus5), MAX_DURATION_MS)
    assert end.tzinfo is minus5
    assert end == datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert utc(end) == end
    start = earlier(datetime(2000, 1, 1, tzinfo=plus5), MAX_DURATION_MS)
    assert start.tzinfo is plus5
    assert utc(start) == datetime(1, 1, 1, tzinfo=UTC)
    naive = later(datetime(2000, 1, 1), MAX_DURATION_MS)
    assert naive == datetime.max


def test_a_peer_timestamp_beyond_utc_is_clamped_when_converted() -> None:
    assert utc(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))) == datetime(1, 1, 1, tzinfo=UTC)
    far = datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert utc(far) == datetime.max.replace(tzinfo=UTC)


@given(MOMENTS, AMOUNTS)
def test_later_and_earlier_are_exact_when_the_result_fits_and_clamped_otherwise(
    moment: datetime, amount: float | timedelta
) -> None:
    forward, back = later(moment, amount), earlier(moment, amount)
    assert forward.tzinfo is moment.tzinfo and back.tzinfo is moment.tzinfo
    step = amount if isinstance(amount, timedelta) else span(amount)
    if step >= timedelta(0):
        assert forward >= moment and back <= moment
    else:
        assert forward <= moment and back >= moment
    low, high = min(first_instant(moment), moment), max(last_instant(moment), moment)
    assert low <= forward <= high and low <= back <= high
    exact = _exact(moment, amount)
    fits = exact is not None and first_instant(moment) <= exact <= last_instant(moment)
    if fits and (isinstance(amount, timedelta) or abs(amount) < 2**52):  # larger floats are not exact in ms
        assert forward == exact


@given(st.lists(DURATIONS, max_size=64))
def test_a_sum_of_durations_is_a_duration(durations: list[int]) -> None:
    total = total_ms(durations)
    assert 0 <= total <= MAX_DURATION_MS
    assert total == min(sum(durations), MAX_DURATION_MS)


@given(MOMENTS)
def test_utc_never_raises(moment: datetime) -> None:
    converted = utc(moment)
    assert converted.tzinfo is UTC
    if moment.tzinfo is not None and datetime(1, 1, 2, tzinfo=UTC) <= moment <= datetime(9999, 12, 30, tzinfo=UTC):
        assert converted == moment
