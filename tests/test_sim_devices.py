"""The DeviceSim simulators on their own: the device table, ids, physics under a fake clock, and
the behaviour each device shows without a CEM."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

import s2ws
from s2ws.control import FRBCView
from s2ws.messages import (
    ControlType,
    FRBCActuatorStatus,
    FRBCStorageStatus,
    FRBCSystemDescription,
    FRBCTimerStatus,
    PowerForecast,
    PowerMeasurement,
    RevokableObjects,
    RevokeObject,
    new_id,
)
from s2ws.messages.base import UNSET, S2Message
from s2ws.rules import check_message
from s2ws.sim import (
    DEVICES,
    BatteryDeviceSim,
    BatteryParams,
    DeviceSim,
    EVSim,
    GeneratorSim,
    HeatPumpParams,
    HeatPumpSim,
    HybridHeatPumpSim,
    Loopback,
    PVDeviceSim,
    ReadableIds,
    WasherSim,
)

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def of(messages: list[S2Message], kind: type[S2Message]) -> list[S2Message]:
    return [m for m in messages if isinstance(m, kind)]


def test_the_device_table_is_fixed_and_complete() -> None:
    assert list(DEVICES) == ["battery", "ev", "heatpump", "pv", "washer", "hybrid-heatpump", "generator"]
    with pytest.raises(TypeError):
        DEVICES["toaster"] = HeatPumpSim  # type: ignore[index]
    for name, factory in DEVICES.items():
        sim = factory(now=T0)
        assert isinstance(sim, DeviceSim), name
        details = sim.details()
        s2ws.encode_checked(details)
        assert [f for f in check_message(details)] == [], name
        assert details.available_control_types == list(sim.control_types)
        uuid.UUID(details.resource_id)  # ids are UUID4 unless asked otherwise
        # What selection sends is wire-valid and breaks no single-message rule.
        for message in sim.on_select(sim.control_types[0], T0) + sim.tick(T0):
            s2ws.encode_checked(message)
            assert [f for f in check_message(message) if f.severity == "error"] == [], (name, message)


def test_readable_ids_name_the_parts() -> None:
    ids = ReadableIds("hp:")
    assert [ids("mode on"), ids("mode on"), ids("x")] == ["hp:mode-on", "hp:mode-on-1", "hp:x"]
    assert ReadableIds()("x") == "x-"
    sim = HeatPumpSim(now=T0, ids=ReadableIds())
    assert (sim.resource_id, sim.actuator_id, sim.on_id, sim.min_on_id) == ("resource", "heat-pump", "on", "min-on")


def test_a_new_description_keeps_every_id() -> None:
    sim = HeatPumpSim(now=T0)
    assert sim.reconfigure(T0, valid_from=T0 + MIN, max_w=3000.0) == []  # not selected: kept, not sent
    before, after = sim.device.descriptions.at(T0), sim.device.descriptions.next_after(T0)
    assert before is not None and after is not None and after.valid_from == T0 + MIN

    def ids(d: FRBCSystemDescription) -> list[tuple[str, list[str], list[str], list[str]]]:
        return [
            (a.id, [m.id for m in a.operation_modes], [t.id for t in a.transitions], [t.id for t in a.timers])
            for a in d.actuators
        ]

    assert ids(before) == ids(after)
    assert after.actuators[0].operation_modes[1].elements[0].power_ranges[0].end_of_range == 3000.0
    sim.tick(T0 + 2 * MIN)
    assert sim.device.descriptions.at(T0 + 2 * MIN) == after


def test_coarse_and_fine_ticks_tell_the_same_story() -> None:
    """Physics and the device's own decisions happen at the same moments however often it is ticked."""

    def run(step: timedelta) -> tuple[float, list[tuple[str, datetime | None]]]:
        sim = HeatPumpSim(HeatPumpParams(initial_c=46.0), now=T0.replace(hour=5), ids=ReadableIds())
        sim.on_select(ControlType.FILL_RATE_BASED_CONTROL, sim.time)
        switches: list[tuple[str, datetime | None]] = []
        end, now = sim.time + timedelta(hours=18), sim.time
        while now < end:
            now += step
            for message in sim.tick(now):
                if isinstance(message, FRBCActuatorStatus):
                    stamp = message.transition_timestamp
                    switches.append((message.active_operation_mode_id, None if stamp is UNSET else stamp))
        return sim.level, switches

    fine, coarse = run(MIN), run(timedelta(hours=3))
    assert fine == coarse
    assert len(fine[1]) >= 2  # the thermostat switched on and off again


