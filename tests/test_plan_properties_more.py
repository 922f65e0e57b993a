"""Properties of plans for generated DDBC, PPBC and PEBC devices.

Each device is an RM-side device object (``s2ws.control``) whose first messages feed both the
CEM's view and a session's rule context. Every instruction the plan yields must pass the
catalogue as that session judges it, and the device must accept it: no finding, no rejection.
Beyond that, per control type: DDBC supply covers the demand unless the plan names the
relaxation (and the device, like a hybrid heat pump, refuses a change that leaves its present
demand unmet); PPBC runs inside the programme's window, in container order; PEBC stays between
the forecast and zero and narrows the envelope only when it pays or the export limit binds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builders import (
    CEM_TO_RM,
    L1,
    T0,
    Session,
    ddbc_actuator,
    ddbc_description,
    ddbc_mode,
    details,
    handshake,
    handshake_response,
    mid,
    number_range,
    select,
    timer,
    transition,
)
from s2ws.control import (
    DDBCDevice,
    DDBCView,
    ModeChange,
    PEBCDevice,
    PEBCView,
    PPBCDevice,
    PPBCView,
    limit_ranges,
    power_sequence,
)
from s2ws.messages import (
    ControlType,
    DDBCAverageDemandRateForecast,
    DDBCAverageDemandRateForecastElement,
    DDBCInstruction,
    DDBCOperationMode,
    EnergyManagementRole,
    PEBCInstruction,
    PowerForecast,
    PowerForecastElement,
    PowerForecastValue,
    PPBCPowerProfileDefinition,
    PPBCPowerSequenceContainer,
    PPBCScheduleInstruction,
)
from s2ws.messages.base import S2Message
from s2ws.plan import Planner, PriceCurve, Site, device_model

HOUR = timedelta(hours=1)
STEP = timedelta(minutes=15)
HOURS = 6

prices = st.lists(st.floats(0.05, 0.6).map(lambda p: round(p, 3)), min_size=HOURS, max_size=HOURS)


def _site(hourly: list[float], exports: list[float] | None = None, **changes: object) -> Site:
    exports = exports or [round(p / 3, 3) for p in hourly]
    rows = tuple((T0 + i * HOUR, p, e) for i, (p, e) in enumerate(zip(hourly, exports, strict=True)))
    fields: dict[str, object] = {"prices": PriceCurve(rows), "horizon": HOURS * HOUR, "time_limit_s": 20.0}
    fields.update(changes)
    return Site(**fields)  # type: ignore[arg-type]


def _session(control_type: ControlType) -> Session:
    session = Session()
    session.cem(handshake(EnergyManagementRole.CEM))
    session.rm(handshake(EnergyManagementRole.RM))
    session.cem(handshake_response())
    session.rm(details())
    session.cem(select(control_type))
    return session


def _feed(view: DDBCView | PPBCView | PEBCView, session: Session, messages: list[S2Message]) -> None:
    for message in messages:
        session.rm(message)
        view.apply(message, T0)


def _passes(session: Session, instructions: list[S2Message]) -> None:
    """No finding from the rule catalogue as the session sees it."""
    for instruction in instructions:
        assert session.check(CEM_TO_RM, instruction) == [], instruction
        session.cem(instruction)


# --- DDBC ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actuator:
    supplies: tuple[tuple[float, float], ...]
    """Supply range (W of heat) of each mode after the off mode."""
    cop: float
    edges: tuple[tuple[int, int, int | None, int | None], ...]
    """(from, to, index of the timer it starts, index of the timer that blocks it)."""
    timers: tuple[int, ...]
    active: int
    running: tuple[tuple[int, int], ...]
    """(timer index, minutes until it finishes)."""


@st.composite
def actuators(draw: st.DrawFn) -> Actuator:
    supplies = []
    for _ in range(draw(st.integers(1, 2))):
        low = draw(st.integers(0, 40)) * 100.0
        supplies.append((low, low + draw(st.integers(0, 60)) * 100.0))
    count = len(supplies) + 1
    timers = tuple(draw(st.lists(st.sampled_from([5, 15, 20, 45, 90]), max_size=2)))
    edges = []
    for a in range(count):
        for b in range(count):
            # Always a way from off to every mode and back, sometimes behind a timer.
            if a != b and (a == 0 or b == 0 or draw(st.booleans())):
                starts = draw(st.none() | st.integers(0, len(timers) - 1)) if timers else None
                blocks = draw(st.none() | st.integers(0, len(timers) - 1)) if timers else None
                edges.append((a, b, starts, blocks))
    active = draw(st.integers(0, count - 1))
    running = tuple((i, draw(st.integers(1, 120))) for i in range(len(timers)) if draw(st.booleans()))
    cop = draw(st.sampled_from([1.0, 2.5, 3.5]))
    return Actuator(tuple(supplies), cop, tuple(edges), timers, active, running)


def _ddbc_actuator(aid: str, spec: Actuator) -> object:
    modes = [ddbc_mode(f"{aid}-m0", 0, 0, supply_range=number_range(0, 0))]
    for i, (low, high) in enumerate(spec.supplies, start=1):
        modes.append(
            ddbc_mode(
                f"{aid}-m{i}",
                round(low / spec.cop, 1),
                round(high / spec.cop, 1),
                supply_range=number_range(low, high),
            )
        )
    transitions = [
        transition(
            f"{aid}-t{a}{b}",
            f"{aid}-m{a}",
            f"{aid}-m{b}",
            start=[] if s is None else [f"{aid}-timer{s}"],
            block=[] if k is None else [f"{aid}-timer{k}"],
        )
        for a, b, s, k in spec.edges
    ]
    timers = [timer(f"{aid}-timer{i}", minutes * 60_000) for i, minutes in enumerate(spec.timers)]
    return ddbc_actuator(aid, operation_modes=modes, transitions=transitions, timers=timers)


def _supply_high(device: DDBCDevice, change: ModeChange) -> float:
    """The most heat the device could give once ``change`` is carried out (all actuators)."""
    total = 0.0
    for actuator_id in device.statuses:
        ours = actuator_id == change.actuator_id
        mode_id = change.mode_id if ours else device.expected(actuator_id, change.at).mode_id
        if mode_id is None:
            continue
        mode = device.machine(actuator_id, change.at).mode(mode_id)
        assert isinstance(mode, DDBCOperationMode)
        total += max(mode.supply_range.end_of_range, 0.0)
    return total


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(actuators(), min_size=1, max_size=2),
    st.integers(0, 60).map(lambda x: x * 100.0),
    st.lists(st.integers(0, 80).map(lambda x: x * 100.0), min_size=HOURS, max_size=HOURS),
    prices,
)
def test_ddbc_plans_pass_the_rules_and_cover_the_demand(
    specs: list[Actuator], present: float, demand: list[float], hourly: list[float]
) -> None:
    ids = [f"a{i}" for i in range(len(specs))]
    description = ddbc_description(
        actuators=[_ddbc_actuator(aid, spec) for aid, spec in zip(ids, specs, strict=True)],
        present_demand_rate=number_range(present, present * 1.05),
        provides_average_demand_rate_forecast=True,
    )
    policy: list[bool] = [False]
    holder: list[DDBCDevice] = []

    def accept(change: ModeChange) -> str | None:
        # A hybrid heat pump's own rule, in force for what starts now: never below the present demand.
        if not policy[0] or change.at >= T0 + STEP:
            return None
        most = _supply_high(holder[0], change)
        return None if most >= present - 1e-6 else f"at most {most:.0f} W for {present:.0f} W"

    device = DDBCDevice(
        description,
        {aid: (f"{aid}-m{spec.active}", 0.0) for aid, spec in zip(ids, specs, strict=True)},
        demand_rate=number_range(present, present * 1.05),
        accept=accept,
    )
    holder.append(device)
    for aid, spec in zip(ids, specs, strict=True):
        for index, minutes in spec.running:
            device.timers.set(aid, f"{aid}-timer{index}", T0 + timedelta(minutes=minutes))
    forecast = DDBCAverageDemandRateForecast(
        message_id=mid(),
        start_time=T0,
        elements=[
            DDBCAverageDemandRateForecastElement(duration=int(HOUR.total_seconds() * 1000), demand_rate_expected=d)
            for d in demand
        ],
    )
    view, session = DDBCView(), _session(ControlType.DEMAND_DRIVEN_BASED_CONTROL)
    _feed(view, session, [*device.activate(T0), forecast])
    model = device_model("hybrid", view, T0)
    assert model is not None
    plan = Planner(_site(hourly, gas_price=1.2)).plan([model], T0)
    assert plan.status in ("optimal", "time_limit")

    relaxed = {r.constraint for r in plan.relaxations}
    planned = plan.devices["hybrid"]
    assert planned.rates is not None
    if "demand" not in relaxed:
        for t, start in enumerate(plan.steps):
            need = demand[int((start - T0) / HOUR)]
            if t == 0:
                need = max(need, present)
            supply = sum(planned.rates[aid][t] for aid in ids)
            assert supply >= need - 1e-3 * max(1.0, need), (t, supply, need)
        policy[0] = True

    instructions = plan.instructions("hybrid", view, T0, T0 + HOURS * HOUR)
    assert all(isinstance(i, DDBCInstruction) for i in instructions)
    _passes(session, instructions)
    for instruction in instructions:
        assert isinstance(instruction, DDBCInstruction)
        decision = device.receive(instruction, T0)
        assert decision.accepted, (instruction, decision.reason)
    # What the device will do is what was planned.
    steps = planned.modes
    assert steps is not None
    for start_index, start in enumerate(plan.steps):
        for aid in ids:
            assert device.expected(aid, start).mode_id == steps[aid][start_index].mode_id


# --- PPBC ----------------------------------------------------------------------------------------


@st.composite
def programmes(draw: st.DrawFn) -> PPBCPowerProfileDefinition:
    containers = []
    total = timedelta(0)
    for c in range(draw(st.integers(1, 3))):
        sequences = []
        longest = timedelta(0)
        for s in range(draw(st.integers(1, 2))):
            phases = [
                (timedelta(minutes=draw(st.sampled_from([10, 15, 30, 45]))), float(draw(st.integers(1, 30)) * 100))
                for _ in range(draw(st.integers(1, 3)))
            ]
            pause = draw(st.none() | st.sampled_from([timedelta(0), timedelta(minutes=20), HOUR]))
            sequences.append(
                power_sequence(
                    f"c{c}s{s}",
                    phases,
                    is_interruptible=draw(st.booleans()),
                    max_pause_before=None if c == 0 else pause,
                )
            )
            longest = max(longest, sum((d for d, _ in phases), timedelta(0)))
        containers.append(PPBCPowerSequenceContainer(id=f"c{c}", power_sequences=sequences))
        total += longest
    opens = T0 + draw(st.integers(0, 8)) * STEP
    closes = opens + total + draw(st.integers(0, 12)) * STEP
    return PPBCPowerProfileDefinition(
        message_id=mid(), id="programme", start_time=opens, end_time=closes, power_sequences_containers=containers
    )


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programmes(), prices)
def test_ppbc_plans_pass_the_rules_and_run_inside_the_window(
    definition: PPBCPowerProfileDefinition, hourly: list[float]
) -> None:
    device = PPBCDevice(definition)
    view, session = PPBCView(), _session(ControlType.POWER_PROFILE_BASED_CONTROL)
    _feed(view, session, device.activate(T0))
    model = device_model("washer", view, T0)
    assert model is not None
    plan = Planner(_site(hourly)).plan([model], T0)
    assert plan.status in ("optimal", "time_limit")
    instructions = plan.instructions("washer", view, T0, T0 + HOURS * HOUR)
    assert all(isinstance(i, PPBCScheduleInstruction) for i in instructions)
    _passes(session, instructions)
    for instruction in instructions:
        assert isinstance(instruction, PPBCScheduleInstruction)
        decision = device.receive(instruction, T0)
        assert decision.accepted, (instruction, decision.reason)

    planned = plan.devices["washer"].sequences
    assert planned is not None
    if not plan.relaxations:  # every container placed: the window closes inside the horizon
        assert [s.container_id for s in planned] == [c.id for c in definition.power_sequences_containers]
    sequences = {s.id: s for c in definition.power_sequences_containers for s in c.power_sequences}
    previous_end = definition.start_time
    for item in planned:
        duration = timedelta(milliseconds=sum(e.duration for e in sequences[item.sequence_id].elements))
        assert item.start >= previous_end
        assert item.start + duration <= definition.end_time
        previous_end = item.start + duration


# --- PEBC ----------------------------------------------------------------------------------------


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(1, 8).map(lambda x: x * 1000.0),
    st.lists(st.integers(0, 80).map(lambda x: x * 100.0), min_size=HOURS, max_size=HOURS),
    st.lists(st.sampled_from([-0.05, 0.0, 0.04, 0.1]), min_size=HOURS, max_size=HOURS),
    st.none() | st.integers(0, 6).map(lambda x: x * 1000.0),
    st.sampled_from([((-8000.0, 0.0),), ((-8000.0, -3000.0), (-1000.0, 0.0))]),
)
def test_pebc_plans_pass_the_rules_and_curtail_only_when_it_pays(
    peak: float,
    production: list[float],
    exports: list[float],
    export_limit: float | None,
    lower: tuple[tuple[float, float], ...],
) -> None:
    device = PEBCDevice(limit_ranges(L1, upper=[(0.0, 0.0)], lower=lower))
    view, session = PEBCView(), _session(ControlType.POWER_ENVELOPE_BASED_CONTROL)
    _feed(view, session, device.activate(T0))
    forecast_w = [-min(p, peak) for p in production]
    forecast = PowerForecast(
        message_id=mid(),
        start_time=T0,
        elements=[
            PowerForecastElement(
                duration=int(HOUR.total_seconds() * 1000),
                power_values=[PowerForecastValue(value_expected=w, commodity_quantity=L1)],
            )
            for w in forecast_w
        ],
    )
    model = device_model("pv", view, T0, forecast=forecast)
    assert model is not None
    plan = Planner(_site([0.3] * HOURS, exports, export_limit_w=export_limit)).plan([model], T0)
    assert plan.status in ("optimal", "time_limit")
    planned = plan.devices["pv"]
    for t, start in enumerate(plan.steps):
        hour = int((start - T0) / HOUR)
        power, expected = planned.power_w[t], forecast_w[hour]
        assert expected - 1e-6 <= power <= 1e-6  # between the forecast and nothing
        if exports[hour] >= 0 and (export_limit is None or -expected <= export_limit):
            assert abs(power - expected) < 1.0, (t, power, expected)  # nothing to gain by curtailing

    instructions = plan.instructions("pv", view, T0, T0 + HOURS * HOUR)
    assert all(isinstance(i, PEBCInstruction) for i in instructions)
    _passes(session, instructions)
    for instruction in instructions:
        assert isinstance(instruction, PEBCInstruction)
        decision = device.receive(instruction, T0)
        assert decision.accepted, (instruction, decision.reason)
        # The envelope holds the device at least as far back as planned (the safe side of the limit).
        (envelope,) = instruction.power_envelopes
        moment = instruction.execution_time
        for element in envelope.power_envelope_elements:
            index = plan.step_index(moment)
            assert index is not None
            assert element.lower_limit >= planned.power_w[index] - 1e-6
            assert element.lower_limit <= element.upper_limit
            moment += timedelta(milliseconds=element.duration)
