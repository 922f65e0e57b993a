"""The simulated clock and the timeouts it stretches: protocol waits are wall-time budgets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from s2ws.app import DeviceRM
from s2ws.app.clock import SimClock, clock_speed, scaled_timeouts
from s2ws.transport.connection import Connection

DAY = datetime(2026, 6, 1, tzinfo=UTC)


def test_sim_clock_runs_speed_times_faster() -> None:
    clock = SimClock(3600, origin=datetime.now(UTC), start=DAY)
    first = clock()
    assert DAY <= first < DAY + timedelta(hours=1)  # well under a wall second has passed
    assert clock.real_seconds(timedelta(hours=2)) == 2.0
    assert clock_speed(clock) == 3600 and clock_speed(datetime.now) == 1.0
    with pytest.raises(ValueError, match="speed"):
        SimClock(0)


def test_timeouts_are_stretched_by_the_speed() -> None:
    clock = SimClock(100)
    assert scaled_timeouts(clock, {}) == {"ack_timeout": 500.0, "handshake_timeout": 3000.0, "close_grace": 200.0}
    scaled = scaled_timeouts(clock, {"ack_timeout": 1, "handshake_timeout": None, "close_grace": 0.5, "other": 7})
    assert scaled == {"ack_timeout": 100.0, "handshake_timeout": None, "close_grace": 50.0, "other": 7}
    options = {"close_grace": 3.0}
    assert scaled_timeouts(datetime.now, options) is options  # speed 1: left alone


def test_a_device_rm_on_a_fast_clock_gives_its_engine_stretched_waits() -> None:
    rm = DeviceRM("battery", clock=SimClock(1000), close_grace=1.5)
    engine = rm.session_factory(Connection(side="client", url="ws://127.0.0.1:1/s2"))
    assert engine.close_grace == timedelta(seconds=1500)
    assert engine.ack_timeout == timedelta(seconds=5000)
    with pytest.raises(ValueError, match="close_grace"):
        DeviceRM("battery", close_grace=-1)
