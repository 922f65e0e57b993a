"""Timers of operation-mode state machines: when each one finishes, and who may move because of it.

Both sides keep the same book. The RM starts a transition's ``start_timers`` when it initiates
the transition and publishes a TimerStatus for each; the CEM records those TimerStatus messages.
A transition is blocked while any of its ``blocking_timers`` has ``finished_at`` after the moment
in question; a timer never started (or never reported) counts as finished, as the standard asks
a CEM to assume until told otherwise.

Timers are keyed by (actuator id, timer id); OMBC has one machine and uses the actuator id "".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime

from ..messages import DDBCTimerStatus, FRBCTimerStatus, OMBCTimerStatus, Timer, Transition, new_id
from ..messages.timeline import later
from ..rules.om_machine import Area

__all__ = ["Area", "TimerBook", "TimerStatusMessage", "timer_status"]

TimerStatusMessage = OMBCTimerStatus | FRBCTimerStatus | DDBCTimerStatus


def timer_status(area: Area, actuator_id: str, timer_id: str, finished_at: datetime) -> TimerStatusMessage:
    """The TimerStatus message of ``area`` (OMBC's has no actuator_id)."""
    if area == "OMBC":
        return OMBCTimerStatus(message_id=new_id(), timer_id=timer_id, finished_at=finished_at)
    cls = FRBCTimerStatus if area == "FRBC" else DDBCTimerStatus
    return cls(message_id=new_id(), timer_id=timer_id, actuator_id=actuator_id, finished_at=finished_at)


class TimerBook:
    """``finished_at`` of every timer that was started or reported, per machine."""

    def __init__(self, area: Area) -> None:
        self.area: Area = area
        self._finished: dict[tuple[str, str], datetime] = {}

    def set(self, actuator_id: str, timer_id: str, finished_at: datetime) -> None:
        """Record a finish time (from a TimerStatus, or the RM's own state)."""
        self._finished[(actuator_id, timer_id)] = finished_at

    def finished_at(self, actuator_id: str, timer_id: str) -> datetime | None:
        """When the timer finishes (finished); None when it was never started or reported."""
        return self._finished.get((actuator_id, timer_id))

    def is_running(self, actuator_id: str, timer_id: str, at: datetime) -> bool:
        until = self._finished.get((actuator_id, timer_id))
        return until is not None and until > at

    def snapshot(self, actuator_id: str) -> dict[str, datetime]:
        """timer id -> finish time for one machine (a copy: projections change it)."""
        return {name: at for (owner, name), at in self._finished.items() if owner == actuator_id}

    def start(
        self, actuator_id: str, transition: Transition, timers: Mapping[str, Timer], at: datetime
    ) -> list[TimerStatusMessage]:
        """Initiate ``transition`` at ``at``: (re)start its start_timers and return their TimerStatus."""
        out: list[TimerStatusMessage] = []
        for name in transition.start_timers:
            timer = timers.get(name)
            if timer is None:
                continue
            until = later(at, timer.duration)
            self._finished[(actuator_id, name)] = until
            out.append(timer_status(self.area, actuator_id, name, until))
        return out

    def blocking(self, actuator_id: str, transition: Transition, at: datetime) -> list[tuple[str, datetime]]:
        """(timer id, finish time) of each blocking timer of ``transition`` still running at ``at``."""
        out: list[tuple[str, datetime]] = []
        for name in transition.blocking_timers:
            until = self._finished.get((actuator_id, name))
            if until is not None and until > at:
                out.append((name, until))
        return out

    def statuses(self, at: datetime, *, running_only: bool = True) -> list[TimerStatusMessage]:
        """TimerStatus for every timer still running at ``at`` (all known ones if not ``running_only``):
        what an RM sends after its SystemDescription, since the CEM assumes all timers finished."""
        return [
            timer_status(self.area, owner, name, until)
            for (owner, name), until in sorted(self._finished.items(), key=lambda kv: kv[1])
            if not running_only or until > at
        ]

    def clear(self, actuator_id: str | None = None) -> None:
        """Forget every timer (or those of one machine)."""
        if actuator_id is None:
            self._finished.clear()
        else:
            for key in [k for k in self._finished if k[0] == actuator_id]:
                del self._finished[key]

    def __iter__(self) -> Iterator[tuple[str, str, datetime]]:
        for (owner, name), until in self._finished.items():
            yield owner, name, until

    def __len__(self) -> int:
        return len(self._finished)
