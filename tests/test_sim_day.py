"""A simulated day per device, in well under a second each: the planner ``s2ws cem`` uses for the
control type (:mod:`s2ws.app.planners`) steers the simulator through its control-type view every
15 minutes; the transcript replays without a single finding.

The planners are deliberately naive (fixed hours, thresholds): the point is a long, busy,
realistic conversation — instructions, the device acting on its own, descriptions and
forecasts renewed — that both sides' rule contexts and the replay judge clean.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from s2ws.app.planners import STEP, make_view, planner_for
from s2ws.messages import ControlType, InstructionStatus
from s2ws.messages.base import S2Message
from s2ws.rules.replay import replay
from s2ws.sim import DEVICES, DeviceSim, Loopback

DAY = datetime(2026, 3, 20, tzinfo=UTC)


def hour(h: float) -> datetime:
    return DAY + timedelta(hours=h)


@dataclass
class Day:
    """One device's day: the loop, and what the planner sent."""

    loop: Loopback
    sent: list[S2Message]

    def send(self, message: S2Message) -> None:
        self.sent.append(message)
        self.loop.send(message)


PLANS: dict[str, ControlType] = {
    "battery": ControlType.FILL_RATE_BASED_CONTROL,
    "ev": ControlType.FILL_RATE_BASED_CONTROL,
    "heatpump": ControlType.FILL_RATE_BASED_CONTROL,
    "pv": ControlType.POWER_ENVELOPE_BASED_CONTROL,
    "washer": ControlType.POWER_PROFILE_BASED_CONTROL,
    "hybrid-heatpump": ControlType.DEMAND_DRIVEN_BASED_CONTROL,
    "generator": ControlType.OPERATION_MODE_BASED_CONTROL,
}
"""The control type each device is run under; the planner is the one ``s2ws cem`` uses for it."""


def run_day(name: str) -> tuple[DeviceSim, Any, Day]:
    sim = DEVICES[name](now=DAY, interval=STEP)
    view = make_view(PLANS[name])
    planner = planner_for(view)
    assert view is not None and planner is not None
    day = Day(Loopback(sim, view, now=DAY, session=name), [])
    day.loop.start(PLANS[name])

    def plan(now: datetime) -> None:
        for message in planner(view, now):
            day.send(message)

    plan(DAY)
    day.loop.advance(DAY + timedelta(days=1), every=STEP, on_step=plan)
    return sim, view, day


def achieved(name: str, sim: Any, view: Any) -> None:
    """What each day should have done to the device."""
    if name == "battery":  # from half full: full by noon, 1 kW for five hours in the evening
        assert sim.soc == pytest.approx(100 - 5 * 1000 / 0.95 / 10_000 * 100)
    elif name == "ev":  # charged 04:15-07:15 for 07:30 (7.4 kW above 80 %), home at 18:00 with 40 %
        to_80 = 50 / (11_000 * 0.92 / 60_000 * 100)  # hours from 30 % at 11 kW
        assert sim.level == 40.0 and sim.plugged
        assert sim.charged_wh == pytest.approx(11_000 * to_80 + 7_400 * (3 - to_80))
    elif name == "heatpump":
        assert 45 <= sim.level <= 55 and sim.used_wh > 1000
    elif name == "pv":
        assert sim.curtailed_wh > 1000 and sim.produced_wh > 30_000
    elif name == "washer":
        statuses = view.feasible_schedules(sim.definition.id, DAY + timedelta(days=1))
        assert [c.status.value for c in statuses] == ["FINISHED"] * 3 and statuses[0].start == hour(6)
    elif name == "hybrid-heatpump":
        assert sim.unmet_wh == 0.0 and sim.gas_litres > 0
    else:  # low 17-20 (two minutes of start-up), high 18-19
        assert sim.produced_wh == pytest.approx(3000 * 58 / 60 + 6000 + 3000)
        assert sim.mode()[0] == sim.off_id


@pytest.mark.parametrize("name", sorted(PLANS))
def test_a_day_replays_clean(name: str) -> None:
    sim, view, day = run_day(name)
    assert day.sent, "the planner never sent anything"
    assert day.loop.not_ok() == {}
    assert replay(day.loop.transcript()) == []
    statuses = [view.instruction_status(m.id) for m in day.sent if hasattr(m, "id")]
    assert all(s in (InstructionStatus.SUCCEEDED, InstructionStatus.STARTED) for s in statuses), statuses
    assert len(day.loop.frames) > 200
    achieved(name, sim, view)
