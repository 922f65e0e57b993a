"""A peer's durations and timestamps at the edges of the schema (0 and 2**63 - 1 ms, instants of
0001-01-01 and 9999-12-31T23:59:59.999999, with offsets either way) are judged everywhere a peer
can reach, never raised on: the rule context, the CEM's views and planner, the RM's devices, both
session engines, replay, the web monitor, the live log and the simulators.

Every session below is a sane one from ``builders`` in which hypothesis pushes any duration or
timestamp to an edge (``strategies.at_the_edges``), so the messages stay schema-valid and keep
referring to each other.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builders import (
    CEM_TO_RM,
    L1,
    MINUTE,
    RM_TO_CEM,
    T0,
    Pair,
    Session,
    at,
    container,
    ddbc_description,
    ddbc_instruction,
    ddbc_status,
    ddbc_timer,
    demand_forecast,
    details,
    energy_constraint,
    envelope,
    forecast,
    forecast_value,
    frame,
    frbc_description,
    frbc_instruction,
    frbc_status,
    frbc_timer,
    ids,
    leakage,
    ombc_description,
    ombc_instruction,
    ombc_status,
    ombc_timer,
    pebc_instruction,
    power_constraints,
    ppbc_instruction,
    profile,
    profile_status,
    select,
    sequence,
    status_update,
    storage_status,
    target_profile,
    timer,
    usage_forecast,
)
from s2ws.app.live_log import LiveLog
from s2ws.app.observe import Frame
from s2ws.codec import encode
from s2ws.control import (
    DDBCDevice,
    DDBCView,
    FRBCDevice,
    FRBCView,
    OMBCDevice,
    OMBCView,
    PEBCDevice,
    PEBCView,
    PPBCDevice,
    PPBCView,
    limit_ranges,
)
from s2ws.errors import InvalidContent, S2Error
from s2ws.messages import (
    ControlType,
    InstructionStatus,
    PEBCInstruction,
    PEBCPowerEnvelope,
    PEBCPowerEnvelopeElement,
    PowerForecast,
    PPBCPowerProfileDefinition,
    PPBCPowerSequence,
    PPBCPowerSequenceElement,
    PPBCStartInterruptionInstruction,
    ReceptionStatusValues,
    RevokableObjects,
    RevokeObject,
)
from s2ws.messages.base import S2Message, new_id
from s2ws.plan import Planner, PriceCurve, Site, device_model
from s2ws.rules import SessionContext, ensure_valid_outgoing
from s2ws.rules.replay import replay
from s2ws.sim import DEVICES, PVParams, PVSim
from s2ws.web.monitor import Monitor
from strategies import at_the_edges

SETTINGS = settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
FRBC = ControlType.FILL_RATE_BASED_CONTROL
OMBC = ControlType.OPERATION_MODE_BASED_CONTROL
DDBC = ControlType.DEMAND_DRIVEN_BASED_CONTROL
PEBC = ControlType.POWER_ENVELOPE_BASED_CONTROL
PPBC = ControlType.POWER_PROFILE_BASED_CONTROL
CONTROL_TYPES = st.sampled_from([FRBC, OMBC, DDBC, PEBC, PPBC])
LAST = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
FAR = datetime(9000, 1, 1, tzinfo=UTC)
"""Ticks go no further: past it a device would be asked about a moment no clock reaches."""


def _rm_messages(ct: ControlType) -> list[S2Message]:
    """What the RM publishes under ``ct``: descriptions, statuses, timers, forecasts."""
    if ct is FRBC:
        return [
            frbc_description(),
            frbc_status("off"),
            storage_status(40),
            leakage(),
            usage_forecast(),
            target_profile(),
            frbc_timer("min-off"),
            forecast(),
        ]
    if ct is OMBC:
        return [ombc_description(), ombc_status("off"), ombc_timer("min-off"), forecast()]
    if ct is DDBC:
        return [ddbc_description(), ddbc_status("off"), ddbc_timer("min-off"), demand_forecast(), forecast()]
    if ct is PEBC:
        return [power_constraints(), energy_constraint(), forecast()]
    two = container("c2", [sequence("s3", (30,), max_pause_before=10 * MINUTE, interruptible=True)])
    return [profile(power_sequences_containers=[profile().power_sequences_containers[0], two]), profile_status()]


def _instructions(ct: ControlType) -> list[S2Message]:
    """What the CEM sends under ``ct``: instructions that fit the RM's messages above."""
    if ct is FRBC:
        return [frbc_instruction("on"), frbc_instruction("off", 0.0, execution_time=at(30))]
    if ct is OMBC:
        return [ombc_instruction("on"), ombc_instruction("off", 0.0, execution_time=at(30))]
    if ct is DDBC:
        return [ddbc_instruction("on"), ddbc_instruction("off", 0.0, execution_time=at(30))]
    if ct is PEBC:
        return [pebc_instruction(), pebc_instruction([envelope("env-2", ((0, 3000), (0, 2000)), minutes=30)])]
    return [
        ppbc_instruction(start=at(10)),
        ppbc_instruction(PPBCStartInterruptionInstruction, start=at(20)),
        ppbc_instruction(container_id="c2", sequence_id="s3", start=at(45)),
    ]


