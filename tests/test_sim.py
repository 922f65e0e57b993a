"""Simulator physics under a fake clock, and the validity of what they publish."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import s2ws
from s2ws import FRBCInstruction, PEBCInstruction, PEBCPowerEnvelope, PEBCPowerEnvelopeElement
from s2ws.sim import BatteryParams, BatterySim, PVSim

T0 = datetime(2026, 6, 21, 12, 0, tzinfo=UTC)


def instruction(sim: BatterySim, mode: str, factor: float) -> FRBCInstruction:
    return FRBCInstruction(
        message_id=s2ws.new_id(),
        id=s2ws.new_id(),
        actuator_id=sim.actuator_id,
        operation_mode=sim.mode_ids[mode],
        operation_mode_factor=factor,
        execution_time=T0,
        abnormal_condition=False,
    )


def test_battery_messages_are_wire_valid() -> None:
    sim = BatterySim(now=T0)
    for msg in (
        sim.details(),
        sim.system_description(T0),
        sim.actuator_status(),
        sim.storage_status(),
        sim.measurement(T0),
    ):
        s2ws.encode_checked(msg)


def test_battery_charges_with_losses_and_stops_when_full() -> None:
    sim = BatterySim(BatteryParams(capacity_wh=1000, max_charge_w=1000, efficiency=0.5, initial_soc=0), now=T0)
    assert sim.apply(instruction(sim, "charge", 1.0), T0) is None
    sim.advance(T0 + timedelta(hours=1))
    assert sim.soc == pytest.approx(50.0)
    sim.advance(T0 + timedelta(hours=3))
    assert sim.soc == 100.0 and sim.mode == "idle" and sim.power_w() == 0.0
    status = sim.actuator_status()
    assert status.previous_operation_mode_id == sim.mode_ids["charge"]


def test_battery_discharge_factor_follows_the_low_to_high_range() -> None:
    sim = BatterySim(BatteryParams(max_discharge_w=4000), now=T0)
    assert sim.apply(instruction(sim, "discharge", 0.25), T0) is None
    assert sim.power_w() == pytest.approx(-3000.0)


def test_battery_refuses_what_it_cannot_do() -> None:
    sim = BatterySim(BatteryParams(initial_soc=0), now=T0)
    assert sim.apply(instruction(sim, "discharge", 0.0), T0) == "the battery is empty"
    assert "outside [0, 1]" in str(sim.apply(instruction(sim, "charge", 1.5), T0))


def test_pv_follows_the_sun_and_obeys_the_envelope() -> None:
    sim = PVSim()
    assert sim.available_w(T0.replace(hour=2)) == 0.0
    assert sim.power_w(T0.replace(hour=13)) == pytest.approx(-4000.0)
    envelope = PEBCPowerEnvelope(
        id=s2ws.new_id(),
        commodity_quantity=s2ws.CommodityQuantity.ELECTRIC_POWER_L1,
        power_envelope_elements=[PEBCPowerEnvelopeElement(duration=3_600_000, upper_limit=0.0, lower_limit=-1500.0)],
    )
    instr = PEBCInstruction(
        message_id=s2ws.new_id(),
        id=s2ws.new_id(),
        execution_time=T0,
        abnormal_condition=False,
        power_constraints_id=sim.constraints_id,
        power_envelopes=[envelope],
    )
    assert sim.apply(instr, T0) is None
    assert sim.power_w(T0 + timedelta(minutes=30)) == -1500.0
    assert sim.power_w(T0 + timedelta(hours=2)) < -1500.0  # the envelope has ended
    for msg in (sim.details(), sim.power_constraints(T0), sim.forecast(T0), sim.measurement(T0)):
        s2ws.encode_checked(msg)
    assert len(sim.forecast(T0, elements=288).elements) == 288
