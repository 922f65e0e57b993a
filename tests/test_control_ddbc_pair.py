"""DDBC end to end: a CEM session with a DDBCView against an RM session running the hybrid heat pump.

Both sessions judge every message with a SessionContext; the test walks a whole session and
checks the messages each side sent, the CEM's picture against the device's, and that every
message was answered OK except the one sent wrong on purpose.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from msgspec.structs import replace

from s2ws.control import DDBCView, Reach
from s2ws.errors import InstructionRefused
from s2ws.messages import ControlType, DDBCSystemDescription, InstructionStatus, ReceptionStatusValues
from s2ws.rules.catalogue import OM_RULE_IDS
from s2ws.rules.replay import replay
from s2ws.sim import HybridHeatPumpParams, HybridHeatPumpSim, Loopback, ReadableIds

DDBC = ControlType.DEMAND_DRIVEN_BASED_CONTROL
RULES = OM_RULE_IDS["DDBC"]
S = InstructionStatus
T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
STEP = ["InstructionStatusUpdate:STARTED", "DDBC.ActuatorStatus", "InstructionStatusUpdate:SUCCEEDED"]
STEP_WITH_TIMER = [*STEP[:2], "DDBC.TimerStatus", STEP[2]]


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def said(loop: Loopback, mark: int, direction: str = "rm>cem") -> list[str]:
    return [t for t in loop.types_since(mark, direction) if t != "PowerMeasurement"]


def same_picture(loop: Loopback, view: DDBCView, sim: HybridHeatPumpSim) -> None:
    device = sim.device
    assert view.description(loop.now) == device.descriptions.at(loop.now)
    assert view.present_demand_rate(loop.now) == sim.demand_rate
    for actuator_id, mine in device.statuses.items():
        status = view.actuator_status(actuator_id)
        assert status is not None
        assert (status.mode_id, status.factor, status.previous_mode_id, status.transition_timestamp) == (
            mine.mode_id,
            mine.factor,
            mine.previous_mode_id,
            mine.transition_timestamp,
        )
        assert view.timers.snapshot(actuator_id) == device.timers.snapshot(actuator_id)


def test_hybrid_heat_pump_session() -> None:
    sim = HybridHeatPumpSim(now=T0, ids=ReadableIds(), interval=timedelta(hours=1))
    view = DDBCView()
    loop = Loopback(sim, view, now=T0, session="hybrid")
    hp, boiler = sim.hp_id, sim.boiler_id

    # Before any CEM the device meets the demand itself, with the heat pump alone.
    demand = sim.demand_rate
    assert demand.start_of_range < sim.demand(T0) < demand.end_of_range < 8000
    assert sim.mode(hp)[0] == sim.hp_on and sim.mode(boiler) == (sim.boiler_off, 0.0)
    loop.start(DDBC)
    assert loop.types_since(0, "rm>cem") == [
        "Handshake",
        "ResourceManagerDetails",
        "DDBC.SystemDescription",
        "DDBC.ActuatorStatus",
        "DDBC.ActuatorStatus",
        "DDBC.AverageDemandRateForecast",
    ]
    same_picture(loop, view, sim)
    assert view.demand_rate_at(at(30)) == pytest.approx(sim.demand(at(30)), abs=0.1)
    assert view.supply_rate_at(hp, sim.hp_on, 1.0) == 8000.0

    # Move the load to the boiler: on at minute 1 (its minimum), the heat pump off at minute 2,
    # the boiler up to 8 kW at minute 3. Stopping starts the heat pump's minimum off time.
    for instruction in (
        view.instruct(boiler, sim.boiler_on, 0.0, at(1), T0),
        view.instruct(hp, sim.hp_off, 0.0, at(2), T0),
        view.instruct(boiler, sim.boiler_on, 0.2, at(3), T0),
    ):
        loop.send(instruction)
    mark = loop.mark()
    loop.advance(at(3))
    assert said(loop, mark) == [*STEP, *STEP_WITH_TIMER, *STEP]
    assert sim.supply(at(3)) == 8000.0 and view.timers.finished_at(hp, sim.hp_min_off) == at(12)
    assert sim.power(at(3))[sim.measured[1]] == pytest.approx(8000 / 0.9 / 9.77 / 3600)
    same_picture(loop, view, sim)

    # The heat pump cannot restart before minute 12: the view refuses, the RM's rules too.
    assert {r.mode_id: r.reach for r in view.reachable_modes(hp, at(5))}[sim.hp_on] is Reach.LATER
    with pytest.raises(InstructionRefused) as refused:
        view.instruct(hp, sim.hp_on, 0.5, at(5), at(3))
    assert refused.value.rule == RULES["transition_blocked"]
    forced = replace(view.instruct(hp, sim.hp_off, 0.0, at(5), at(3), record=False), operation_mode_id=sim.hp_on)
    loop.send(forced, checked=False)
    assert loop.not_ok() == {forced.message_id: ("DDBC.Instruction", ReceptionStatusValues.INVALID_CONTENT)}

    # Both off would leave the house cold: the rules allow it, the device does not.
    cold = view.instruct(boiler, sim.boiler_off, 0.0, at(20), at(3))
    mark = loop.mark()
    loop.send(cold)
    assert said(loop, mark) == ["InstructionStatusUpdate:REJECTED"]
    assert str(sim.device.scheduler.reason(cold.id)).startswith("that would leave the heat demand unmet")

    # The heat pump back at minute 30, revoked at minute 4.
    back = view.instruct(hp, sim.hp_on, 1.0, at(30), at(3))
    loop.send(back)
    loop.advance(at(4))
    mark = loop.mark()
    loop.send(view.revoke(back.id, at(4)))
    assert said(loop, mark) == ["InstructionStatusUpdate:REVOKED"]

    # A bigger heat pump from minute 40 (a new description, sent now).
    mark = loop.mark()
    loop.publish(sim.reconfigure(at(6), valid_from=at(40), hp_max_heat_w=10_000.0))
    assert said(loop, mark) == ["DDBC.SystemDescription"]
    [upcoming] = view.descriptions.scheduled(at(6))
    assert upcoming.valid_from == at(40) and view.supply_rate_at(hp, sim.hp_on, 1.0, at=at(39)) == 8000.0

    # From minute 40 it is in force; the heat pump takes the whole load at minute 41.
    loop.advance(at(41))
    assert view.description(at(41)) == upcoming
    mark = loop.mark()
    loop.send(view.instruct(hp, sim.hp_on, 1.0, at(41), at(41)))
    loop.send(view.instruct(boiler, sim.boiler_off, 0.0, at(41), at(41)))
    assert said(loop, mark) == [
        "InstructionStatusUpdate:ACCEPTED",
        *STEP_WITH_TIMER,
        "InstructionStatusUpdate:ACCEPTED",
        *STEP,
    ]
    assert sim.supply(at(41)) == 10_000.0

    # At 11:00 the demand of the next hour is published: profile 0.0.2-beta carries it in a
    # description valid from then.
    mark = loop.mark()
    loop.advance(at(61))
    assert said(loop, mark) == ["DDBC.SystemDescription"]
    assert view.present_demand_rate(at(61)) == sim.present_demand(at(61)) != demand
    same_picture(loop, view, sim)
    assert 0 < sim.unmet_wh < 100  # the minute the boiler ran at its minimum
    assert set(loop.not_ok()) == {forced.message_id}
    findings = replay(loop.transcript())
    assert [(f.rule, f.message_id) for f in findings] == [(RULES["transition_blocked"], forced.message_id)]


def test_profile_1_publishes_the_demand_as_a_status() -> None:
    params = HybridHeatPumpParams(profile="1.0.0")
    sim = HybridHeatPumpSim(params, now=T0, interval=timedelta(hours=1))
    view = DDBCView()
    loop = Loopback(sim, view, now=T0, versions=("1.0.0",))
    loop.start(DDBC)
    assert loop.cem.selected_version == "1.0.0"
    assert said(loop, 0)[2:] == [
        "DDBC.SystemDescription",
        "DDBC.ActuatorStatus",
        "DDBC.ActuatorStatus",
        "DDBC.PresentDemandStatus",
        "DDBC.AverageDemandRateForecast",
    ]
    assert not isinstance(view.description(T0), DDBCSystemDescription)
    assert view.present_demand_rate() == sim.demand_rate
    mark = loop.mark()
    loop.advance(at(61))
    assert said(loop, mark) == ["DDBC.PresentDemandStatus"]
    assert view.present_demand_rate() == sim.present_demand(at(61))
    assert loop.not_ok() == {} and replay(loop.transcript(), profile="1.0.0") == []
