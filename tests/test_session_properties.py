"""Totality of the engine: whatever frames, sends and timeouts arrive in whatever order, nothing
escapes but documented events, every frame that is not a ReceptionStatus gets exactly one
ReceptionStatus, everything written is schema-valid, and memory stays within its caps."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from datetime import timedelta
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from builders import (
    CEM,
    RM,
    T0,
    actuator_status,
    energy_constraint_from_t0,
    frbc_instruction_om1,
    frbc_system_description,
    power_measurement,
    rm_details,
    status_update,
    storage_status,
)
from s2ws.codec import encode, get_codec
from s2ws.errors import InvalidContent, PermanentError, S2Error, TemporaryError
from s2ws.messages import (
    ID_MATCH_PATTERN,
    ControlType,
    EnergyManagementRole,
    Handshake,
    HandshakeResponse,
    InstructionStatus,
    Phase,
    ReceptionStatus,
    ReceptionStatusValues,
    RevokableObjects,
    RevokeObject,
    S2Message,
    SelectControlType,
    SessionRequest,
    SessionRequestType,
)
from s2ws.session import EVENT_TYPES, NIL_ID, RetryPolicy, Session, SessionClosed

MAX_OUTSTANDING = 6
MAX_REMEMBERED = 8
_ID = re.compile(ID_MATCH_PATTERN)

ids = st.sampled_from(["m1", "m2", "xxx", "3f1c2f1e-9a55-4d43-9b41-6a1d3c0f9b7e", "i1"])
instruction_ids = st.sampled_from(["i1", "i2", "instruction1"])
versions = st.sampled_from([["0.0.2-beta"], ["1.0.0"], ["v0.0.2-beta"], ["9.9"], ["1.0.0", "0.0.2-beta"]])
control_types = st.sampled_from(list(ControlType))
statuses = st.sampled_from(list(InstructionStatus))
statuses_rs = st.sampled_from(list(ReceptionStatusValues))


def _with_id(message: S2Message, message_id: str) -> S2Message:
    doc = json.loads(encode(message))
    doc["message_id"] = message_id
    return get_codec().decode(json.dumps(doc))


@cache
def _messages(sender: EnergyManagementRole) -> st.SearchStrategy[S2Message]:
    """Schema-valid messages as a peer of role ``sender`` might write them (right or wrong)."""
    common: list[st.SearchStrategy[S2Message]] = [
        st.builds(
            lambda r, v: Handshake(message_id="hs", role=r, supported_protocol_versions=v), st.just(sender), versions
        ),
        st.builds(lambda: Handshake(message_id="hs2", role=sender)),
        st.builds(
            lambda r: Handshake(message_id="hs3", role=r, supported_protocol_versions=["0.0.2-beta"]),
            st.sampled_from([CEM, RM]),
        ),
        st.builds(lambda v: HandshakeResponse(message_id="hr", selected_protocol_version=v[0]), versions),
        st.builds(lambda ct: SelectControlType(message_id="sct", control_type=ct), control_types),
        st.builds(
            lambda t, i: RevokeObject(message_id="rv", object_type=t, object_id=i),
            st.sampled_from(list(RevokableObjects)),
            st.sampled_from(["i1", "ec1", "m1", "xxx"]),
        ),
        st.builds(lambda: rm_details()),
        st.builds(lambda: power_measurement()),
        st.builds(lambda: storage_status(50.0)),
        st.builds(lambda: actuator_status()),
        st.builds(lambda: energy_constraint_from_t0()),
        st.builds(lambda: frbc_system_description("m1")),
        st.builds(frbc_instruction_om1, instruction_ids),
        st.builds(status_update, instruction_ids, statuses),
    ]
    rare = st.builds(lambda r: SessionRequest(message_id="sr", request=r), st.sampled_from(list(SessionRequestType)))
    valid = st.one_of(*common)
    usual = st.one_of(valid, st.builds(_with_id, valid, ids))
    # a SessionRequest ends the session, so it comes rarely: most runs should go on for a while
    return st.integers(0, 24).flatmap(lambda n: rare if n == 0 else usual)


def _mutate(doc: dict[str, Any], how: str) -> Any:
    doc = dict(doc)
    if how == "drop" and len(doc) > 2:
        doc.pop(sorted(k for k in doc if k != "message_type")[-1])
    elif how == "extra":
        doc["unexpected"] = 1
    elif how == "bad_id":
        doc["message_id"] = "not an id"
    elif how == "no_id":
        doc.pop("message_id", None)
    elif how == "type":
        doc["message_type"] = "Nope"
    elif how == "array":
        return [doc]
    return doc


@cache
def _frames(sender: EnergyManagementRole) -> st.SearchStrategy[str | bytes]:
    """Frames from a peer of role ``sender``: valid, mutated, answers to random ids, garbage."""
    messages = _messages(sender)
    valid = messages.map(lambda m: encode(m).decode())
    mutated = st.builds(
        lambda m, how: json.dumps(_mutate(json.loads(encode(m)), how)),
        messages,
        st.sampled_from(["drop", "extra", "bad_id", "no_id", "type", "array"]),
    )
    answers = st.builds(_answer_frame, ids, statuses_rs)
    bad_answer = st.just('{"message_type": "ReceptionStatus", "status": "OK"}')
    garbage: st.SearchStrategy[str | bytes] = st.one_of(
        st.text(max_size=30), st.binary(max_size=30), st.sampled_from(["[]", "null", "{}", "1", '{"message_id": "m1"}'])
    )
    return st.one_of(valid, valid, mutated, answers, bad_answer, garbage)


def _answer_frame(subject: str, status: ReceptionStatusValues) -> str:
    return encode(ReceptionStatus(subject_message_id=subject, status=status)).decode()


def _expected_subject(raw: str | bytes) -> str | None:
    """The subject the single answer must name, or None when no answer is due."""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return NIL_ID
    if not isinstance(doc, dict):
        return NIL_ID
    if doc.get("message_type") == "ReceptionStatus":
        return None
    ident = doc.get("message_id")
    return ident if isinstance(ident, str) and _ID.match(ident) else NIL_ID


def _handler(outcomes: list[str], armed: list[bool]) -> Callable[[S2Message], None]:
    """An application whose answers run through ``outcomes`` once ``armed[0]`` is set (after the prelude)."""
    calls = iter(outcomes * 50)

    def handle(message: S2Message) -> None:
        if not armed[0]:
            return
        outcome = next(calls, "ok")
        if outcome == "temporary":
            raise TemporaryError("busy")
        if outcome == "content":
            raise InvalidContent("APP-1", "/", "no")
        if outcome == "permanent":
            raise PermanentError("gone")
        if outcome == "bug":
            raise ValueError("a bug in the application")

    return handle


@cache
def _own(role: EnergyManagementRole) -> st.SearchStrategy[S2Message]:
    """What an application on this side may try to send (often refused, never crashing)."""
    if role is CEM:
        return st.one_of(
            st.builds(lambda ct: SelectControlType(message_id="c-sct", control_type=ct), control_types),
            st.builds(frbc_instruction_om1, instruction_ids),
            st.builds(
                lambda i: RevokeObject(message_id="c-rv", object_type=RevokableObjects.FRBC_Instruction, object_id=i),
                instruction_ids,
            ),
        )
    usual = st.one_of(
        st.builds(rm_details),
        st.builds(power_measurement),
        st.builds(energy_constraint_from_t0),
        st.builds(status_update, instruction_ids, statuses),
    )
    terminate = st.builds(lambda: SessionRequest(message_id="r-sr", request=SessionRequestType.TERMINATE))
    return st.integers(0, 24).flatmap(lambda n: terminate if n == 0 else usual)


CONTROLLING = [ct for ct in ControlType if ct not in (ControlType.NO_SELECTION, ControlType.NOT_CONTROLABLE)]


def _prelude(session: Session, control_type: ControlType, offered: tuple[ControlType, ...]) -> list[S2Message]:
    """Handshake, details offering ``offered`` and a selection of ``control_type``, as the peer (and
    the app) would; the CEM's own SelectControlType is sent by :func:`_cem_selects`."""
    if session.role is CEM:
        return [Handshake(message_id="hs-ok", role=RM, supported_protocol_versions=["0.0.2-beta"]), rm_details(offered)]
    return [
        Handshake(message_id="hs-ok", role=CEM, supported_protocol_versions=["0.0.2-beta"]),
        HandshakeResponse(message_id="hr-ok", selected_protocol_version="0.0.2-beta"),
        rm_details(offered),
        SelectControlType(message_id="sct-ok", control_type=control_type),
    ]