def _edged(data: st.DataObject, messages: list[S2Message]) -> list[S2Message]:
    return [data.draw(at_the_edges(m)) for m in messages]


def _session(data: st.DataObject, ct: ControlType) -> list[tuple[str, S2Message]]:
    """(direction, message) after the handshake: details, selection, what the RM publishes, then
    each instruction followed by the RM's ACCEPTED; every duration and timestamp maybe at an edge."""
    out: list[tuple[str, S2Message]] = [
        (RM_TO_CEM, data.draw(at_the_edges(details()))),
        (CEM_TO_RM, select(ct)),
    ]
    out += [(RM_TO_CEM, m) for m in _edged(data, _rm_messages(ct))]
    for instruction in _edged(data, _instructions(ct)):
        out.append((CEM_TO_RM, instruction))
        update = status_update(getattr(instruction, "id"), InstructionStatus.ACCEPTED)  # noqa: B009
        out.append((RM_TO_CEM, data.draw(at_the_edges(update))))
    return out


def _refused_or_done(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run one query or builder: a refusal (an S2Error) is an answer, anything else raised fails."""
    try:
        return call(*args, **kwargs)
    except S2Error as refusal:
        assert str(refusal)
        return None


# --- the rule context ------------------------------------------------------------------------


def test_a_sequence_longer_than_the_calendar_is_refused_by_its_window_rule() -> None:
    """The CI failure: durations summing past year 9999 made the schedule check raise OverflowError."""
    element = PPBCPowerSequenceElement(duration=251_677_792_800_000, power_values=[forecast_value(1000.0)])
    long = PPBCPowerSequence(id="s-long", elements=[element], is_interruptible=False, abnormal_condition_only=False)
    definition = profile(power_sequences_containers=[container("c1", [long])])
    session = Session().handshake()
    session.rm(details())
    session.cem(select(PPBC))
    session.rm(definition)
    for execution_time in (at(10), datetime(2000, 1, 1, tzinfo=UTC), LAST):
        instruction = ppbc_instruction(sequence_id="s-long", start=execution_time)
        found = session.context.check(instruction, CEM_TO_RM, session.now)
        assert "S2-PPBC-014" in ids(found), found
        assert all(f.diagnostic.startswith(f.rule + " at /") for f in found)


def test_an_envelope_longer_than_the_calendar_runs_past_valid_until() -> None:
    session = Session().handshake()
    session.rm(details())
    session.cem(select(PEBC))
    session.rm(power_constraints())
    endless = PEBCPowerEnvelopeElement(duration=2**63 - 1, lower_limit=0.0, upper_limit=3000.0)
    instruction = pebc_instruction(
        [PEBCPowerEnvelope(id="env-endless", commodity_quantity=L1, power_envelope_elements=[endless, endless])]
    )
    found = session.context.check(instruction, CEM_TO_RM, session.now)
    assert ids(found) == ["S2-PEBC-017"]
    assert "9999-12-31T23:59:59.999999Z" in found[0].reason


def test_a_timer_longer_than_the_calendar_blocks_its_transitions_for_good() -> None:
    session = Session().handshake()
    session.rm(details())
    session.cem(select(OMBC))
    session.rm(ombc_description(timers=[timer("min-on", 2**63 - 1), timer("min-off", 0)]))
    session.rm(ombc_status("off"))
    on = session.cem(ombc_instruction("on", execution_time=at(1)))
    session.rm(status_update(on.id, InstructionStatus.ACCEPTED))
    found = session.context.check(ombc_instruction("off", 0.0, execution_time=at(30)), CEM_TO_RM, session.now)
    assert ids(found) == ["S2-OMBC-015"]
    assert "blocked by timer min-on until 9999-12-31T23:59:59.999999Z" in found[0].reason


@SETTINGS
@given(ct=CONTROL_TYPES, data=st.data())
def test_the_rule_context_judges_extreme_times(ct: ControlType, data: st.DataObject) -> None:
    session = Session().handshake()
    for direction, message in _session(data, ct):
        for found in session.context.check(message, direction, session.now):
            assert found.diagnostic.startswith(found.rule + " at /")
        if direction == CEM_TO_RM:
            try:
                ensure_valid_outgoing(message, session.context, session.now)
            except InvalidContent as refused:
                assert refused.diagnostic.startswith(refused.rule)
        session.send(direction, message)


# --- the CEM's views and the planner -----------------------------------------------------------

VIEWS: dict[ControlType, Callable[[], Any]] = {
    FRBC: FRBCView,
    OMBC: OMBCView,
    DDBC: DDBCView,
    PEBC: PEBCView,
    PPBC: PPBCView,
}


def _query(view: Any, ct: ControlType, instructions: list[S2Message], now: datetime) -> None:
    """Every query and builder a CEM would call on the view, with our own ``now``."""
    soon = now + timedelta(minutes=1)
    if ct in (FRBC, DDBC):
        _refused_or_done(view.reachable_modes, "act1", now)
        _refused_or_done(view.expected, "act1", now)
        for mode in ("off", "on"):
            _refused_or_done(view.instruct, "act1", mode, 0.5, soon, now)
        if ct is FRBC:
            view.usage_rate_at(now)
            view.target_at(now)
            _refused_or_done(view.leakage_rate)
        else:
            view.demand_rate_at(now)
            view.present_demand_rate(now)
    elif ct is OMBC:
        _refused_or_done(view.reachable_modes, now)
        _refused_or_done(view.expected, "", now)
        _refused_or_done(view.instruct, "on", 0.5, soon, now)
    elif ct is PEBC:
        for instruction in instructions:
            assert isinstance(instruction, PEBCInstruction)
            for problem in view.check(instruction, now):
                assert problem.rule and problem.reason
        view.allowed_limits(L1, now)
        _refused_or_done(view.cap, L1, now, now, timedelta(hours=1), lower=-2500.0)
    else:
        for definition in view.profiles():
            for option in _refused_or_done(view.feasible_schedules, definition.id, now) or []:
                for choice in option.options:
                    start = max(choice.earliest_start, now)
                    _refused_or_done(view.schedule, definition.id, option.container_id, choice.sequence_id, start, now)


@settings(SETTINGS, max_examples=25)
@given(ct=CONTROL_TYPES, data=st.data())
def test_the_views_and_the_planner_take_extreme_times(ct: ControlType, data: st.DataObject) -> None:
    view = VIEWS[ct]()
    messages = _session(data, ct)
    power_forecast = next((m for _, m in messages if isinstance(m, PowerForecast)), None)
    instructions = [m for d, m in messages if d == CEM_TO_RM and m.__struct_config__.tag != "SelectControlType"]
    for direction, message in messages:
        if direction == RM_TO_CEM or ct is PPBC:
            view.apply(message, T0)
    _query(view, ct, instructions, T0)
    model = device_model("rm-1", view, T0, forecast=power_forecast)
    if model is None:
        return  # nothing in force at T0 (a description valid only from year 9999, say)
    prices = PriceCurve(((T0, 0.3, 0.1),))
    plan = Planner(Site(prices=prices, horizon=timedelta(hours=2), time_limit_s=20)).plan([model], T0)
    assert plan.status in ("optimal", "time_limit", "no_solution")
    assert all(r.reason for r in plan.relaxations)
    for message in _refused_or_done(plan.instructions, "rm-1", view, T0, T0 + timedelta(hours=1)) or []:
        encode(message)


# --- the RM's devices ---------------------------------------------------------------------------


def _device(ct: ControlType, rm_messages: list[S2Message]) -> Any:
    first = rm_messages[0]
    if ct is FRBC:
        return FRBCDevice(first, {"act1": ("off", 0.0)}, fill_level=40.0)  # type: ignore[arg-type]
    if ct is OMBC:
        return OMBCDevice(first, "off")  # type: ignore[arg-type]
    if ct is DDBC:
        return DDBCDevice(first, {"act1": ("off", 0.0)})  # type: ignore[arg-type]
    if ct is PEBC:
        return PEBCDevice(limit_ranges(L1, upper=[(0, 5000)], lower=[(-4000, 0)]), valid_for=timedelta(days=1))
    assert isinstance(first, PPBCPowerProfileDefinition)
    return PPBCDevice(first)


def _ticks(device: Any, now: datetime) -> None:
    """Let time pass as the RM's clock would: now, an hour on, and each wake-up it asks for."""
    for moment in (now, now + timedelta(hours=1)):
        for message in device.tick(moment):
            encode(message)
    for _ in range(5):
        wakeup = device.next_wakeup()
        if wakeup is None or wakeup > FAR or wakeup < now:
            return
        for message in device.tick(wakeup):
            encode(message)
        now = wakeup


@SETTINGS
@given(ct=CONTROL_TYPES, data=st.data())
def test_the_devices_judge_extreme_instructions(ct: ControlType, data: st.DataObject) -> None:
    published = _edged(data, _rm_messages(ct))
    try:
        device = _device(ct, published)
    except S2Error:
        device = _device(ct, _rm_messages(ct))  # the RM's own description is its own to get right
    for message in device.activate(T0):
        encode(message)
    pebc_id = next((m.id for m in device.activate(T0) if m.__struct_config__.tag == "PEBC.PowerConstraints"), None)
    for instruction in _edged(data, _instructions(ct)):
        if pebc_id is not None:
            instruction = type(instruction)(**{**_fields(instruction), "power_constraints_id": pebc_id})
        try:
            answers = device.handle(instruction, T0)
        except InvalidContent as refused:  # strict devices answer INVALID_CONTENT
            assert refused.diagnostic.startswith(refused.rule)
            continue
        for message in answers:
            encode(message)
        _ticks(device, T0)
    revoke = RevokeObject(message_id=new_id(), object_type=_revokable(ct), object_id="instr-unknown")
    _refused_or_done(device.handle, revoke, T0)


def _fields(message: S2Message) -> dict[str, Any]:
    return {f: getattr(message, f) for f in message.__struct_fields__}


def _revokable(ct: ControlType) -> RevokableObjects:
    return {
        FRBC: RevokableObjects.FRBC_Instruction,
        OMBC: RevokableObjects.OMBC_Instruction,
        DDBC: RevokableObjects.DDBC_Instruction,
        PEBC: RevokableObjects.PEBC_Instruction,
        PPBC: RevokableObjects.PPBC_ScheduleInstruction,
    }[ct]


# --- both session engines, then replay, the web monitor and the live log -----------------------


OK = ReceptionStatusValues.OK.value
INVALID_CONTENT = ReceptionStatusValues.INVALID_CONTENT.value


def _answers(frames: list[str]) -> list[dict[str, Any]]:
    return [d for d in (json.loads(f) for f in frames) if d["message_type"] == "ReceptionStatus"]


@SETTINGS
@given(ct=CONTROL_TYPES, data=st.data())
def test_both_engines_replay_monitor_and_live_log_take_extreme_frames(ct: ControlType, data: st.DataObject) -> None:
    pair = Pair.create(cem={"checker": SessionContext()}, rm={"checker": SessionContext()})
    pair.start()
    for direction, message in _session(data, ct):
        receiver = pair.rm if direction == CEM_TO_RM else pair.cem
        text = frame(message)
        pair.transcript.append((direction, text))
        receiver.receive(text, pair.clock.now)
        written = receiver.data_to_send()
        answers = [a for a in _answers(written) if a["subject_message_id"] == getattr(message, "message_id")]  # noqa: B009
        assert len(answers) == 1, (message, written)
        # Every frame is schema-valid: it is either fine or breaks a numbered rule, never an internal error.
        assert answers[0]["status"] in (OK, INVALID_CONTENT), answers[0]
        assert answers[0]["status"] == OK or answers[0]["diagnostic_label"].startswith("S2-"), answers[0]
        back = RM_TO_CEM if direction == CEM_TO_RM else CEM_TO_RM
        pair.transcript.extend((back, w) for w in written)
        sender = pair.cem if direction == CEM_TO_RM else pair.rm
        for w in written:  # the sender hears its answers
            sender.receive(w, pair.clock.now)
        sender.data_to_send()
        pair.collect()
    _observe(pair.transcript, data)


def _observe(transcript: list[tuple[str, str]], data: st.DataObject) -> None:
    """Replay, the web monitor and the live log over a transcript whose clock may sit at an edge too."""
    t = data.draw(st.sampled_from([T0, LAST, datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))]), label="t")
    lines = [json.dumps({"t": t.isoformat(), "dir": d, "session": "s-1", "text": text}) for d, text in transcript]
    for finding in replay(lines):
        assert finding.rule and finding.reason
    monitor = Monitor(clock=lambda: T0)
    log_text = io.StringIO()
    live = LiveLog(log_text, clock=lambda: T0)
    for observer in (monitor, live):
        observer.session_started("s-1", "CEM", None)
    for d, text in transcript:
        for observer in (monitor, live):
            observer.frame(Frame(t, "s-1", d, text, outgoing=d == CEM_TO_RM))  # type: ignore[arg-type]
        live.tick(T0 + timedelta(seconds=5))
    json.dumps(monitor.energy())
    json.dumps(monitor.device_rows())
    json.dumps(monitor.session_rows())
    assert monitor.transcript("s-1").count("\n") == len(transcript)
    for observer in (monitor, live):
        observer.session_ended("s-1", "done")
    live.tick(T0 + timedelta(minutes=1))
    assert log_text.getvalue()