def test_the_thermostat_acts_when_the_driver_is_told_to_wake() -> None:
    sim = HeatPumpSim(HeatPumpParams(initial_c=45.6), now=T0, interval=timedelta(hours=6))
    sim.on_select(ControlType.FILL_RATE_BASED_CONTROL, T0)
    sim.tick(T0)
    wake = sim.next_wakeup()
    # 0.1 °C at 0.00004 °C/s of leakage: the switch-on point is 2500 s away.
    assert wake == T0 + timedelta(seconds=2500)
    out = sim.tick(wake)
    [status] = of(out, FRBCActuatorStatus)
    [timer] = of(out, FRBCTimerStatus)
    assert isinstance(status, FRBCActuatorStatus) and isinstance(timer, FRBCTimerStatus)
    assert status.active_operation_mode_id == sim.on_id and status.operation_mode_factor == 1.0
    assert timer.timer_id == sim.min_on_id and sim.heating


def test_the_ev_charges_by_itself_when_nobody_steers_it() -> None:
    sim = EVSim(now=T0.replace(hour=16))
    assert not sim.plugged and sim.next_wakeup() is not None
    assert sim.tick(T0.replace(hour=16)) != []  # a measurement
    sim.tick(T0.replace(hour=18))
    assert sim.plugged and sim.level == 40.0 and sim.charging and sim.mode(sim.actuator_id)[1] == 1.0
    sim.tick(T0.replace(hour=23))
    # 40 % -> 80 % of 60 kWh at 11 kW and 92 %: it stopped at the target.
    assert sim.level == pytest.approx(80.0, abs=0.3) and not sim.charging
    assert sim.charged_wh == pytest.approx(24_000 / 0.92, rel=0.01)
    sim.tick(T0.replace(hour=7, minute=30) + timedelta(days=1))
    assert not sim.plugged


def test_pv_forecast_follows_the_sun_and_the_derating() -> None:
    noon = T0.replace(month=6, hour=12)
    sim = PVDeviceSim(now=noon.replace(hour=0))
    sim.derate(2000.0, noon.replace(hour=0), valid_from=noon)
    [forecast] = of(sim.tick(noon.replace(hour=0)), PowerForecast)
    assert isinstance(forecast, PowerForecast) and len(forecast.elements) == 96
    values = [e.power_values[0].value_expected for e in forecast.elements]
    assert values[0] == 0.0 and min(values[:48]) < -3500 and min(values[48:]) == -2000.0
    assert sim.power(noon)[sim.measured[0]] == -2000.0  # not under PEBC: only the derating bounds it


def test_washer_measures_what_its_programme_draws() -> None:
    sim = WasherSim(now=T0, ids=ReadableIds())
    loop = Loopback(sim, now=T0)
    loop.start(ControlType.POWER_PROFILE_BASED_CONTROL)
    assert sim.power(T0)[sim.measured[0]] == 0.0
    assert sim.definition.end_time == T0 + timedelta(hours=10)
    assert [c.id for c in sim.definition.power_sequences_containers] == ["prewash", "main-wash", "spin"]


