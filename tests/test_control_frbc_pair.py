"""FRBC end to end: a CEM session with an FRBCView against an RM session running a simulator.

Both sessions judge every message with a SessionContext. Each test walks a whole session and
checks, step by step, the messages each side sent, the CEM's picture against the device's, and
that every message was answered OK except the one sent wrong on purpose.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from msgspec.structs import replace

from s2ws.control import FRBCView, Reach
from s2ws.errors import InstructionRefused
from s2ws.messages import ControlType, InstructionStatus, ReceptionStatusValues
from s2ws.rules.catalogue import OM_RULE_IDS
from s2ws.rules.replay import replay
from s2ws.sim import (
    BatteryDeviceSim,
    BatteryParams,
    EVParams,
    EVSim,
    HeatPumpParams,
    HeatPumpSim,
    Loopback,
    ReadableIds,
)

FRBC = ControlType.FILL_RATE_BASED_CONTROL
RULES = OM_RULE_IDS["FRBC"]
S = InstructionStatus
REPORTS = {"PowerMeasurement", "FRBC.StorageStatus"}
T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def said(loop: Loopback, mark: int, direction: str = "rm>cem") -> list[str]:
    """What one side sent since ``mark``, periodic reports left out."""
    return [t for t in loop.types_since(mark, direction) if t not in REPORTS]


def same_picture(loop: Loopback, view: FRBCView, sim: HeatPumpSim | EVSim | BatteryDeviceSim, actuator_id: str) -> None:
    """The CEM knows what the device knows: description, mode, timers, (reported) fill level."""
    device = sim.device
    assert view.description(loop.now) == device.descriptions.at(loop.now)
    status, mine = view.actuator_status(actuator_id), device.statuses[actuator_id]
    assert status is not None
    assert (status.mode_id, status.factor, status.previous_mode_id, status.transition_timestamp) == (
        mine.mode_id,
        mine.factor,
        mine.previous_mode_id,
        mine.transition_timestamp,
    )
    assert dict(view.timers.snapshot(actuator_id)) == dict(device.timers.snapshot(actuator_id))


def test_heat_pump_session() -> None:
    params = HeatPumpParams(initial_c=47.0, comfort_c=48.0)
    sim = HeatPumpSim(params, now=T0, ids=ReadableIds(), interval=timedelta(hours=1))
    view = FRBCView()
    loop = Loopback(sim, view, now=T0, session="heat-pump")
    hp, on, off = sim.actuator_id, sim.on_id, sim.off_id

    # Selection: the description, the actuator's and the storage's state, leakage and usage forecast.
    loop.start(FRBC)
    assert loop.types_since(0, "cem>rm") == ["Handshake", "HandshakeResponse", "SelectControlType"]
    assert loop.types_since(0, "rm>cem") == [
        "Handshake",
        "ResourceManagerDetails",
        "FRBC.SystemDescription",
        "FRBC.ActuatorStatus",
        "FRBC.StorageStatus",
        "FRBC.LeakageBehaviour",
        "FRBC.UsageForecast",
    ]
    same_picture(loop, view, sim, hp)
    assert view.fill_level == 47.0 and view.leakage_rate() == params.leak_cool
    assert view.usage_rate_at(T0.replace(hour=7) + timedelta(days=1)) == pytest.approx(0.0025)
    assert view.usage_rate_at(T0) == 0.0

    # Switch on at minimum power in a minute; and, already now, off again at minute 30: the rules
    # allow that (the minimum run time ends at 16), but the tank is below 48 °C, so the device says no.
    start = view.instruct(hp, on, 0.25, at(1), T0)
    stop_early = view.instruct(hp, off, 0.0, at(30), T0)
    mark = loop.mark()
    loop.send(start)
    loop.send(stop_early)
    assert said(loop, mark) == ["InstructionStatusUpdate:ACCEPTED", "InstructionStatusUpdate:REJECTED"]
    assert view.instruction_status(stop_early.id) is S.REJECTED
    assert sim.device.scheduler.reason(stop_early.id) == "the tank is at 47.0 °C: below 48 °C hot water comes first"
    assert stop_early not in view.pending_instructions()

    # At minute 1 it starts: the status, and the minimum run time the transition started.
    mark = loop.mark()
    loop.advance(at(1))
    assert said(loop, mark) == [
        "InstructionStatusUpdate:STARTED",
        "FRBC.ActuatorStatus",
        "FRBC.TimerStatus",
        "InstructionStatusUpdate:SUCCEEDED",
    ]
    assert sim.heating and view.timers.finished_at(hp, sim.min_on_id) == at(16)
    same_picture(loop, view, sim, hp)

    # Off at minute 10 is blocked by the minimum run time: the view refuses to build it, and
    # sent anyway the RM's rule check answers INVALID_CONTENT; the device never sees it.
    loop.advance(at(2))
    reach = {r.mode_id: r for r in view.reachable_modes(hp, at(10))}
    assert reach[off].reach is Reach.LATER and reach[off].at == at(16)
    with pytest.raises(InstructionRefused) as refused:
        view.instruct(hp, off, 0.0, at(10), at(2))
    assert refused.value.rule == RULES["transition_blocked"]
    forced = replace(view.instruct(hp, on, 0.0, at(10), at(2), record=False), operation_mode=off)
    mark = loop.mark()
    loop.send(forced, checked=False)
    assert loop.types_since(mark, "rm>cem", answers=True) == ["ReceptionStatus"]
    assert loop.not_ok() == {forced.message_id: ("FRBC.Instruction", ReceptionStatusValues.INVALID_CONTENT)}
    assert sim.device.scheduler.status(forced.id) is None

    # Full power at minute 20, revoked before it starts.
    boost = view.instruct(hp, on, 1.0, at(20), at(2))
    mark = loop.mark()
    loop.send(boost)
    loop.advance(at(3))
    loop.send(view.revoke(boost.id, at(3)))
    assert said(loop, mark) == ["InstructionStatusUpdate:ACCEPTED", "InstructionStatusUpdate:REVOKED"]
    assert said(loop, mark, "cem>rm") == ["FRBC.Instruction", "RevokeObject"]
    assert boost not in view.pending_instructions() and sim.device.scheduler.status(boost.id) is S.REVOKED

    # A factor change at minute 5: no transition, no timer.
    slower = view.instruct(hp, on, 0.0, at(5), at(3))
    mark = loop.mark()
    loop.send(slower)
    loop.advance(at(5))
    assert said(loop, mark) == [
        "InstructionStatusUpdate:ACCEPTED",
        "InstructionStatusUpdate:STARTED",
        "FRBC.ActuatorStatus",
        "InstructionStatusUpdate:SUCCEEDED",
    ]
    assert sim.mode(hp) == (on, 0.0) and sim.power(at(5))[sim.measured[0]] == 500.0

    # A new description from minute 40: a bigger compressor and a longer minimum off time.
    loop.advance(at(6))
    mark = loop.mark()
    loop.publish(sim.reconfigure(at(6), valid_from=at(40), max_w=2500.0, min_off=timedelta(minutes=30)))
    assert said(loop, mark) == ["FRBC.SystemDescription"]
    [upcoming] = view.descriptions.scheduled(at(6))
    assert upcoming.valid_from == at(40) and view.description(at(6)) == sim.device.descriptions.at(at(6))
    assert view.power_ranges(hp, on, at=at(6))[0].end_of_range == 2000.0

    # Off at minute 25 once the run time is over; on again at 30 is blocked by the off time.
    loop.advance(at(20))
    assert view.fill_level is not None and view.fill_level > params.comfort_c
    stop = view.instruct(hp, off, 0.0, at(25), at(20))
    mark = loop.mark()
    loop.send(stop)
    loop.advance(at(25))
    assert said(loop, mark) == [
        "InstructionStatusUpdate:ACCEPTED",
        "InstructionStatusUpdate:STARTED",
        "FRBC.ActuatorStatus",
        "FRBC.TimerStatus",
        "InstructionStatusUpdate:SUCCEEDED",
    ]
    with pytest.raises(InstructionRefused, match="Minimum off time"):
        view.instruct(hp, on, 1.0, at(30), at(25))

    # From minute 40 the new description is in force on both sides, and the device runs by it.
    loop.advance(at(41))
    assert view.description(at(41)) == upcoming and view.descriptions.scheduled(at(41)) == []
    assert view.power_ranges(hp, on, at=at(41))[0].end_of_range == 2500.0
    again = view.instruct(hp, on, 1.0, at(41), at(41))
    mark = loop.mark()
    loop.send(again)
    assert said(loop, mark) == [
        "InstructionStatusUpdate:ACCEPTED",
        "InstructionStatusUpdate:STARTED",
        "FRBC.ActuatorStatus",
        "FRBC.TimerStatus",
        "InstructionStatusUpdate:SUCCEEDED",
    ]
    assert sim.power(at(41))[sim.measured[0]] == 2500.0
    loop.advance(at(60))
    same_picture(loop, view, sim, hp)
    assert view.fill_level == round(sim.level, 4)

    # Everything was answered OK but the forced instruction, and replay finds only that one.
    assert set(loop.not_ok()) == {forced.message_id}
    findings = replay(loop.transcript())
    assert [(f.rule, f.message_id) for f in findings] == [(RULES["transition_blocked"], forced.message_id)]


def test_ev_charges_for_its_departure() -> None:
    now = T0.replace(hour=5)
    sim = EVSim(EVParams(initial_soc=50.0), now=now, ids=ReadableIds(), interval=timedelta(minutes=30))
    view = FRBCView()
    loop = Loopback(sim, view, now=now, session="ev")
    loop.start(FRBC)
    assert said(loop, 0) == [
        "Handshake",
        "ResourceManagerDetails",
        "FRBC.SystemDescription",
        "FRBC.ActuatorStatus",
        "FRBC.FillLevelTargetProfile",
    ]
    # The target profile: keep the reserve until 07:30, then be at 80 %.
    reserve, target = view.target_at(now), view.target_at(now.replace(hour=7, minute=31))
    assert reserve is not None and target is not None
    assert (reserve.start_of_range, target.start_of_range) == (20.0, 80.0)
    assert view.target_at(now.replace(hour=7, minute=29)) == reserve

    # Just enough power to reach the target in time: 50 % -> 80 % of 60 kWh in 2.5 h, at 92 %.
    needed_w = (80 - 50) / 100 * 60_000 / 0.92 / 2.5
    charge = view.instruct_power(sim.actuator_id, sim.charging_id, sim.measured[0], needed_w, now, now)
    loop.send(charge)
    assert view.instruction_status(charge.id) is S.SUCCEEDED and sim.charging
    # Charging past 07:30 is refused: the car will be gone.
    late = view.instruct(sim.actuator_id, sim.charging_id, 1.0, now.replace(hour=8), now)
    mark = loop.mark()
    loop.send(late)
    assert said(loop, mark) == ["InstructionStatusUpdate:REJECTED"]
    assert sim.device.scheduler.reason(late.id) == "no car is connected then"

    # At departure the charger stops on its own; the car leaves with its target.
    mark = loop.mark()
    loop.advance(now.replace(hour=7, minute=30))
    assert said(loop, mark) == ["FRBC.ActuatorStatus"]
    assert not sim.plugged and not sim.charging and sim.level == pytest.approx(80.0, abs=0.05)
    status = view.actuator_status(sim.actuator_id)
    assert status is not None and status.mode_id == sim.off_id
    # It comes back at 18:00 with 40 % and a new target for tomorrow morning.
    mark = loop.mark()
    loop.advance(now.replace(hour=18))
    arrived = [t for t in loop.types_since(mark, "rm>cem") if t != "PowerMeasurement"]
    assert arrived == ["FRBC.StorageStatus", "FRBC.FillLevelTargetProfile"]
    assert view.fill_level == 40.0 and sim.plugged
    assert view.target_at(now.replace(hour=7, minute=35) + timedelta(days=1)) == target
    assert loop.not_ok() == {} and replay(loop.transcript()) == []


def test_battery_fills_up_and_is_derated() -> None:
    sim = BatteryDeviceSim(BatteryParams(initial_soc=90.0), now=T0, ids=ReadableIds(), interval=timedelta(hours=1))
    view = FRBCView()
    loop = Loopback(sim, view, now=T0, session="battery")
    loop.start(FRBC)
    inverter, modes = sim.actuator_id, sim.battery.mode_ids
    # The inverter will charge at most 2.5 kW from 11:00.
    loop.publish(sim.reconfigure(T0, valid_from=at(60), max_charge_w=2500.0))
    assert len(view.descriptions.scheduled(T0)) == 1

    loop.send(view.instruct(inverter, modes["charge"], 1.0, T0, T0))
    # 10 % of 10 kWh at 5 kW and 95 %: full after 12.6 minutes; the battery stops by itself.
    mark = loop.mark()
    loop.advance(at(15))
    assert said(loop, mark) == ["FRBC.ActuatorStatus"]
    assert sim.soc == 100.0 and sim.mode_name == "idle"
    status = view.actuator_status(inverter)
    assert status is not None and status.mode_id == modes["idle"]
    assert status.transition_timestamp == T0 + timedelta(seconds=0.1 * 10_000 / 4750 * 3600)

    # Charging a full battery is rejected by the device (the rules allow it).
    more = view.instruct(inverter, modes["charge"], 1.0, at(16), at(15))
    mark = loop.mark()
    loop.send(more)
    assert said(loop, mark) == ["InstructionStatusUpdate:REJECTED"]
    # Discharging works, and from 11:00 the derated description is the one in force.
    loop.send(view.instruct(inverter, modes["discharge"], 0.5, at(16), at(15)))
    loop.advance(at(61))
    assert view.power_ranges(inverter, modes["charge"], at=at(61))[0].end_of_range == 2500.0
    same_picture(loop, view, sim, inverter)
    assert sim.soc == pytest.approx(100 - 2500 / 0.95 * 45 / 60 / 10_000 * 100)
    assert loop.not_ok() == {} and replay(loop.transcript()) == []
