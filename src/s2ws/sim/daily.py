"""Time-of-day helpers for simulators whose world repeats daily (a commute, showers, weather)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from ..messages.timeline import later

__all__ = ["floor_to", "hour_of", "in_window", "next_at"]


def hour_of(moment: datetime) -> float:
    """The time of day of ``moment`` in hours, in its own timezone (13:30 -> 13.5)."""
    return moment.hour + moment.minute / 60 + moment.second / 3600 + moment.microsecond / 3.6e9


def next_at(moment: datetime, clock: time) -> datetime:
    """The first moment strictly after ``moment`` at which its timezone's clock shows ``clock``
    (on the last day datetime holds, where there is no next day, the last instant it holds)."""
    candidate = datetime.combine(moment.date(), clock, tzinfo=moment.tzinfo)
    return candidate if candidate > moment else later(candidate, timedelta(days=1))


def in_window(moment: datetime, start: time, end: time) -> bool:
    """Whether the time of day of ``moment`` lies in [start, end); a window may wrap midnight."""
    now = moment.timetz().replace(tzinfo=None)
    return start <= now < end if start <= end else now >= start or now < end


def floor_to(moment: datetime, step: timedelta) -> datetime:
    """``moment`` rounded down to a multiple of ``step`` since its midnight (15-minute slots)."""
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + ((moment - midnight) // step) * step
