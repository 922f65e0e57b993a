"""Saturating time arithmetic for the durations and timestamps a peer sends.

A peer may send any schema-valid number: a ``Duration`` up to 2**63 - 1 ms (about 292 million
years) and timestamps anywhere in years 1 to 9999, with any offset. ``timedelta(milliseconds=n)``
raises ``OverflowError`` past about 2.7 million years, and ``moment + delta`` raises once the sum
leaves year 9999 (or year 1). A rule, a view, a device, the planner or a display must judge such
a message, never raise on it, so every place that adds a peer's duration to a time goes through
this module. The result is clamped to the last (or first) representable instant of the same
timezone: an end there means "never within any horizon", and the usual checks then refuse it
(a sequence that does not fit its window, an envelope past its ``valid_until``) with their own
rule ids and reasons.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Final

__all__ = ["MAX_DURATION_MS", "earlier", "first_instant", "last_instant", "later", "span", "total_ms", "utc"]

MAX_DURATION_MS: Final = 2**63 - 1
"""The largest ``Duration`` the schema allows (what a signed 64-bit peer can hold)."""

_MS: Final = timedelta(milliseconds=1)
_SPAN_MAX_MS: Final = timedelta.max // _MS
"""Whole milliseconds in ``timedelta.max`` (about 2.7 million years)."""


def span(ms: float) -> timedelta:
    """``ms`` milliseconds as a timedelta, clamped to [``timedelta.min``, ``timedelta.max``] instead
    of overflowing."""
    if ms >= _SPAN_MAX_MS:
        return timedelta.max
    if ms <= -_SPAN_MAX_MS:
        return timedelta.min
    return timedelta(milliseconds=ms)


def _step(amount: float | timedelta) -> timedelta:
    return amount if isinstance(amount, timedelta) else span(amount)


def _offset(moment: datetime) -> timedelta:
    offset = moment.utcoffset()
    return timedelta(0) if offset is None else offset


def last_instant(moment: datetime) -> datetime:
    """The last instant that ``moment``'s timezone and UTC can both hold, in ``moment``'s timezone:
    9999-12-31T23:59:59.999999 UTC or earlier, so a saturated time still converts to UTC."""
    return (datetime.max + min(_offset(moment), timedelta(0))).replace(tzinfo=moment.tzinfo)


def first_instant(moment: datetime) -> datetime:
    """The first instant that ``moment``'s timezone and UTC can both hold, in ``moment``'s timezone."""
    return (datetime.min + max(_offset(moment), timedelta(0))).replace(tzinfo=moment.tzinfo)


def later(moment: datetime, amount: float | timedelta) -> datetime:
    """``moment`` plus ``amount`` (milliseconds, or a timedelta), at most :func:`last_instant`; a
    negative amount goes back (see :func:`earlier`). A moment already past that bound stays put."""
    step = _step(amount)
    if step < timedelta(0):
        return earlier(moment, -step)
    last = last_instant(moment)
    if moment >= last:
        return moment
    return last if step >= last - moment else moment + step


def earlier(moment: datetime, amount: float | timedelta) -> datetime:
    """``moment`` minus ``amount`` (milliseconds, or a timedelta), at least :func:`first_instant`;
    a negative amount goes forward (see :func:`later`). A moment already before that bound stays put."""
    step = _step(amount)
    if step < timedelta(0):
        return later(moment, -step)
    first = first_instant(moment)
    if moment <= first:
        return moment
    return first if step >= moment - first else moment - step


def total_ms(durations: Iterable[int]) -> int:
    """The sum of durations in milliseconds, capped at :data:`MAX_DURATION_MS`, so the total is
    itself a valid ``Duration`` (a merged element can be written back to the wire)."""
    total = 0
    for duration in durations:
        total += duration
        if total >= MAX_DURATION_MS:
            return MAX_DURATION_MS
    return total


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC, clamped to the first or last UTC instant: 0001-01-01T00:00+05:00 is a
    valid timestamp whose UTC instant lies before year 1, which datetime cannot hold."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC) if moment.year == 1 else datetime.max.replace(tzinfo=UTC)