# --- the simulators -------------------------------------------------------------------------------


def _instruction_for(published: list[S2Message], now: datetime) -> list[S2Message]:
    """An instruction for a simulator's own description: its first mode, its constraints, its
    first container's first sequence (the moments and durations are pushed to the edges later)."""
    out: list[S2Message] = []
    for message in published:
        tag = message.__struct_config__.tag
        m: Any = message
        if tag == "FRBC.SystemDescription":
            actuator = m.actuators[0]
            mode = actuator.operation_modes[-1].id
            out.append(frbc_instruction(mode, 1.0, actuator=actuator.id, execution_time=now))
        elif tag == "DDBC.SystemDescription":
            actuator = m.actuators[0]
            out.append(ddbc_instruction(actuator.operation_modes[-1].Id, 1.0, actuator=actuator.id, execution_time=now))
        elif tag == "OMBC.SystemDescription":
            out.append(ombc_instruction(m.operation_modes[-1].id, 1.0, execution_time=now))
        elif tag == "PEBC.PowerConstraints":
            quantity = m.allowed_limit_ranges[0].commodity_quantity
            out.append(pebc_instruction([envelope("env-sim", ((0, 0),), cq=quantity)], power_constraints_id=m.id))
        elif tag == "PPBC.PowerProfileDefinition":
            first = m.power_sequences_containers[0]
            out.append(
                ppbc_instruction(
                    power_profile_id=m.id,
                    container_id=first.id,
                    sequence_id=first.power_sequences[0].id,
                    start=max(now, m.start_time),
                )
            )
    return out