def _active(session: Session) -> bool:
    return session.active_control_type not in (None, ControlType.NO_SELECTION)


@pytest.mark.parametrize("role", [CEM, RM], ids=["cem", "rm"])
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_input_is_answered_exactly_once(role: EnergyManagementRole, data: st.DataObject) -> None:
    outcomes = data.draw(
        st.lists(st.sampled_from(["ok", "ok", "ok", "temporary", "content", "permanent", "bug"]), max_size=6)
    )
    armed = [False]
    session = Session(
        role,
        versions=data.draw(st.sampled_from([("0.0.2-beta",), ("1.0.0", "0.0.2-beta")])),
        handler=_handler(outcomes, armed) if outcomes else None,
        max_outstanding=MAX_OUTSTANDING,
        max_remembered=MAX_REMEMBERED,
        retry=RetryPolicy(max_attempts=3, first_delay=timedelta(seconds=1)),
    )
    peer = RM if role is CEM else CEM
    now = T0
    sent_ids: list[str] = []
    seen: set[str] = set()
    closes: list[SessionClosed] = []

    def drain(answered: str | None, expect_answer: bool) -> None:
        frames = session.data_to_send()
        codec = get_codec(session.selected_version)
        answers = []
        for f in frames:
            message = codec.decode(f)  # everything we write is schema-valid
            if isinstance(message, ReceptionStatus):
                answers.append(message)
            else:
                sent_ids.append(getattr(message, "message_id"))  # noqa: B009
        if expect_answer:
            assert len(answers) == 1, frames
            event(f"answered {answers[0].status.value}")
            assert answers[0].subject_message_id == answered
        else:
            assert answers == [], frames
        events = session.events()
        assert all(isinstance(e, EVENT_TYPES) for e in events)
        seen.update(type(e).__name__ for e in events)
        closes.extend(e for e in events if isinstance(e, SessionClosed))
        # one SessionClosed, when (and only when) the session is closed; closing comes before it
        assert len(closes) == (1 if session.closed else 0)
        if session.closing:
            assert not session.closed and session.phase is Phase.CLOSED
            assert session.next_wakeup() is not None
        sizes = session.sizes()
        assert sizes["outstanding"] <= MAX_OUTSTANDING + 2  # + our Handshake/HandshakeResponse/TERMINATE
        for key in ("answered", "timed_out", "instructions", "objects_ours", "objects_theirs"):
            assert sizes[key] <= MAX_REMEMBERED
        assert sizes["deadline_heap"] <= 2 * sizes["outstanding"] + 64 + 1

    session.start(now)
    drain(None, expect_answer=False)
    reached: set[str] = set()
    if data.draw(st.integers(0, 5)) > 0:  # mostly a proper opening, so that later frames meet a session in control
        offered = tuple(data.draw(st.lists(st.sampled_from(CONTROLLING), min_size=1, max_size=3, unique=True)))
        # the selection is mostly one that was offered, sometimes any (refused, or leaving control)
        wanted = data.draw(st.integers(0, 7).flatmap(lambda n: control_types if n == 0 else st.sampled_from(offered)))
        event(f"prelude selects an offered type: {wanted in offered}")
        for message in _prelude(session, wanted, offered):
            if message.__struct_config__.tag == "ResourceManagerDetails" and role is RM:
                session.send(message, now)
                drain(None, expect_answer=False)
            else:
                text = encode(message).decode()
                session.receive(text, now)
                drain(_expected_subject(text), expect_answer=True)
        if role is CEM:  # the CEM selects, and the RM answers OK
            select = SelectControlType(message_id="c-sct-ok", control_type=wanted)
            with contextlib.suppress(S2Error):
                session.send(select, now)
                drain(None, expect_answer=False)
                session.receive(_answer_frame(select.message_id, ReceptionStatusValues.OK), now)
                drain(None, expect_answer=False)
        if _active(session):
            reached.add("after the prelude")
    armed[0] = True
    for _ in range(data.draw(st.integers(1, 40))):
        if _active(session):
            reached.add("during the run")
        action = data.draw(st.sampled_from(["frame", "frame", "frame", "answer", "send", "tick"]))
        if action == "answer" and sent_ids:  # an answer to something we sent: real, late or duplicate
            raw: str | bytes = _answer_frame(data.draw(st.sampled_from(sent_ids)), data.draw(statuses_rs))
            session.receive(raw, now)
            drain(None, expect_answer=False)
        elif action in ("frame", "answer"):
            raw = data.draw(_frames(peer))
            subject = _expected_subject(raw)
            session.receive(raw, now)
            drain(subject, expect_answer=subject is not None)
        elif action == "send":
            with contextlib.suppress(S2Error):  # refusals are documented S2Errors; nothing else may escape
                session.send(data.draw(_own(role)), now)
            drain(None, expect_answer=False)
        else:
            now += timedelta(seconds=data.draw(st.integers(0, 40)))
            wake = session.next_wakeup()
            session.handle_timeout(now)
            drain(None, expect_answer=False)
            if wake is not None and wake <= now and not session.closed:
                nxt = session.next_wakeup()
                assert nxt is None or nxt > now
            if session.closing:  # a grace period ends: past it, the session is closed
                deadline = session.next_wakeup()
                assert deadline is not None and deadline <= now + session.close_grace
    event(f"{role.value}: active control type reached: {bool(reached)}")
    event(f"final phase: {session.phase.value}, control type: {session.active_control_type}")
    event(f"closing at the end: {session.closing}")
    for name in seen:
        event(f"event {name}")
