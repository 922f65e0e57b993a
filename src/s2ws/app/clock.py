"""A simulated clock: wall time that runs ``speed`` times faster, shared by both sides.

``s2ws rm simulate DEVICE --speed N`` and ``s2ws cem --speed N`` both run on a :class:`SimClock`:
every timestamp on the wire, every rule judgement and every transcript line uses simulated time,
so a CEM and an RM on the same speed see one coherent conversation, and ``s2ws replay`` judges
the transcript as the two sides did. Two processes agree on the simulated time when they share
``speed`` and the origin, the instant where simulated and wall time coincide (by default the
start of the current UTC hour; ``--origin`` moves it; keep it recent, as simulated time runs
away from it ``speed`` times faster). In one process, share one instance.

Durations the transport waits for (acknowledgement and handshake timeouts, the close grace)
are in simulated seconds too; :func:`scaled_timeouts` stretches them so they last as long in
wall time as at speed 1.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["Clock", "SimClock", "clock_speed", "hour_start", "scaled_timeouts"]

Clock = Callable[[], datetime]
"""What every application reads the time from: aware UTC datetimes (a :class:`SimClock` fits)."""


def hour_start(moment: datetime | None = None) -> datetime:
    """The start of the UTC hour of ``moment`` (default: now)."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class SimClock:
    """``origin_sim + speed * (wall - origin_wall)``: aware UTC datetimes, monotonic within a process.

    ``origin`` is the wall instant where the two clocks meet (default: the start of this UTC hour);
    ``start`` the simulated time at that instant (default: ``origin``). Tests pass
    ``origin=now, start=<a fixed day>`` to run a given day from its beginning.
    """

    def __init__(self, speed: float = 1.0, *, origin: datetime | None = None, start: datetime | None = None) -> None:
        if not speed > 0:
            raise ValueError("speed must be positive")
        self.speed = float(speed)
        self.origin = (origin or hour_start()).astimezone(UTC)
        self.start = (start or self.origin).astimezone(UTC)
        # anchor the wall origin to the monotonic clock, so wall-clock jumps do not move simulated time
        now_wall = datetime.now(UTC)
        self._mono0 = time.monotonic()
        self._offset = (now_wall - self.origin).total_seconds()

    def __call__(self) -> datetime:
        elapsed = self._offset + (time.monotonic() - self._mono0)
        return self.start + timedelta(seconds=elapsed * self.speed)

    def real_seconds(self, span: timedelta) -> float:
        """How long ``span`` of simulated time lasts on the wall clock."""
        return span.total_seconds() / self.speed

    def __repr__(self) -> str:
        return f"SimClock(speed={self.speed:g}, origin={self.origin.isoformat()}, start={self.start.isoformat()})"


def clock_speed(clock: object) -> float:
    """The speed of ``clock`` (1 for any clock that is not a :class:`SimClock`)."""
    return clock.speed if isinstance(clock, SimClock) else 1.0


def scaled_timeouts(clock: object, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with the ack and handshake timeouts and the close grace (seconds) in simulated
    seconds of ``clock``."""
    speed = clock_speed(clock)
    if speed == 1.0:
        return options
    out = dict(options)
    out["ack_timeout"] = float(options.get("ack_timeout", 5.0)) * speed
    handshake = options.get("handshake_timeout", 30.0)
    out["handshake_timeout"] = None if handshake is None else float(handshake) * speed
    out["close_grace"] = float(options.get("close_grace", 2.0)) * speed
    return out