def test_the_hybrid_heat_pump_meets_the_demand_by_itself() -> None:
    night = T0.replace(hour=0)
    sim = HybridHeatPumpSim(now=night)
    assert sim.demand_rate.end_of_range > sim.params.hp_max_heat_w  # a cold night
    assert sim.mode(sim.hp_id)[0] == sim.hp_on and sim.mode(sim.boiler_id) == (sim.boiler_on, 0.0)
    assert sim.supply(night) == pytest.approx(sim.demand_rate.end_of_range)  # the boiler at its minimum
    sim.tick(night + timedelta(hours=16))  # the afternoon: the heat pump alone
    assert sim.mode(sim.boiler_id)[0] == sim.boiler_off and sim.unmet_wh == 0.0


def test_the_generator_delivers_nothing_while_starting() -> None:
    sim = GeneratorSim(now=T0)
    sim.on_select(ControlType.OPERATION_MODE_BASED_CONTROL, T0)
    sim.device.set_mode(sim.low_id, 0.5, T0)
    assert sim.power(T0 + MIN)[sim.measured[0]] == 0.0
    assert sim.power(T0 + 2 * MIN)[sim.measured[0]] == -2500.0


def test_the_link_answers_first_and_lets_the_device_speak_after() -> None:
    """Every frame gets its ReceptionStatus before anything the simulator says about it, and
    nothing but the handshake precedes ResourceManagerDetails."""
    sim = DEVICES["battery"](now=T0, ids=ReadableIds())
    view = FRBCView()
    loop = Loopback(sim, view, now=T0)
    loop.start(ControlType.FILL_RATE_BASED_CONTROL)
    assert loop.types_since(0, "rm>cem", answers=True)[:4] == [
        "Handshake",
        "ReceptionStatus",
        "ReceptionStatus",
        "ResourceManagerDetails",
    ]
    mark = loop.mark()
    loop.send(view.instruct("inverter", "mode-charge", 1.0, T0, T0))
    assert loop.types_since(mark, "rm>cem", answers=True) == [
        "ReceptionStatus",
        "InstructionStatusUpdate:ACCEPTED",
        "InstructionStatusUpdate:STARTED",
        "FRBC.ActuatorStatus",
        "InstructionStatusUpdate:SUCCEEDED",
    ]
    # A revocation of something never sent is refused by the RM's engine, before the device.
    revoke = RevokeObject(message_id=new_id(), object_type=RevokableObjects.FRBC_Instruction, object_id=new_id())
    loop.rm.receive(s2ws.encode(revoke).decode(), T0)
    [answer] = loop.rm.data_to_send()
    assert '"INVALID_CONTENT"' in answer and "S2-REVOKE-002" in answer
    loop.advance(T0 + 5 * MIN)
    assert of(loop.received, PowerMeasurement)


@pytest.mark.parametrize(
    ("start", "mode", "factor", "edge"),
    [(97.0, "charge", 1.0, 100.0), (3.0, "discharge", 0.0, 0.0)],  # discharge is full at factor 0
)
def test_a_battery_stopping_at_its_edge_reports_the_level_it_reached_first(
    start: float, mode: str, factor: float, edge: float
) -> None:
    """A CEM must not see "idle" beside a fill level up to report_delta old (it would instruct the
    full battery to charge again, and be rejected): the StorageStatus at the edge comes first."""
    sim = BatteryDeviceSim(BatteryParams(initial_soc=start), now=T0, interval=timedelta(hours=6))
    sim.on_select(ControlType.FILL_RATE_BASED_CONTROL, T0)
    sim.tick(T0)
    sim.device.set_mode(sim.actuator_id, sim.battery.mode_ids[mode], factor, T0)
    stopped: list[S2Message] = []
    now = T0
    while sim.mode_name == mode and now < T0 + timedelta(hours=3):
        wake = sim.next_wakeup()
        assert wake is not None
        now = wake
        stopped = sim.tick(now)
    assert sim.mode_name == "idle" and sim.level == edge
    kinds = [type(m) for m in stopped if isinstance(m, FRBCStorageStatus | FRBCActuatorStatus)]
    assert kinds == [FRBCStorageStatus, FRBCActuatorStatus]
    (level,) = of(stopped, FRBCStorageStatus)
    assert isinstance(level, FRBCStorageStatus) and level.present_fill_level == edge
