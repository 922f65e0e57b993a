"""Properties of plans for generated FRBC and OMBC descriptions.

Every instruction a plan yields passes the view's preflight (it is built through the view) and
the rule catalogue as a session would judge it (a SessionContext fed the same history); a
storage run as planned stays inside its fill-level range unless the plan names that relaxation;
targets that cannot be met give a plan with named relaxations, not an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rule_fixtures import (
    CEM_TO_RM,
    T0,
    Session,
    details,
    frbc_actuator,
    frbc_description,
    frbc_element,
    frbc_mode,
    frbc_status,
    frbc_timer,
    handshake,
    handshake_response,
    number_range,
    ombc_description,
    ombc_mode,
    ombc_status,
    ombc_timer,
    power_range,
    select,
    storage,
    storage_status,
    timer,
    transition,
)
from s2ws.control import FRBCView, OMBCView
from s2ws.messages import (
    ControlType,
    EnergyManagementRole,
    FRBCFillLevelTargetProfile,
    FRBCFillLevelTargetProfileElement,
    FRBCInstruction,
    OMBCInstruction,
    Timer,
    Transition,
)
from s2ws.messages.base import S2Message
from s2ws.plan import Plan, Planner, PriceCurve, Site, device_model

HOUR = timedelta(hours=1)
MS = timedelta(milliseconds=1)


@dataclass(frozen=True)
class ModeSpec:
    name: str
    power: tuple[float, float]
    rate: tuple[float, float]


@dataclass(frozen=True)
class Machine:
    modes: tuple[ModeSpec, ...]
    edges: tuple[tuple[int, int, int | None, int | None], ...]
    """(from, to, index of the timer it starts, index of the timer that blocks it)."""
    timers: tuple[int, ...]
    """Timer durations in minutes."""
    active: int
    running: tuple[tuple[int, int], ...]
    """(timer index, minutes until it finishes)."""


@st.composite
def machines(draw: st.DrawFn, *, frbc: bool) -> Machine:
    count = draw(st.integers(2, 4))
    modes = [ModeSpec("m0", (0.0, 0.0), (0.0, 0.0))]  # an idle mode
    for i in range(1, count):
        low = draw(st.floats(-5000, 5000, allow_nan=False).map(lambda x: round(x, -1)))
        high = draw(st.floats(-5000, 5000, allow_nan=False).map(lambda x: round(x, -1)))
        # fill rate in %/s, proportional to power (a storage of 5..20 kWh)
        scale = draw(st.sampled_from([0.5, 1.0, 2.0])) * 100 / 36e6 / 10
        modes.append(ModeSpec(f"m{i}", (low, high), (low * scale, high * scale) if frbc else (0.0, 0.0)))
    timers = tuple(draw(st.lists(st.sampled_from([5, 15, 20, 45, 90]), max_size=2)))
    edges = []
    for a in range(count):
        for b in range(count):
            if a != b and draw(st.booleans()):
                starts = draw(st.none() | st.integers(0, len(timers) - 1)) if timers else None
                blocks = draw(st.none() | st.integers(0, len(timers) - 1)) if timers else None
                edges.append((a, b, starts, blocks))
    active = draw(st.integers(0, count - 1))
    running = tuple((i, draw(st.integers(1, 120))) for i in range(len(timers)) if draw(st.booleans()))
    return Machine(tuple(modes), tuple(edges), timers, active, running)


def _transitions(machine: Machine) -> tuple[list[Transition], list[Timer]]:
    transitions = [
        transition(
            f"t{a}{b}",
            f"m{a}",
            f"m{b}",
            start=[] if s is None else [f"timer{s}"],
            block=[] if k is None else [f"timer{k}"],
        )
        for a, b, s, k in machine.edges
    ]
    timers = [timer(f"timer{i}", minutes * 60_000) for i, minutes in enumerate(machine.timers)]
    return transitions, timers


prices = st.lists(st.floats(0.05, 0.6).map(lambda p: round(p, 3)), min_size=6, max_size=6)


def _site(hourly: list[float]) -> Site:
    rows = tuple((T0 + i * HOUR, p, round(p / 3, 3)) for i, p in enumerate(hourly))
    return Site(prices=PriceCurve(rows), horizon=6 * HOUR, time_limit_s=20.0, import_limit_w=20000.0)


def _accepted(session: Session, instructions: list[S2Message]) -> None:
    for instruction in instructions:
        assert session.check(CEM_TO_RM, instruction) == [], instruction
        session.cem(instruction)


def _frbc_session(machine: Machine, level: float) -> tuple[FRBCView, Session, list[S2Message]]:
    transitions, timers = _transitions(machine)
    modes = [
        frbc_mode(
            m.name,
            [frbc_element(0, 100, [power_range(*m.power)], fill_rate=number_range(*m.rate))],
        )
        for m in machine.modes
    ]
    description = frbc_description(
        actuators=[frbc_actuator("act1", operation_modes=modes, transitions=transitions, timers=timers)],
        storage=storage(provides_leakage_behaviour=False, provides_usage_forecast=False),
    )
    history: list[S2Message] = [
        description,
        frbc_status(f"m{machine.active}", 0.0),
        storage_status(level),
        *(frbc_timer(f"timer{i}", T0 + timedelta(minutes=m)) for i, m in machine.running),
    ]
    return FRBCView(), _session(ControlType.FILL_RATE_BASED_CONTROL), history


def _session(control_type: ControlType) -> Session:
    session = Session()
    session.cem(handshake(EnergyManagementRole.CEM))
    session.rm(handshake(EnergyManagementRole.RM))
    session.cem(handshake_response())
    session.rm(details())
    session.cem(select(control_type))
    return session


def _feed(view: FRBCView | OMBCView, session: Session, history: list[S2Message]) -> None:
    for message in history:
        session.rm(message)
        view.apply(message, T0)


def _run(plan: Plan, machine: Machine, level: float) -> list[float]:
    """The storage as the plan runs it, minute by minute: rate of the element for the level."""
    device = plan.devices["dev"]
    assert device.modes is not None
    levels = [level]
    spec = {m.name: m for m in machine.modes}
    for t, step in enumerate(device.modes["act1"]):
        mode = spec[step.mode_id]
        rate = mode.rate[0] + step.factor * (mode.rate[1] - mode.rate[0])
        seconds = plan.step_seconds[t]
        for _ in range(int(seconds // 60)):
            level += rate * 60
            levels.append(level)
    return levels


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(machines(frbc=True), st.floats(0, 100).map(lambda x: round(x, 2)), prices)
def test_frbc_plans_pass_the_rules_and_keep_the_storage_in_range(
    machine: Machine, level: float, hourly: list[float]
) -> None:
    view, session, history = _frbc_session(machine, level)
    _feed(view, session, history)
    model = device_model("dev", view, T0)
    assert model is not None
    plan = Planner(_site(hourly)).plan([model], T0)
    assert plan.status in ("optimal", "time_limit")
    instructions = plan.instructions("dev", view, T0, T0 + 6 * HOUR)
    assert all(isinstance(i, FRBCInstruction) for i in instructions)
    _accepted(session, instructions)
    relaxed = {r.constraint for r in plan.relaxations}
    if not relaxed & {"fill_level_range.low", "fill_level_range.high"}:
        levels = _run(plan, machine, level)
        assert min(levels) >= -1e-6 and max(levels) <= 100 + 1e-6


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(machines(frbc=False), prices)
def test_ombc_plans_pass_the_rules(machine: Machine, hourly: list[float]) -> None:
    transitions, timers = _transitions(machine)
    description = ombc_description(
        operation_modes=[ombc_mode(m.name, *m.power) for m in machine.modes], transitions=transitions, timers=timers
    )
    history: list[S2Message] = [
        description,
        ombc_status(f"m{machine.active}", 0.0),
        *(ombc_timer(f"timer{i}", T0 + timedelta(minutes=m)) for i, m in machine.running),
    ]
    view, session = OMBCView(), _session(ControlType.OPERATION_MODE_BASED_CONTROL)
    _feed(view, session, history)
    model = device_model("dev", view, T0)
    assert model is not None
    plan = Planner(_site(hourly)).plan([model], T0)
    instructions = plan.instructions("dev", view, T0, T0 + 6 * HOUR)
    assert all(isinstance(i, OMBCInstruction) for i in instructions)
    _accepted(session, instructions)
    # What was sent is what was planned: replaying the instructions gives the planned modes.
    steps = plan.devices["dev"].modes
    assert steps is not None
    for t, start in enumerate(plan.steps):
        expected = view.expected("", start)
        assert expected.mode_id == steps[""][t].mode_id


def test_a_target_out_of_reach_gives_a_plan_with_a_named_relaxation() -> None:
    # 1 kW into a 10 kWh storage from 10 %: at most 20 % more in two hours, yet 90 % is asked.
    rate = 1000 / 36e6 * 100 / 10 * 10
    modes = [
        frbc_mode("m0", [frbc_element(0, 100, [power_range(0, 0)], fill_rate=number_range(0, 0))]),
        frbc_mode("m1", [frbc_element(0, 100, [power_range(0, 1000)], fill_rate=number_range(0, rate))]),
    ]
    description = frbc_description(
        actuators=[
            frbc_actuator(
                "act1",
                operation_modes=modes,
                transitions=[transition("t01", "m0", "m1"), transition("t10", "m1", "m0")],
                timers=[],
            )
        ],
        storage=storage(provides_leakage_behaviour=False, provides_usage_forecast=False),
    )
    target = FRBCFillLevelTargetProfile(
        message_id="target",
        start_time=T0 + 2 * HOUR,
        elements=[FRBCFillLevelTargetProfileElement(duration=int(HOUR / MS), fill_level_range=number_range(90, 100))],
    )
    view = FRBCView()
    for message in (description, frbc_status("m0", 0.0), storage_status(10.0), target):
        view.apply(message, T0)
    model = device_model("ev", view, T0)
    assert model is not None
    plan = Planner(_site([0.3] * 6)).plan([model], T0)
    device = plan.devices["ev"]
    assert device.fill_level is not None and device.modes is not None
    assert {s.mode_id for s in device.modes["act1"][:8]} == {"m1"}  # it does what it can
    assert device.fill_level[8] == pytest.approx(30.0, abs=1e-6)
    (relaxation,) = [r for r in plan.relaxations if r.constraint == "fill_level_target.low"]
    assert relaxation.device == "ev" and relaxation.amount == pytest.approx(60.0, abs=1e-6)
    assert "90" in relaxation.reason and "cannot reach" in relaxation.reason