@settings(SETTINGS, max_examples=40)
@given(name=st.sampled_from(sorted(DEVICES)), data=st.data())
def test_the_simulators_take_extreme_instructions(name: str, data: st.DataObject) -> None:
    sim = DEVICES[name](now=T0)
    ct = data.draw(st.sampled_from(sim.control_types), label="control type")
    published = sim.on_select(ct, T0)
    for instruction in _edged(data, _instruction_for(published, T0)):
        try:
            answers = sim.handle(instruction, T0)
        except InvalidContent as refused:
            assert refused.diagnostic.startswith(refused.rule)
            continue
        for message in answers:
            encode(message)
    for minutes in (1, 60, 24 * 60):
        for message in sim.tick(T0 + timedelta(minutes=minutes)):
            encode(message)


@SETTINGS
@given(data=st.data())
def test_the_stand_alone_pv_takes_extreme_envelopes(data: st.DataObject) -> None:
    pv = PVSim(PVParams())
    instruction = pebc_instruction(
        [envelope("env-pv", ((-1000, 0), (-2000, 0)), minutes=30)], power_constraints_id=pv.constraints_id
    )
    edged = data.draw(at_the_edges(instruction))
    assert pv.apply(edged, T0) is None
    for minutes in (0, 30, 90):
        pv.power_w(T0 + timedelta(minutes=minutes))
