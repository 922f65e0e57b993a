"""The planner on tiny problems whose optimum is known by hand: OMBC, DDBC, PPBC, PEBC, timers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from builders import (
    L1,
    T0,
    ddbc_actuator,
    ddbc_description,
    ddbc_mode,
    ddbc_status,
    mid,
    number_range,
    ombc_description,
    ombc_mode,
    ombc_status,
    ombc_timer,
    power_range,
    timer,
    transition,
)
from s2ws.control import DDBCDevice, DDBCView, ModeChange, OMBCView, PEBCView, PPBCView, limit_ranges, power_sequence
from s2ws.messages import (
    Commodity,
    CommodityQuantity,
    DDBCInstruction,
    DDBCOperationMode,
    OMBCInstruction,
    PEBCInstruction,
    PEBCPowerConstraints,
    PEBCPowerEnvelopeConsequenceType,
    PowerForecast,
    PowerForecastElement,
    PowerForecastValue,
    PPBCPowerProfileDefinition,
    PPBCPowerProfileStatus,
    PPBCPowerSequenceContainer,
    PPBCPowerSequenceContainerStatus,
    PPBCPowerSequenceStatus,
    PPBCScheduleInstruction,
)
from s2ws.plan import Plan, Planner, PriceCurve, Site, device_model

HOUR = timedelta(hours=1)


def hourly(*imports: float, export: float | None = None) -> PriceCurve:
    """One row per hour from T0; export at ``export`` (default: the import price)."""
    rows = [(T0 + i * HOUR, p, p if export is None else export) for i, p in enumerate(imports)]
    return PriceCurve(tuple(rows))


def solve(site: Site, *pairs: tuple[str, object], forecast: PowerForecast | None = None) -> Plan:
    models = []
    for rid, view in pairs:
        model = device_model(rid, view, T0, forecast=forecast)
        assert model is not None
        models.append(model)
    plan = Planner(site).plan(models, T0)
    assert plan.status == "optimal"
    return plan


# --- OMBC ----------------------------------------------------------------------------------------


def heater(min_on: timedelta) -> OMBCView:
    """Off (0 W) and on (1 kW, no running costs); the minimum run time blocks switching off."""
    view = OMBCView()
    description = ombc_description(
        operation_modes=[ombc_mode("off", 0, 0), ombc_mode("on", 1000, 1000)],
        transitions=[
            transition("t-on", "off", "on", start=["min-on"], block=["min-off"]),
            transition("t-off", "on", "off", start=["min-off"], block=["min-on"]),
        ],
        timers=[timer("min-on", int(min_on / timedelta(milliseconds=1))), timer("min-off")],
    )
    view.apply(description, T0)
    view.apply(ombc_status("on", 0.0), T0)
    return view


def modes(plan: Plan, rid: str, actuator: str = "") -> list[str]:
    steps = plan.devices[rid].modes
    assert steps is not None
    return [s.mode_id for s in steps[actuator]]


def test_ombc_switches_off_at_once_without_a_timer() -> None:
    view = heater(timedelta(minutes=10))
    plan = solve(Site(prices=hourly(0.3, 0.3), horizon=2 * HOUR), ("heater", view))
    assert modes(plan, "heater") == ["off"] * 8
    instructions = plan.instructions("heater", view, T0, T0 + 2 * HOUR)
    assert [(i.operation_mode_id, i.execution_time) for i in instructions if isinstance(i, OMBCInstruction)] == [
        ("off", T0)
    ]


def test_a_running_timer_forbids_the_switch_the_price_suggests() -> None:
    view = heater(timedelta(minutes=45))
    view.apply(ombc_timer("min-on", T0 + timedelta(minutes=40)), T0)
    plan = solve(Site(prices=hourly(0.3, 0.3), horizon=2 * HOUR), ("heater", view))
    # Steps start at 14:00, 14:15, 14:30 (timer running), 14:45 (finished at 14:40).
    assert modes(plan, "heater") == ["on"] * 3 + ["off"] * 5
    instructions = plan.instructions("heater", view, T0, T0 + 2 * HOUR)
    assert [(i.operation_mode_id, i.execution_time) for i in instructions if isinstance(i, OMBCInstruction)] == [
        ("off", T0 + timedelta(minutes=45))
    ]


def test_a_generator_runs_only_while_export_pays_its_running_costs() -> None:
    view = OMBCView()
    on = ombc_mode("on", -2000, -3000, running_costs=number_range(0.00005, 0.00005))  # 0.18 per hour
    view.apply(
        ombc_description(
            operation_modes=[ombc_mode("off", 0, 0), on],
            transitions=[transition("t-on", "off", "on"), transition("t-off", "on", "off")],
            timers=[],
        ),
        T0,
    )
    view.apply(ombc_status("off", 0.0), T0)
    # Export earns 3 kW x 0.05 = 0.15 per hour (less than it costs), then 3 kW x 0.20 = 0.60.
    prices = PriceCurve(((T0, 0.3, 0.05), (T0 + HOUR, 0.3, 0.20), (T0 + 2 * HOUR, 0.3, 0.20)))
    plan = solve(Site(prices=prices, horizon=2 * HOUR), ("gen", view))
    steps = plan.devices["gen"].modes
    assert steps is not None
    assert [(s.mode_id, s.factor) for s in steps[""]] == [("off", 0.0)] * 4 + [("on", 1.0)] * 4
    assert plan.devices["gen"].power_w == pytest.approx([0.0] * 4 + [-3000.0] * 4)
    assert plan.objective_value == pytest.approx(-(3 * 0.20 - 0.18), abs=1e-3)  # and a token per switch


# --- DDBC ----------------------------------------------------------------------------------------


def test_ddbc_covers_the_demand_with_the_cheaper_heat_first() -> None:
    gas = CommodityQuantity.NATURAL_GAS_FLOW_RATE
    view = DDBCView()
    heat_pump = ddbc_actuator(
        "hp",
        operation_modes=[ddbc_mode("hp-on", 0, 1600, supply_range=number_range(0, 4000))],
        transitions=[],
        timers=[],
    )
    boiler = ddbc_actuator(
        "boiler",
        supported_commodites=[Commodity.GAS],
        operation_modes=[
            ddbc_mode("boiler-on", 0, 0, power_ranges=[power_range(0, 1.0, gas)], supply_range=number_range(0, 10000))
        ],
        transitions=[],
        timers=[],
    )
    view.apply(
        ddbc_description(
            actuators=[heat_pump, boiler],
            present_demand_rate=number_range(6000, 6000),
            provides_average_demand_rate_forecast=False,
        ),
        T0,
    )
    view.apply(ddbc_status("hp-on", 0.0, "hp"), T0)
    view.apply(ddbc_status("boiler-on", 0.0, "boiler"), T0)
    # Heat from the heat pump: 0.4 W per W x 0.30 per kWh = 0.12 per kWh of heat; from gas:
    # 0.1 l/s per kW of heat = 0.36 m³/h x 1.20 = 0.432 per kWh. The heat pump runs flat out.
    site = Site(prices=hourly(0.3, 0.3), horizon=2 * HOUR, gas_price=1.20)
    plan = solve(site, ("hybrid", view))
    device = plan.devices["hybrid"]
    assert device.modes is not None
    assert {s.factor for s in device.modes["hp"]} == {1.0}
    assert [s.factor for s in device.modes["boiler"]] == pytest.approx([0.2] * 8)
    assert device.power_w == pytest.approx([1600.0] * 8)
    instructions = plan.instructions("hybrid", view, T0, T0 + 2 * HOUR)
    assert sorted((i.actuator_id, i.operation_mode_factor) for i in instructions if isinstance(i, DDBCInstruction)) == [
        ("boiler", 0.2),
        ("hp", 1.0),
    ]


# --- PPBC ----------------------------------------------------------------------------------------


def washer(*containers: PPBCPowerSequenceContainer, hours: int = 4) -> PPBCView:
    view = PPBCView()
    definition = PPBCPowerProfileDefinition(
        message_id=mid(),
        id="programme",
        start_time=T0,
        end_time=T0 + hours * HOUR,
        power_sequences_containers=list(containers),
    )
    view.apply(definition, T0)
    status = PPBCPowerProfileStatus(
        message_id=mid(),
        sequence_container_status=[
            PPBCPowerSequenceContainerStatus(
                power_profile_id="programme", sequence_container_id=c.id, status=PPBCPowerSequenceStatus.NOT_SCHEDULED
            )
            for c in containers
        ],
    )
    view.apply(status, T0)
    return view


def test_a_ppbc_run_starts_in_the_cheapest_allowed_slot() -> None:
    wash = PPBCPowerSequenceContainer(id="wash", power_sequences=[power_sequence("hot", [(HOUR, 2000.0)])])
    view = washer(wash)
    plan = solve(Site(prices=hourly(0.3, 0.2, 0.1, 0.4, 0.4, export=0.0), horizon=5 * HOUR), ("washer", view))
    device = plan.devices["washer"]
    assert device.sequences is not None
    assert [(s.container_id, s.sequence_id, s.start) for s in device.sequences] == [("wash", "hot", T0 + 2 * HOUR)]
    assert plan.objective_value == pytest.approx(2 * 0.1, abs=1e-6)
    instructions = plan.instructions("washer", view, T0, T0 + 5 * HOUR)
    assert [
        (i.sequence_container_id, i.execution_time) for i in instructions if isinstance(i, PPBCScheduleInstruction)
    ] == [("wash", T0 + 2 * HOUR)]


def test_ppbc_containers_run_in_order_and_pick_the_cheaper_sequence() -> None:
    first = PPBCPowerSequenceContainer(
        id="heat",
        power_sequences=[
            power_sequence("eco", [(HOUR, 1000.0)]),
            power_sequence("quick", [(timedelta(minutes=30), 2500.0)]),
        ],
    )
    second = PPBCPowerSequenceContainer(
        id="spin", power_sequences=[power_sequence("spin", [(timedelta(minutes=30), 500.0)], max_pause_before=HOUR)]
    )
    view = washer(first, second)
    plan = solve(Site(prices=hourly(0.4, 0.1, 0.2, 0.4, export=0.0), horizon=4 * HOUR), ("washer", view))
    device = plan.devices["washer"]
    assert device.sequences is not None
    # eco takes 1 kWh, quick 1.25 kWh: eco fills the cheapest hour, spin follows in the next one.
    (heat, spin) = device.sequences
    assert (heat.sequence_id, heat.start) == ("eco", T0 + HOUR)
    assert spin.sequence_id == "spin" and T0 + 2 * HOUR <= spin.start <= T0 + timedelta(hours=2.5)
    assert plan.objective_value == pytest.approx(0.1 + 0.25 * 0.2, abs=1e-6)
    scheduled = plan.instructions("washer", view, T0, T0 + 4 * HOUR)
    assert [i.power_sequence_id for i in scheduled if isinstance(i, PPBCScheduleInstruction)] == ["eco", "spin"]


# --- PEBC ----------------------------------------------------------------------------------------


def pv(production_w: float) -> tuple[PEBCView, PowerForecast]:
    view = PEBCView()
    view.apply(
        PEBCPowerConstraints(
            message_id=mid(),
            id="limits",
            valid_from=T0,
            consequence_type=PEBCPowerEnvelopeConsequenceType.VANISH,
            allowed_limit_ranges=limit_ranges(L1, upper=[(0, 0)], lower=[(-5000, 0)]),
        ),
        T0,
    )
    forecast = PowerForecast(
        message_id=mid(),
        start_time=T0,
        elements=[
            PowerForecastElement(
                duration=4 * 3_600_000,
                power_values=[PowerForecastValue(value_expected=-production_w, commodity_quantity=L1)],
            )
        ],
    )
    return view, forecast


def lowest_limits(instructions: list[object]) -> list[float]:
    return [
        e.lower_limit
        for i in instructions
        if isinstance(i, PEBCInstruction)
        for envelope in i.power_envelopes
        for e in envelope.power_envelope_elements
    ]


def test_a_grid_limit_forces_curtailment() -> None:
    view, forecast = pv(5000.0)
    site = Site(export_limit_w=3000.0, prices=hourly(0.3, 0.3, export=0.05), horizon=2 * HOUR)
    plan = solve(site, ("pv", view), forecast=forecast)
    assert plan.devices["pv"].power_w == pytest.approx([-3000.0] * 8)
    assert not plan.relaxations
    instructions: list[object] = list(plan.instructions("pv", view, T0, T0 + HOUR))
    assert len(instructions) == 1 and lowest_limits(instructions) == [-3000.0] * 4


def test_pv_is_left_alone_when_curtailing_does_not_pay() -> None:
    view, forecast = pv(5000.0)
    plan = solve(Site(prices=hourly(0.3, 0.3, export=0.0), horizon=2 * HOUR), ("pv", view), forecast=forecast)
    assert plan.devices["pv"].power_w == pytest.approx([-5000.0] * 8)
    assert plan.instructions("pv", view, T0, T0 + HOUR) == []


def test_a_negative_export_price_curtails_everything() -> None:
    view, forecast = pv(5000.0)
    plan = solve(Site(prices=hourly(0.3, 0.3, export=-0.05), horizon=2 * HOUR), ("pv", view), forecast=forecast)
    assert plan.devices["pv"].power_w == pytest.approx([0.0] * 8, abs=1e-6)
    assert lowest_limits(list(plan.instructions("pv", view, T0, T0 + HOUR))) == [0.0] * 4


def test_within_a_step_the_supply_that_rises_goes_first() -> None:
    # The heat pump runs; gas is far cheaper now, so the plan moves the heat to the boiler in the
    # first step. A hybrid heat pump refuses any change that leaves its present demand unmet, so
    # the boiler must be switched on before the heat pump goes off: the other order is rejected.
    gas = CommodityQuantity.NATURAL_GAS_FLOW_RATE
    heat_pump = ddbc_actuator(
        "hp",
        operation_modes=[
            ddbc_mode("hp-off", 0, 0, supply_range=number_range(0, 0)),
            ddbc_mode("hp-on", 600, 2500, supply_range=number_range(2000, 8000)),
        ],
        transitions=[transition("hp-start", "hp-off", "hp-on"), transition("hp-stop", "hp-on", "hp-off")],
        timers=[],
    )
    boiler = ddbc_actuator(
        "boiler",
        supported_commodites=[Commodity.ELECTRICITY, Commodity.GAS],
        operation_modes=[
            ddbc_mode("boiler-off", 0, 0, supply_range=number_range(0, 0)),
            ddbc_mode(
                "boiler-on",
                0,
                0,
                power_ranges=[power_range(0, 0), power_range(0.08, 0.28, gas)],
                supply_range=number_range(3000, 10000),
            ),
        ],
        transitions=[transition("b-start", "boiler-off", "boiler-on"), transition("b-stop", "boiler-on", "boiler-off")],
        timers=[],
    )
    demand = number_range(6000, 6300)
    description = ddbc_description(
        actuators=[heat_pump, boiler], present_demand_rate=demand, provides_average_demand_rate_forecast=False
    )

    def enough_heat(change: ModeChange) -> str | None:
        most = 0.0
        for actuator_id in device.statuses:
            mode_id = (
                change.mode_id if actuator_id == change.actuator_id else device.expected(actuator_id, change.at).mode_id
            )
            mode = device.machine(actuator_id, change.at).mode(mode_id or "")
            assert isinstance(mode, DDBCOperationMode)
            most += mode.supply_range.end_of_range
        return None if most >= demand.start_of_range else f"at most {most:.0f} W of heat"

    def fresh() -> tuple[DDBCDevice, DDBCView]:
        device = DDBCDevice(description, {"hp": ("hp-on", 0.6), "boiler": ("boiler-off", 0.0)}, accept=enough_heat)
        view = DDBCView()
        for message in device.activate(T0):
            view.apply(message, T0)
        return device, view

    device, view = fresh()
    plan = solve(Site(prices=hourly(0.6, 0.6), horizon=2 * HOUR, gas_price=0.3), ("hybrid", view))
    planned = plan.devices["hybrid"].modes
    assert planned is not None
    assert (planned["hp"][0].mode_id, planned["boiler"][0].mode_id) == ("hp-off", "boiler-on")
    instructions = [i for i in plan.instructions("hybrid", view, T0, T0 + timedelta(minutes=15))]
    assert [(i.actuator_id, i.operation_mode_id) for i in instructions if isinstance(i, DDBCInstruction)] == [
        ("boiler", "boiler-on"),
        ("hp", "hp-off"),
    ]
    assert all(device.receive(i, T0).accepted for i in instructions if isinstance(i, DDBCInstruction))
    # The same two instructions the other way round: the heat pump's stop is refused.
    device, _ = fresh()
    decisions = [device.receive(i, T0) for i in reversed(instructions) if isinstance(i, DDBCInstruction)]
    assert not decisions[0].accepted and "at most" in (decisions[0].reason or "")
