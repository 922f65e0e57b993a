"""A simulated day per device, in well under a second each: a simple planner on the control-type
view steers the simulator every 15 minutes; the transcript replays without a single finding.

The planners are deliberately naive (fixed hours, thresholds): the point is a long, busy,
realistic conversation — instructions, the device acting on its own, descriptions and
forecasts renewed — that both sides' rule contexts and the replay judge clean.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from s2ws.control import DDBCView, FRBCView, OMBCView, PEBCView, PPBCView, Reach
from s2ws.messages import CommodityQuantity, ControlType, InstructionStatus
from s2ws.messages.base import S2Message
from s2ws.rules.replay import replay
from s2ws.sim import (
    DEVICES,
    BatteryDeviceSim,
    DeviceSim,
    EVSim,
    GeneratorSim,
    HeatPumpSim,
    HybridHeatPumpSim,
    Loopback,
    PVDeviceSim,
    WasherSim,
)
from s2ws.sim.daily import in_window

DAY = datetime(2026, 3, 20, tzinfo=UTC)
STEP = timedelta(minutes=15)
L1 = CommodityQuantity.ELECTRIC_POWER_L1


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


def om_step(day: Day, view: Any, actuator: str | None, mode_id: str, factor: float, now: datetime) -> None:
    """Ask for ``mode_id`` at ``factor`` now, unless that is what runs or the mode is out of reach."""
    args = (actuator,) if actuator is not None else ()
    expected = view.expected(actuator or "", now)
    if expected.mode_id == mode_id and expected.factor is not None and abs(expected.factor - factor) < 1e-6:
        return
    reach = {r.mode_id: r for r in view.reachable_modes(*args, now)}[mode_id]
    if reach.reach not in (Reach.ACTIVE, Reach.NOW):
        return
    day.send(view.instruct(*args, mode_id, factor, now, now))


# --- the planners ---------------------------------------------------------------------------------


def battery_planner(day: Day, sim: BatteryDeviceSim, view: FRBCView) -> Callable[[datetime], None]:
    modes = sim.battery.mode_ids

    def step(now: datetime) -> None:
        level = view.fill_level or 0.0
        if in_window(now, time(10), time(15)) and level < 99.9:
            om_step(day, view, sim.actuator_id, modes["charge"], 1.0, now)
        elif in_window(now, time(17), time(22)) and level > 0.1:
            om_step(day, view, sim.actuator_id, modes["discharge"], 0.8, now)  # 1 kW
        else:
            om_step(day, view, sim.actuator_id, modes["idle"], 0.0, now)

    return step


def ev_planner(day: Day, sim: EVSim, view: FRBCView) -> Callable[[datetime], None]:
    """As late as possible: full power once the time left barely suffices for the target."""

    def step(now: datetime) -> None:
        profile = view.target_at(now)
        target = view.fill_level_target
        if profile is None or target is None or view.fill_level is None:
            return
        departure = target.start_time + timedelta(milliseconds=target.elements[0].duration)
        wanted = target.elements[-1].fill_level_range.start_of_range
        if now >= departure:
            return
        rate = view.fill_rate_at(sim.actuator_id, sim.charging_id, 1.0, at=now)
        needed = timedelta(seconds=max(wanted - view.fill_level, 0.0) / rate)
        charge = departure - now <= needed + 2 * STEP and view.fill_level < wanted
        om_step(day, view, sim.actuator_id, sim.charging_id if charge else sim.off_id, 1.0 if charge else 0.0, now)

    return step


def heat_pump_planner(day: Day, sim: HeatPumpSim, view: FRBCView) -> Callable[[datetime], None]:
    """Preheat before the showers the forecast announces; otherwise let the thermostat work."""

    def step(now: datetime) -> None:
        level = view.fill_level or 0.0
        soon = [view.usage_rate_at(now + i * STEP) or 0.0 for i in range(8)]
        if max(soon) > 0.001 and level < 53:
            om_step(day, view, sim.actuator_id, sim.on_id, 1.0, now)
        elif level > 52 and max(soon) == 0.0:
            om_step(day, view, sim.actuator_id, sim.off_id, 0.0, now)

    return step


def pv_planner(day: Day, sim: PVDeviceSim, view: PEBCView) -> Callable[[datetime], None]:
    """An export limit of 2.5 kW from 11:00 to 15:00, one envelope per quarter hour."""

    def step(now: datetime) -> None:
        if in_window(now, time(11), time(15)):
            day.send(view.cap(L1, now, now, STEP, lower=-2500.0))

    return step


def washer_planner(day: Day, sim: WasherSim, view: PPBCView) -> Callable[[datetime], None]:
    """The whole programme back to back from 06:00 (it must be done by 10:00)."""

    def step(now: datetime) -> None:
        [profile] = view.profiles()
        start = max(now, hour(6))
        for container in view.feasible_schedules(profile.id, now):
            if container.selected_sequence_id is not None:
                return
            option = container.options[0]
            at = max(start, option.earliest_start)
            day.send(view.schedule(profile.id, container.container_id, option.sequence_id, at, now))
            start = at + option.duration

    return step


def hybrid_planner(day: Day, sim: HybridHeatPumpSim, view: DDBCView) -> Callable[[datetime], None]:
    """Heat pump first, the boiler for what it cannot give."""

    def step(now: datetime) -> None:
        demand = view.present_demand_rate(now)
        assert demand is not None
        need = demand.end_of_range
        hp_max = view.supply_rate_at(sim.hp_id, sim.hp_on, 1.0, at=now)
        factor = view.factor_for_supply(sim.hp_id, sim.hp_on, min(max(need, 2000.0), hp_max), at=now)
        om_step(day, view, sim.hp_id, sim.hp_on, factor, now)
        rest = need - hp_max
        if rest > 0:
            low = view.supply_rate_at(sim.boiler_id, sim.boiler_on, 0.0, at=now)
            boiler = view.factor_for_supply(sim.boiler_id, sim.boiler_on, max(rest, low), at=now)
            om_step(day, view, sim.boiler_id, sim.boiler_on, boiler, now)
        else:
            om_step(day, view, sim.boiler_id, sim.boiler_off, 0.0, now)

    return step


def generator_planner(day: Day, sim: GeneratorSim, view: OMBCView) -> Callable[[datetime], None]:
    """Shave the evening peak: low from 17:00, high 18:00-19:00 (full output), off at 20:00."""

    def step(now: datetime) -> None:
        if in_window(now, time(18), time(19)):
            om_step(day, view, None, sim.high_id, 0.0, now)
        elif in_window(now, time(17), time(20)):
            om_step(day, view, None, sim.low_id, 0.0, now)
        else:
            om_step(day, view, None, sim.off_id, 0.0, now)

    return step


PLANS: dict[str, tuple[ControlType, Callable[[], Any], Callable[..., Callable[[datetime], None]]]] = {
    "battery": (ControlType.FILL_RATE_BASED_CONTROL, FRBCView, battery_planner),
    "ev": (ControlType.FILL_RATE_BASED_CONTROL, FRBCView, ev_planner),
    "heatpump": (ControlType.FILL_RATE_BASED_CONTROL, FRBCView, heat_pump_planner),
    "pv": (ControlType.POWER_ENVELOPE_BASED_CONTROL, PEBCView, pv_planner),
    "washer": (ControlType.POWER_PROFILE_BASED_CONTROL, PPBCView, washer_planner),
    "hybrid-heatpump": (ControlType.DEMAND_DRIVEN_BASED_CONTROL, DDBCView, hybrid_planner),
    "generator": (ControlType.OPERATION_MODE_BASED_CONTROL, OMBCView, generator_planner),
}


def run_day(name: str) -> tuple[DeviceSim, Any, Day]:
    control_type, make_view, planner = PLANS[name]
    sim = DEVICES[name](now=DAY, interval=STEP)
    view = make_view()
    day = Day(Loopback(sim, view, now=DAY, session=name), [])
    day.loop.start(control_type)
    plan = planner(day, sim, view)
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
