"""Protocol behaviour of the session engine, one rule at a time, with a fake clock."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from builders import (
    CEM,
    FRBC,
    PEBC,
    RM,
    T0,
    Pair,
    answers_by_subject,
    energy_constraint_from_t0,
    frame,
    frbc_instruction_om1,
    frbc_system_description,
    of_type,
    power_measurement,
    reception_statuses,
    status_update,
    statuses,
)
from s2ws.errors import (
    EncodeError,
    InvalidContent,
    OutstandingLimitError,
    PermanentError,
    ProfileError,
    RuleViolation,
    SessionClosedError,
    TemporaryError,
)
from s2ws.messages import (
    ControlType,
    Handshake,
    HandshakeResponse,
    InstructionStatus,
    Phase,
    PowerMeasurement,
    ReceptionStatus,
    ReceptionStatusValues,
    RevokableObjects,
    RevokeObject,
    S2Message,
    SelectControlType,
    SessionRequest,
    SessionRequestType,
    new_id,
)
from s2ws.session import (
    NIL_ID,
    CallbackFailed,
    ContentWarning,
    ControlTypeSelected,
    HandshakeCompleted,
    InstructionStatusChanged,
    MessageReceived,
    ObjectRevoked,
    ReceptionStatusReceived,
    RejectedIncoming,
    Retried,
    RetryGivenUp,
    RetryPolicy,
    Session,
    SessionClosed,
    SessionRequestReceived,
)

S = InstructionStatus

# --- handshake ------------------------------------------------------------------------------


def test_handshake_selects_the_cems_preferred_common_version() -> None:
    pair = Pair.create(cem={"versions": ("1.0.0", "0.0.2-beta")}, rm={"versions": ("0.0.2-beta", "v1.0.0")})
    pair.start()
    response = next(doc for d, doc in pair.decoded() if doc["message_type"] == "HandshakeResponse")
    assert response["selected_protocol_version"] == "1.0.0"
    assert pair.cem.selected_version == pair.rm.selected_version == "1.0.0"
    assert of_type(pair.cem_events, HandshakeCompleted) == [HandshakeCompleted("1.0.0")]
    assert pair.cem.phase is pair.rm.phase is Phase.INITIALIZED


def test_version_negotiation_ignores_one_leading_v_and_answers_in_the_rms_spelling() -> None:
    cem = Session(CEM, versions=("1.0.0", "0.0.2-beta"))
    cem.start(T0)
    cem.receive(
        frame(Handshake(message_id="hs-rm", role=RM, supported_protocol_versions=["v0.0.2-beta", "v1.0.0"])), T0
    )
    (response,) = [d for d in map(json.loads, cem.data_to_send()) if d["message_type"] == "HandshakeResponse"]
    assert response["selected_protocol_version"] == "v1.0.0"
    assert cem.selected_version == "1.0.0"
    rm = Session(RM, versions=("0.0.2-beta",))
    rm.receive(frame(HandshakeResponse(message_id="hr-1", selected_protocol_version="v0.0.2-beta")), T0)
    assert rm.selected_version == "0.0.2-beta"
    # "vv1.0.0" is not "1.0.0": only one leading v is dropped
    cem = Session(CEM, versions=("1.0.0",))
    cem.receive(frame(Handshake(message_id="hs-rm", role=RM, supported_protocol_versions=["vv1.0.0"])), T0)
    assert cem.closing and cem.selected_version is None


@pytest.mark.parametrize(("version", "status"), [("1.0.0", "OK"), ("0.0.2-beta", "INVALID_MESSAGE")])
def test_selected_version_chooses_the_codec_profile(version: str, status: str) -> None:
    """DDBC.PresentDemandStatus exists only in 1.0.0."""
    ddbc = ControlType.DEMAND_DRIVEN_BASED_CONTROL
    pair = Pair.create(cem={"versions": (version,)}, rm={"versions": (version,)})
    pair.initialize(ddbc, control_types=(ddbc,))
    doc = {
        "message_type": "DDBC.PresentDemandStatus",
        "message_id": "pds-1",
        "present_demand_rate": {"start_of_range": 1.0, "end_of_range": 2.0},
    }
    pair.cem.receive(json.dumps(doc), T0)
    (answer,) = reception_statuses(pair.cem.data_to_send())
    assert answer["status"] == status


def test_handshake_frames_and_order() -> None:
    pair = Pair.create()
    pair.start()
    docs = pair.decoded()
    assert [(d, doc["message_type"]) for d, doc in docs] == [
        ("cem>rm", "Handshake"),
        ("rm>cem", "Handshake"),
        ("cem>rm", "ReceptionStatus"),
        ("cem>rm", "HandshakeResponse"),
        ("rm>cem", "ReceptionStatus"),
        ("rm>cem", "ReceptionStatus"),
    ]
    assert docs[0][1]["role"] == "CEM" and docs[1][1]["role"] == "RM"


def test_no_common_version_ends_the_session_cleanly() -> None:
    pair = Pair.create(cem={"versions": ("1.0.0",)}, rm={"versions": ("0.0.2-beta",)})
    pair.start()
    docs = [doc for d, doc in pair.decoded() if d == "cem>rm"]
    kinds = [(doc["message_type"], doc.get("status"), doc.get("request")) for doc in docs]
    assert kinds == [
        ("Handshake", None, None),
        ("ReceptionStatus", "INVALID_CONTENT", None),
        ("SessionRequest", None, "TERMINATE"),
    ]
    assert docs[1]["diagnostic_label"].startswith("S2-SESSION-103 at /supported_protocol_versions: no common")
    assert pair.cem.closed and pair.rm.closed
    assert "no common protocol version" in (pair.cem.close_reason or "")
    assert of_type(pair.rm_events, SessionClosed)[-1].by_peer


def test_rm_refuses_a_version_it_did_not_offer() -> None:
    rm = Session(RM)
    rm.start(T0)
    rm.receive(frame(HandshakeResponse(message_id="hr-1", selected_protocol_version="9.9.9")), T0)
    docs = [json.loads(f) for f in rm.data_to_send()]
    assert [d["message_type"] for d in docs] == ["Handshake", "ReceptionStatus", "SessionRequest"]
    assert docs[1]["status"] == "INVALID_CONTENT" and docs[1]["subject_message_id"] == "hr-1"
    assert rm.closing and not rm.closed and rm.selected_version is None
    rm.receive(frame(ReceptionStatus(subject_message_id=docs[2]["message_id"], status=ReceptionStatusValues.OK)), T0)
    assert rm.closed


def test_two_peers_of_the_same_role() -> None:
    a, b = Session(CEM), Session(CEM)
    a.start(T0)
    b.start(T0)
    (hello_a,), (hello_b,) = a.data_to_send(), b.data_to_send()
    a.receive(hello_b, T0)
    b.receive(hello_a, T0)
    for s in (a, b):
        docs = [json.loads(f) for f in s.data_to_send()]
        assert docs[0]["status"] == "INVALID_CONTENT" and docs[0]["diagnostic_label"].startswith(
            "S2-HANDSHAKE-003 at /role"
        )
        assert docs[1]["request"] == "TERMINATE"
        assert s.closing and not s.closed


def test_rm_handshake_without_versions_ends_the_session() -> None:
    cem = Session(CEM)
    cem.start(T0)
    cem.data_to_send()
    cem.receive(frame(Handshake(message_id="hs-rm", role=RM)), T0)
    answer, request = (json.loads(f) for f in cem.data_to_send())
    assert answer["diagnostic_label"].startswith("S2-HANDSHAKE-001 at /supported_protocol_versions")
    assert request["request"] == "TERMINATE" and cem.closing and cem.terminated


def test_rm_accepts_a_cem_handshake_without_versions() -> None:
    rm = Session(RM)
    rm.receive(frame(Handshake(message_id="hs-cem", role=CEM)), T0)
    (answer,) = reception_statuses(rm.data_to_send())
    assert answer["status"] == "OK" and rm.peer_versions is None


def test_handshake_timeout_terminates() -> None:
    rm = Session(RM, handshake_timeout=timedelta(seconds=30))
    rm.start(T0)
    rm.data_to_send()
    assert rm.next_wakeup() == T0 + timedelta(seconds=5)  # our Handshake's ack deadline comes first
    rm.handle_timeout(T0 + timedelta(seconds=5))
    assert rm.next_wakeup() == T0 + timedelta(seconds=30)
    rm.handle_timeout(T0 + timedelta(seconds=30))
    (request,) = [json.loads(f) for f in rm.data_to_send()]
    assert request["request"] == "TERMINATE"
    assert rm.closing and rm.next_wakeup() == T0 + timedelta(seconds=32)  # the close grace
    rm.handle_timeout(T0 + timedelta(seconds=32))
    assert rm.closed and rm.next_wakeup() is None


def test_unknown_version_in_constructor() -> None:
    with pytest.raises(ProfileError):
        Session(CEM, versions=("2.0",))
    with pytest.raises(ValueError):
        Session(CEM, versions=())


# --- control types --------------------------------------------------------------------------


def test_select_switch_and_no_selection() -> None:
    pair = Pair.create()
    pair.initialize(FRBC)
    assert pair.cem.active_control_type is pair.rm.active_control_type is FRBC
    for ct in (PEBC, ControlType.NO_SELECTION):
        pair.cem.send(SelectControlType(message_id=new_id(), control_type=ct), pair.clock.now)
        pair.pump()
    assert pair.cem.active_control_type is None and pair.rm.active_control_type is None
    expected = [ControlTypeSelected(FRBC), ControlTypeSelected(PEBC), ControlTypeSelected(ControlType.NO_SELECTION)]
    assert of_type(pair.cem_events, ControlTypeSelected) == expected
    assert of_type(pair.rm_events, ControlTypeSelected) == expected
    with pytest.raises(InvalidContent, match="S2-SESSION-003"):
        pair.cem.send(frbc_instruction_om1(), pair.clock.now)


def test_control_type_not_offered() -> None:
    pair = Pair.create()
    pair.initialize(control_type=None, control_types=(FRBC,))
    not_offered = SelectControlType(message_id="sct-x", control_type=PEBC)
    with pytest.raises(InvalidContent, match="S2-SESSION-007") as info:
        pair.cem.send(not_offered, pair.clock.now)
    assert info.value.pointer == "/control_type"
    assert pair.cem.data_to_send() == []
    # a CEM that sends it anyway gets INVALID_CONTENT from the RM, and nothing switches
    pair.rm.receive(frame(not_offered), pair.clock.now)
    (answer,) = reception_statuses(pair.rm.data_to_send())
    assert answer["status"] == "INVALID_CONTENT" and answer["diagnostic_label"].startswith("S2-SESSION-007")
    assert pair.rm.active_control_type is None


def test_select_before_details_is_refused() -> None:
    pair = Pair.create()
    pair.start()
    with pytest.raises(InvalidContent, match="no ResourceManagerDetails"):
        pair.cem.send(SelectControlType(message_id=new_id(), control_type=FRBC), pair.clock.now)
    pair.cem.send(SelectControlType(message_id=new_id(), control_type=ControlType.NO_SELECTION), pair.clock.now)


# --- instructions and revocation ----------------------------------------------------------------


def test_instruction_lifecycle_on_both_sides() -> None:
    pair = Pair.create()
    pair.initialize(FRBC)
    pair.cem.send(frbc_instruction_om1("i1"), pair.clock.now)
    pair.pump()
    for status in (S.NEW, S.ACCEPTED, S.ACCEPTED, S.STARTED, S.SUCCEEDED):
        pair.rm.send(status_update("i1", status), pair.clock.now)
        pair.pump()
    changes = [(e.status, e.previous) for e in of_type(pair.cem_events, InstructionStatusChanged)]
    assert changes == [(S.NEW, None), (S.ACCEPTED, S.NEW), (S.STARTED, S.ACCEPTED), (S.SUCCEEDED, S.STARTED)]
    assert of_type(pair.rm_events, InstructionStatusChanged) == of_type(pair.cem_events, InstructionStatusChanged)
    assert pair.cem.instruction_status("i1") is S.SUCCEEDED is pair.rm.instruction_status("i1")
    with pytest.raises(InvalidContent, match="S2-INSTR-002"):
        pair.rm.send(status_update("i1", S.ABORTED), pair.clock.now)
    with pytest.raises(InvalidContent, match="S2-INSTR-001"):
        pair.rm.send(status_update("unknown", S.NEW), pair.clock.now)


def test_rm_may_not_send_a_backward_move() -> None:
    pair = Pair.create()
    pair.initialize(FRBC)
    pair.cem.send(frbc_instruction_om1("i1"), pair.clock.now)
    pair.pump()
    pair.rm.send(status_update("i1", S.STARTED), pair.clock.now)
    with pytest.raises(InvalidContent, match="S2-INSTR-003"):
        pair.rm.send(status_update("i1", S.ACCEPTED), pair.clock.now)


@pytest.mark.parametrize(
    ("history", "bad", "rule"),
    [
        ((S.REJECTED,), S.REJECTED, "S2-INSTR-002"),
        ((S.SUCCEEDED,), S.STARTED, "S2-INSTR-002"),
        ((), S.NEW, "S2-INSTR-001"),
    ],
)
def test_cem_refuses_impossible_status_reports(history: tuple[S, ...], bad: S, rule: str) -> None:
    pair = Pair.create()
    pair.initialize(FRBC)
    if history:
        pair.cem.send(frbc_instruction_om1("i1"), pair.clock.now)
        pair.pump()
        for status in history:
            pair.rm.send(status_update("i1", status), pair.clock.now)
            pair.pump()
    pair.cem.receive(frame(status_update("i1", bad)), pair.clock.now)
    (answer,) = reception_statuses(pair.cem.data_to_send())
    assert answer["status"] == "INVALID_CONTENT" and answer["diagnostic_label"].startswith(rule)
    assert not pair.cem.closed


@pytest.mark.parametrize(("before", "after"), [(S.STARTED, S.ACCEPTED), (S.ACCEPTED, S.REJECTED), (S.NEW, S.NEW)])
def test_cem_accepts_a_backward_move_with_a_warning_and_keeps_the_furthest_status(before: S, after: S) -> None:
    """S2-INSTR-003 is a warning in the catalogue: be lenient in what we accept."""
    pair = Pair.create()
    pair.initialize(FRBC)
    pair.cem.send(frbc_instruction_om1("i1"), pair.clock.now)
    pair.pump()
    pair.rm.send(status_update("i1", before), pair.clock.now)
    pair.pump()
    pair.cem.receive(frame(status_update("i1", after)), pair.clock.now)
    (answer,) = reception_statuses(pair.cem.data_to_send())
    assert answer["status"] == "OK"
    events = pair.cem.events()
    expected = after is S.REJECTED  # a terminal status is further than ACCEPTED, so it is recorded
    assert bool(of_type(events, InstructionStatusChanged)) is expected
    assert pair.cem.instruction_status("i1") is (after if expected else before)
    warnings = of_type(events, ContentWarning)
    assert bool(warnings) is (before is not after)
    assert all(w.diagnostics[0].startswith("S2-INSTR-003") for w in warnings)


def test_skipping_intermediate_statuses_is_allowed() -> None:
    pair = Pair.create()
    pair.initialize(FRBC)
    pair.cem.send(frbc_instruction_om1("i1"), pair.clock.now)
    pair.pump()
    pair.rm.send(status_update("i1", S.SUCCEEDED), pair.clock.now)
    pair.pump()
    assert pair.cem.instruction_status("i1") is S.SUCCEEDED


def test_revoke_both_directions() -> None:
    pair = Pair.create()
    pair.initialize(FRBC)
    description = frbc_system_description()
    pair.rm.send(description, pair.clock.now)
    pair.cem.send(frbc_instruction_om1("i1"), pair.clock.now)
    pair.pump()
    # the CEM withdraws its instruction, the RM its description (named by message_id)
    pair.cem.send(RevokeObject(message_id=new_id(), object_type=RevokableObjects.FRBC_Instruction, object_id="i1"), T0)
    revoke_sd = RevokeObject(
        message_id=new_id(), object_type=RevokableObjects.FRBC_SystemDescription, object_id=description.message_id
    )
    pair.rm.send(revoke_sd, T0)
    pair.pump()
    assert ObjectRevoked(RevokableObjects.FRBC_Instruction, "i1", by_peer=False) in pair.cem_events
    assert ObjectRevoked(RevokableObjects.FRBC_Instruction, "i1", by_peer=True) in pair.rm_events
    assert (
        ObjectRevoked(RevokableObjects.FRBC_SystemDescription, description.message_id, by_peer=True) in pair.cem_events
    )
    # revoking again
    with pytest.raises(InvalidContent, match="S2-REVOKE-003"):
        pair.rm.send(revoke_sd, T0)
    pair.cem.receive(frame(revoke_sd), T0)
    (answer,) = reception_statuses(pair.cem.data_to_send())
    assert answer["status"] == "INVALID_CONTENT" and answer["diagnostic_label"].startswith(
        "S2-REVOKE-003 at /object_id"
    )
    # something never sent
    unknown = RevokeObject(message_id=new_id(), object_type=RevokableObjects.FRBC_Instruction, object_id="nope")
    with pytest.raises(InvalidContent, match="S2-REVOKE-002"):
        pair.cem.send(unknown, T0)
    pair.rm.receive(frame(unknown), T0)
    (answer,) = reception_statuses(pair.rm.data_to_send())
    assert answer["diagnostic_label"].startswith("S2-REVOKE-002 at /object_id")


def test_revoke_refusals() -> None:
    pair = Pair.create()
    pair.initialize(PEBC)
    pair.rm.send(energy_constraint_from_t0("ec1"), T0)
    pair.pump()
    # the CEM cannot revoke what the RM published
    wrong_side = RevokeObject(message_id=new_id(), object_type=RevokableObjects.PEBC_EnergyConstraint, object_id="ec1")
    with pytest.raises(InvalidContent, match="cannot revoke"):
        pair.cem.send(wrong_side, T0)
    pair.rm.receive(frame(wrong_side), T0)
    (answer,) = reception_statuses(pair.rm.data_to_send())
    assert answer["status"] == "INVALID_CONTENT" and answer["diagnostic_label"].startswith("S2-REVOKE-001")
    # the RM withdraws it (a common message: allowed whatever control type is active)
    pair.rm.send(
        RevokeObject(message_id=new_id(), object_type=RevokableObjects.PEBC_EnergyConstraint, object_id="ec1"), T0
    )
    pair.pump()
    assert ObjectRevoked(RevokableObjects.PEBC_EnergyConstraint, "ec1", by_peer=True) in pair.cem_events


def test_revoking_a_finished_instruction_is_a_warning() -> None:
    pair = Pair.create()
    pair.initialize(FRBC)
    pair.cem.send(frbc_instruction_om1("i1"), T0)
    pair.pump()
    pair.rm.send(status_update("i1", S.SUCCEEDED), T0)
    pair.pump()
    revoke = RevokeObject(message_id=new_id(), object_type=RevokableObjects.FRBC_Instruction, object_id="i1")
    with pytest.raises(InvalidContent, match="S2-REVOKE-004"):
        pair.cem.send(revoke, T0)  # strict on what we write
    pair.rm.receive(frame(revoke), T0)  # lenient on what we accept
    (answer,) = reception_statuses(pair.rm.data_to_send())
    assert answer["status"] == "OK"
    assert of_type(pair.rm.events(), ContentWarning)[0].diagnostics[0].startswith("S2-REVOKE-004")


# --- session requests and closing ----------------------------------------------------------------


@pytest.mark.parametrize("request_type", list(SessionRequestType))
def test_session_request_is_answered_ok_then_closes(request_type: SessionRequestType) -> None:
    pair = Pair.create()
    pair.initialize()
    pair.cem.send(SessionRequest(message_id="sr-1", request=request_type), T0)
    assert pair.cem.closing and not pair.cem.closed  # until the RM's answer arrives
    pair.pump()
    assert pair.rm.closed and pair.cem.closed
    received = of_type(pair.rm_events, SessionRequestReceived)
    assert received and received[0].request.request is request_type
    (closed,) = of_type(pair.rm_events, SessionClosed)
    reconnect = request_type is SessionRequestType.RECONNECT
    assert closed.by_peer and closed.reconnect is reconnect
    assert pair.rm.reconnect_requested is reconnect and not pair.cem.reconnect_requested
    assert pair.rm.terminated is pair.cem.terminated is (not reconnect)
    # the OK for the request reached the closing CEM, matched, and closed it
    assert of_type(pair.cem_events, ReceptionStatusReceived)[-1].subject == "sr-1"
    (ours,) = of_type(pair.cem_events, SessionClosed)
    assert not ours.by_peer and ours.reason == f"we sent SessionRequest {request_type.value}"


def test_close_with_terminate_and_after_close() -> None:
    pair = Pair.create()
    pair.initialize()
    pair.cem.close("maintenance", T0, terminate=True)
    pair.cem.close("twice", T0, terminate=True)  # idempotent: one TERMINATE, the first reason
    assert pair.cem.close_reason == "maintenance" and pair.cem.terminated and pair.cem.closing
    pair.pump()
    assert pair.rm.closed and "maintenance" in (pair.rm.close_reason or "") and pair.rm.terminated
    assert pair.cem.closed and pair.cem.close_reason == "maintenance"
    assert [doc["request"] for _, doc in pair.decoded() if doc["message_type"] == "SessionRequest"] == ["TERMINATE"]
    with pytest.raises(SessionClosedError):
        pair.rm.send(power_measurement(), T0)
    # a frame after closing still gets its one answer
    pair.rm.receive(frame(frbc_instruction_om1()), T0)
    (answer,) = reception_statuses(pair.rm.data_to_send())
    assert answer["status"] == "INVALID_CONTENT" and answer["diagnostic_label"].startswith("S2-SESSION-004")
    assert pair.rm.next_wakeup() is None


def _terminating_cem(**options: Any) -> tuple[Pair, str]:
    """An initialized pair whose CEM has just queued SessionRequest TERMINATE (not yet delivered)."""
    pair = Pair.create(cem=options)
    pair.initialize()
    pair.cem.close("maintenance", pair.clock.now, terminate=True)
    pair.collect()
    (request,) = [doc for doc in map(json.loads, pair.cem.data_to_send()) if doc["message_type"] == "SessionRequest"]
    return pair, request["message_id"]


def _answer(subject: str, status: ReceptionStatusValues = ReceptionStatusValues.OK) -> str:
    return frame(ReceptionStatus(subject_message_id=subject, status=status))


def test_terminate_answered_within_the_grace_closes_on_the_answer() -> None:
    pair = Pair.create(cem={"close_grace": timedelta(seconds=3)})
    pair.initialize()
    pair.cem.close("maintenance", T0, terminate=True)
    pair.collect()
    assert pair.cem.closing and not pair.cem.closed and pair.cem.phase is Phase.CLOSED
    assert pair.cem.close_reason == "maintenance" and pair.cem.terminated
    assert not of_type(pair.cem_events, SessionClosed)  # not before the answer
    assert pair.cem.next_wakeup() == T0 + timedelta(seconds=3)
    with pytest.raises(SessionClosedError, match="closing"):
        pair.cem.send(SelectControlType(message_id=new_id(), control_type=PEBC), T0)
    pair.clock.advance(1)
    pair.pump()  # the RM answers OK
    assert pair.cem.closed and not pair.cem.closing and pair.cem.next_wakeup() is None
    (closed,) = of_type(pair.cem_events, SessionClosed)
    assert closed == SessionClosed("maintenance", by_peer=False)
    sent, answered = answers_by_subject(pair.transcript)
    assert sent == answered and set(statuses(pair.transcript)) == {"OK"}


def test_unanswered_terminate_closes_when_the_grace_ends() -> None:
    pair = Pair.create(cem={"close_grace": timedelta(seconds=3), "ack_timeout": timedelta(seconds=1)})
    pair.initialize()
    pair.cem.send(frbc_instruction_om1(), T0)  # will never be answered either
    pair.cem.close("maintenance", T0, terminate=True)
    pair.cem.data_to_send()  # a peer that never answers a SessionRequest gets nothing
    pair.collect()
    pair.cem.handle_timeout(T0 + timedelta(seconds=2))  # past the ack timeout, within the grace
    assert pair.cem.closing and pair.cem.events() == [] and pair.cem.data_to_send() == []
    assert pair.cem.next_wakeup() == T0 + timedelta(seconds=3)
    pair.cem.handle_timeout(T0 + timedelta(seconds=3))
    assert pair.cem.closed and not pair.cem.closing and pair.cem.next_wakeup() is None
    assert pair.cem.events() == [SessionClosed("maintenance", by_peer=False)]
    pair.cem.handle_timeout(T0 + timedelta(seconds=60))
    assert pair.cem.events() == [] and pair.cem.data_to_send() == []


@pytest.mark.parametrize("status", list(ReceptionStatusValues))
def test_any_answer_to_our_session_request_closes(status: ReceptionStatusValues) -> None:
    pair, request_id = _terminating_cem()
    pair.cem.receive(_answer(request_id, status), T0)
    assert pair.cem.closed and pair.cem.data_to_send() == []  # no retry, nothing else
    events = pair.cem.events()
    assert [type(e) for e in events] == [ReceptionStatusReceived, SessionClosed]
    assert events[-1] == SessionClosed("maintenance", by_peer=False)


def test_frames_while_closing_are_answered_by_the_phase_table() -> None:
    pair = Pair.create()
    pair.initialize()
    cem = pair.cem
    instruction = frbc_instruction_om1()
    cem.send(instruction, T0)
    cem.close("maintenance", T0, terminate=True)
    (request,) = [doc for doc in map(json.loads, cem.data_to_send()) if doc["message_type"] == "SessionRequest"]
    cem.events()
    cem.receive(frame(power_measurement("pm-late")), T0)
    cem.receive("not json", T0)
    cem.receive(frame(SessionRequest(message_id="sr-rm", request=SessionRequestType.TERMINATE)), T0)  # crossing
    answers = [
        (a["subject_message_id"], a["status"], a.get("diagnostic_label", ""))
        for a in reception_statuses(cem.data_to_send())
    ]
    # what crossed our TERMINATE is acknowledged, not blamed; only the undecodable frame is refused
    assert [(subject, status) for subject, status, _ in answers] == [
        ("pm-late", "OK"),
        (NIL_ID, "INVALID_DATA"),
        ("sr-rm", "OK"),
    ]
    # the measurement is taken (the RM sent it in time); the RM's own TERMINATE changes nothing
    events = cem.events()
    assert [type(e) for e in events] == [MessageReceived, RejectedIncoming]
    assert isinstance(events[0], MessageReceived) and isinstance(events[0].message, PowerMeasurement)
    assert events[0].message.message_id == "pm-late"
    assert cem.closing and not cem.reconnect_requested
    # the answer to an earlier message is still matched, and changes nothing: no retry
    cem.receive(_answer(instruction.message_id, ReceptionStatusValues.TEMPORARY_ERROR), T0)
    (matched,) = cem.events()
    assert isinstance(matched, ReceptionStatusReceived) and matched.message is instruction
    cem.handle_timeout(T0 + timedelta(seconds=1))
    assert cem.closing and cem.data_to_send() == [] and cem.events() == []
    cem.receive(_answer(request["message_id"]), T0 + timedelta(seconds=1))
    assert cem.closed
    assert [type(e) for e in cem.events()] == [ReceptionStatusReceived, SessionClosed]


def test_both_sides_terminating_at_once_answer_each_other() -> None:
    pair = Pair.create()
    pair.initialize()
    pair.cem.close("cem leaving", T0, terminate=True)
    pair.rm.close("rm leaving", T0, terminate=True)
    pair.pump()
    assert pair.cem.closed and pair.rm.closed
    sent, answered = answers_by_subject(pair.transcript)
    assert sent == answered  # each request got exactly one answer
    requests = {doc["message_id"] for _, doc in pair.decoded() if doc["message_type"] == "SessionRequest"}
    to_requests = [doc for _, doc in pair.decoded() if doc.get("subject_message_id") in requests]
    assert [doc["status"] for doc in to_requests] == ["OK", "OK"]  # each crossed the other
    assert of_type(pair.cem_events, SessionClosed) == [SessionClosed("cem leaving", by_peer=False)]
    assert of_type(pair.rm_events, SessionClosed) == [SessionClosed("rm leaving", by_peer=False)]


def test_close_without_terminate_cuts_the_grace_short() -> None:
    pair, _ = _terminating_cem()
    pair.cem.close("peer closed", T0)  # what a transport does when the socket is gone
    assert pair.cem.closed and pair.cem.close_reason == "maintenance" and pair.cem.next_wakeup() is None
    assert pair.cem.events() == [SessionClosed("maintenance", by_peer=False)]


def test_zero_close_grace_closes_at_once() -> None:
    pair = Pair.create(cem={"close_grace": timedelta(0)})
    pair.initialize()
    pair.cem.close("now", T0, terminate=True)
    assert pair.cem.closed and not pair.cem.closing
    pair.pump()
    assert pair.rm.closed
    assert of_type(pair.cem_events, ReceptionStatusReceived)[-1].status.status is ReceptionStatusValues.OK
    with pytest.raises(ValueError, match="close_grace"):
        Session(CEM, close_grace=timedelta(seconds=-1))


def _rm_status_crossing_a_terminate(**cem: Any) -> tuple[Pair, str, str]:
    """The RM sends a status while the CEM's TERMINATE is on its way: the two frames cross."""
    pair = Pair.create(cem=cem, rm={"close_grace": timedelta(seconds=2)})
    pair.initialize()
    status = power_measurement("pm-crossing")
    pair.rm.send(status, T0)
    pair.cem.close("maintenance", T0, terminate=True)
    (request,) = [doc for doc in map(json.loads, pair.cem.data_to_send()) if doc["message_type"] == "SessionRequest"]
    pair.collect()
    return pair, status.message_id, request["message_id"]


def test_a_peers_terminate_waits_for_the_answers_it_owes() -> None:
    pair, status_id, request_id = _rm_status_crossing_a_terminate()
    pair.rm.receive(frame(SessionRequest(message_id=request_id, request=SessionRequestType.TERMINATE)), T0)
    (ok,) = reception_statuses(pair.rm.data_to_send())
    assert ok["subject_message_id"] == request_id and ok["status"] == "OK"
    # answered, but the power measurement it sent before is still owed an answer: closing, not closed
    assert pair.rm.closing and not pair.rm.closed and pair.rm.terminated and pair.rm.phase is Phase.CLOSED
    assert pair.rm.next_wakeup() == T0 + timedelta(seconds=2)
    events = pair.rm.events()
    assert [type(e) for e in events] == [MessageReceived, SessionRequestReceived]
    with pytest.raises(SessionClosedError, match="closing"):
        pair.rm.send(power_measurement(), T0)
    pair.rm.receive(_answer(status_id), T0 + timedelta(seconds=1))
    assert pair.rm.closed and not pair.rm.closing and pair.rm.next_wakeup() is None
    received, closed = pair.rm.events()
    assert isinstance(received, ReceptionStatusReceived) and received.subject == status_id
    assert closed == SessionClosed("the peer sent SessionRequest TERMINATE", by_peer=True)


def test_the_cem_answers_what_crossed_its_terminate_and_both_sides_close_cleanly() -> None:
    pair = Pair.create()
    pair.initialize()
    pair.rm.send(power_measurement("pm-crossing"), T0)
    pair.cem.close("maintenance", T0, terminate=True)
    pair.pump()  # first round: the request reaches the RM while the measurement reaches the CEM
    assert pair.cem.closed and pair.rm.closed
    sent, answered = answers_by_subject(pair.transcript)
    assert sent == answered  # every message, the crossing one included, got exactly one answer
    crossing = [doc for _, doc in pair.decoded() if doc.get("subject_message_id") == "pm-crossing"]
    assert [doc["status"] for doc in crossing] == ["OK"]  # it crossed the TERMINATE: answered, not flagged
    rm_closed = of_type(pair.rm_events, SessionClosed)
    assert rm_closed == [SessionClosed("the peer sent SessionRequest TERMINATE: maintenance", by_peer=True)]
    # the RM saw the answer to its measurement before it closed
    rm_kinds = [type(e) for e in pair.rm_events]
    assert rm_kinds.index(SessionClosed) > rm_kinds.index(SessionRequestReceived)
    assert of_type(pair.rm_events, ReceptionStatusReceived)[-1].subject == "pm-crossing"


def test_an_instruction_status_that_crossed_the_cems_terminate_is_taken_not_only_answered() -> None:
    """Nothing lost: the RM reported SUCCEEDED before it could see the CEM's TERMINATE. The CEM
    answers OK, so it must also take the status (its event is what the history records)."""
    pair = Pair.create()
    pair.initialize()
    instruction = frbc_instruction_om1()
    pair.cem.send(instruction, T0)
    pair.pump()
    pair.rm.send(status_update(instruction.id, S.SUCCEEDED), T0)
    pair.cem.close("maintenance", T0, terminate=True)
    pair.pump()  # the status reaches the CEM while its TERMINATE reaches the RM
    assert pair.cem.closed and pair.rm.closed
    changed = of_type(pair.cem_events, InstructionStatusChanged)
    assert changed == [InstructionStatusChanged(instruction.id, S.SUCCEEDED, None)]
    assert pair.cem.instruction_status(instruction.id) is S.SUCCEEDED
    sent, answered = answers_by_subject(pair.transcript)
    assert sent == answered
    (update,) = [doc for _, doc in pair.decoded() if doc["message_type"] == "InstructionStatusUpdate"]
    (answer,) = [doc for _, doc in pair.decoded() if doc.get("subject_message_id") == update["message_id"]]
    assert answer["status"] == "OK"
    assert of_type(pair.cem_events, SessionClosed) == [SessionClosed("maintenance", by_peer=False)]


def test_what_crosses_a_terminate_is_judged_as_just_before_it() -> None:
    pair = Pair.create()
    pair.initialize()
    cem = pair.cem
    cem.close("maintenance", T0, terminate=True)
    cem.data_to_send()
    cem.events()
    cem.receive(frame(status_update("never-sent", S.ACCEPTED)), T0)  # content still checked
    (answer,) = reception_statuses(cem.data_to_send())
    assert answer["status"] == "INVALID_CONTENT" and answer["diagnostic_label"].startswith("S2-INSTR-001")
    assert [type(e) for e in cem.events()] == [RejectedIncoming] and cem.closing


def test_a_handshake_that_crosses_a_terminate_is_answered_not_acted_on() -> None:
    cem = Session(CEM)
    cem.start(T0)
    cem.close("not today", T0, terminate=True)
    cem.data_to_send()
    cem.events()
    cem.receive(frame(Handshake(message_id="hs-rm", role=RM, supported_protocol_versions=["0.0.2-beta"])), T0)
    (answer,) = reception_statuses(cem.data_to_send())
    assert answer["subject_message_id"] == "hs-rm" and answer["status"] == "OK"
    assert cem.data_to_send() == [] and cem.events() == [] and cem.selected_version is None and cem.closing


def test_a_peers_request_closes_when_the_grace_ends_without_the_answers() -> None:
    pair, _, request_id = _rm_status_crossing_a_terminate()
    pair.rm.receive(frame(SessionRequest(message_id=request_id, request=SessionRequestType.RECONNECT)), T0)
    pair.rm.data_to_send()
    pair.rm.events()
    pair.rm.handle_timeout(T0 + timedelta(seconds=1))
    assert pair.rm.closing and pair.rm.events() == []
    pair.rm.handle_timeout(T0 + timedelta(seconds=2))
    assert pair.rm.closed and pair.rm.reconnect_requested
    assert pair.rm.events() == [SessionClosed("the peer sent SessionRequest RECONNECT", by_peer=True, reconnect=True)]


def test_the_socket_closing_while_draining_keeps_the_peers_reason() -> None:
    pair, _, request_id = _rm_status_crossing_a_terminate()
    pair.rm.receive(frame(SessionRequest(message_id=request_id, request=SessionRequestType.RECONNECT)), T0)
    pair.rm.events()
    assert pair.rm.closing
    pair.rm.close("peer closed", T0)  # the peer closed its socket right after its request
    assert pair.rm.closed and pair.rm.reconnect_requested and pair.rm.next_wakeup() is None
    assert pair.rm.events() == [SessionClosed("the peer sent SessionRequest RECONNECT", by_peer=True, reconnect=True)]


def test_a_peers_request_drops_pending_retries_and_closes_at_once_if_nothing_else_is_owed() -> None:
    pair = Pair.create(cem={"handler": _fails(1, TemporaryError("busy"))[1]})
    pair.initialize()
    pair.rm.send(power_measurement("pm-retry"), T0)
    pair.pump()  # answered TEMPORARY_ERROR: the RM will send it again later
    assert pair.rm.next_wakeup() is not None and not pair.rm.closing
    pair.rm.receive(frame(SessionRequest(message_id="sr-cem", request=SessionRequestType.TERMINATE)), T0)
    assert pair.rm.closed and not pair.rm.closing
    given_up = of_type(pair.rm.events(), RetryGivenUp)
    assert [e.message.message_id for e in given_up] == ["pm-retry"]


def test_zero_close_grace_closes_at_once_on_the_peers_request_too() -> None:
    pair, _, request_id = _rm_status_crossing_a_terminate()
    pair.rm.close_grace = timedelta(0)
    pair.rm.receive(frame(SessionRequest(message_id=request_id, request=SessionRequestType.TERMINATE)), T0)
    assert pair.rm.closed and not pair.rm.closing


def test_close_before_start_sends_nothing() -> None:
    cem = Session(CEM)
    cem.close("never mind", T0, terminate=True)
    assert cem.closed and not cem.closing and cem.data_to_send() == [] and not cem.terminated


# --- acknowledgements, retries, errors ----------------------------------------------------------------


def _fails(times: int, error: Exception) -> tuple[list[S2Message], Any]:
    seen: list[S2Message] = []

    def handler(message: S2Message) -> None:
        seen.append(message)
        if isinstance(message, PowerMeasurement) and len([m for m in seen if isinstance(m, PowerMeasurement)]) <= times:
            raise error

    return seen, handler


def test_temporary_error_is_retried_with_the_same_frame() -> None:
    _, handler = _fails(1, TemporaryError("busy"))
    pair = Pair.create(cem={"handler": handler}, rm={"retry": RetryPolicy(first_delay=timedelta(seconds=2))})
    pair.initialize()
    message = power_measurement()
    pair.rm.send(message, pair.clock.now)
    pair.pump()
    assert pair.rm.next_wakeup() == pair.clock.now + timedelta(seconds=2)
    pair.tick(2)
    assert of_type(pair.rm_events, Retried) == [Retried(message, 2)]
    sent = [t for d, t in pair.transcript if d == "rm>cem" and message.message_id in t and "PowerMeasurement" in t]
    assert len(sent) == 2 and sent[0] == sent[1]
    answers = [e.status.status for e in of_type(pair.rm_events, ReceptionStatusReceived) if e.message == message]
    assert answers == [ReceptionStatusValues.TEMPORARY_ERROR, ReceptionStatusValues.OK]


def test_retries_are_bounded() -> None:
    _, handler = _fails(100, TemporaryError("busy"))
    policy = RetryPolicy(max_attempts=3, first_delay=timedelta(seconds=1), factor=2)
    pair = Pair.create(cem={"handler": handler}, rm={"retry": policy})
    pair.initialize()
    message = power_measurement()
    pair.rm.send(message, pair.clock.now)
    pair.pump()
    waits = []
    while (wake := pair.rm.next_wakeup()) is not None and wake - pair.clock.now < timedelta(seconds=5):
        waits.append(wake - pair.clock.now)
        pair.tick((wake - pair.clock.now).total_seconds())
    assert waits == [timedelta(seconds=1), timedelta(seconds=2)]
    assert [e.attempt for e in of_type(pair.rm_events, Retried)] == [2, 3]
    (gave_up,) = of_type(pair.rm_events, RetryGivenUp)
    assert gave_up.attempts == 3 and gave_up.message == message
    assert not pair.rm.closed and not pair.cem.closed


def test_retry_abandoned_when_the_phase_no_longer_allows_it() -> None:
    seen: list[S2Message] = []

    def handler(message: S2Message) -> None:
        seen.append(message)
        if message.__struct_config__.tag == "FRBC.Instruction":
            raise TemporaryError("busy")

    pair = Pair.create(rm={"handler": handler})
    pair.initialize(FRBC)
    instruction = frbc_instruction_om1()
    pair.cem.send(instruction, pair.clock.now)
    pair.pump()
    pair.cem.send(SelectControlType(message_id=new_id(), control_type=ControlType.NO_SELECTION), pair.clock.now)
    pair.pump()
    pair.tick(1)
    (gave_up,) = of_type(pair.cem_events, RetryGivenUp)
    assert gave_up.message == instruction and "S2-SESSION" not in gave_up.reason and "FRBC" in gave_up.reason
    assert not of_type(pair.cem_events, Retried)


def test_permanent_error_from_a_handler_closes_both_sides() -> None:
    _, handler = _fails(1, PermanentError("device broken"))
    pair = Pair.create(cem={"handler": handler})
    pair.initialize()
    pair.rm.send(power_measurement(), T0)
    pair.pump()
    assert pair.cem.closed and pair.rm.closed
    assert of_type(pair.cem_events, SessionClosed)[-1].by_peer is False
    assert of_type(pair.rm_events, SessionClosed)[-1].by_peer is True
    assert "device broken" in (pair.rm.close_reason or "")


@pytest.mark.parametrize(
    ("error", "status", "label"),
    [
        (InvalidContent("APP-1", "/values/0", "no such phase"), "INVALID_CONTENT", "APP-1 at /values/0: no such phase"),
        (TemporaryError("busy"), "TEMPORARY_ERROR", "at /: busy"),
        (
            ZeroDivisionError("bug"),
            "TEMPORARY_ERROR",
            "at /: the receiver failed to process the message (ZeroDivisionError)",
        ),
    ],
)
def test_handler_errors_map_to_statuses(error: Exception, status: str, label: str) -> None:
    _, handler = _fails(1, error)
    pair = Pair.create(cem={"handler": handler})
    pair.initialize()
    pair.cem.receive(frame(power_measurement("pm-1")), T0)
    (answer,) = reception_statuses(pair.cem.data_to_send())
    assert (answer["status"], answer["diagnostic_label"]) == (status, label)
    events = pair.cem.events()
    assert isinstance(events[-1], RejectedIncoming) and events[-1].message is not None
    assert bool(of_type(events, CallbackFailed)) is isinstance(error, ZeroDivisionError)
    assert not pair.cem.closed


# --- send() refusals ---------------------------------------------------------------------------------


def test_send_never_writes_an_invalid_message() -> None:
    pair = Pair.create()
    pair.initialize()
    pair.collect()
    invalid = PowerMeasurement(message_id=new_id(), measurement_timestamp=T0, values=[])
    with pytest.raises(EncodeError):
        pair.rm.send(invalid, T0)
    for owned in (
        ReceptionStatus(subject_message_id="abc", status=ReceptionStatusValues.OK),
        Handshake(message_id=new_id(), role=RM),
        HandshakeResponse(message_id=new_id(), selected_protocol_version="0.0.2-beta"),
    ):
        with pytest.raises(InvalidContent, match="S2-SESSION-101"):
            pair.rm.send(owned, T0)
    assert pair.rm.data_to_send() == [] and pair.rm.events() == []


def test_outstanding_limit_and_reused_ids() -> None:
    pair = Pair.create(rm={"max_outstanding": 3})
    pair.initialize()
    held = [power_measurement() for _ in range(3)]
    for m in held:
        pair.rm.send(m, T0)
    with pytest.raises(InvalidContent, match="S2-SESSION-102"):
        pair.rm.send(power_measurement(held[0].message_id), T0)
    with pytest.raises(OutstandingLimitError):
        pair.rm.send(power_measurement(), T0)
    pair.pump()
    pair.rm.send(power_measurement(held[0].message_id), T0)  # answered ids may be reused
    assert pair.rm.sizes()["outstanding"] == 1


# --- the checker ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Finding:
    severity: str
    diagnostic: str
    rule: str = "TEST-001"
    pointer: str = "/values/0/value"
    reason: str = "too much"


@dataclass
class _Checker:
    refuse_above: float = 1e6
    warn_above: float = 5000
    applied: list[tuple[str, str]] = field(default_factory=list)
    explode: bool = False

    def check(self, message: S2Message, direction: str, now: datetime) -> Sequence[_Finding]:
        if self.explode:
            raise RuntimeError("checker bug")
        if not isinstance(message, PowerMeasurement):
            return []
        value = message.values[0].value
        if value > self.refuse_above:
            return [_Finding("error", "TEST-001 at /values/0/value: too much")]
        if value > self.warn_above:
            return [_Finding("warning", "TEST-002 at /values/0/value: a lot")]
        return []

    def apply(self, message: S2Message, direction: str, now: datetime) -> None:
        self.applied.append((direction, message.__struct_config__.tag or ""))  # type: ignore[arg-type]


def test_a_fault_while_judging_a_frame_is_answered_and_the_session_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bad input never crashes a session: whatever raises inside the engine while a frame is judged
    (here one of its own rules), the peer gets one answer naming the message, the application an
    event, and the next frame is judged as usual."""
    import s2ws.session.engine as engine_module

    pair = Pair.create()
    pair.initialize(control_type=None)

    def explode(*args: object) -> list[object]:
        raise OverflowError("date value out of range")

    monkeypatch.setattr(engine_module, "judge_select", explode)
    select = SelectControlType(message_id="sct-1", control_type=ControlType.FILL_RATE_BASED_CONTROL)
    pair.rm.receive(frame(select), T0)
    (answer,) = reception_statuses(pair.rm.data_to_send())
    assert (answer["subject_message_id"], answer["status"]) == ("sct-1", "TEMPORARY_ERROR")
    assert answer["diagnostic_label"] == "the receiver failed to judge the SelectControlType (OverflowError)"
    (failed,) = of_type(pair.rm.events(), CallbackFailed)
    assert failed.where == "engine" and failed.message == select and isinstance(failed.error, OverflowError)
    assert not pair.rm.closed and not pair.rm.closing
    pair.rm.receive(frame(power_measurement("pm-next")), T0)  # wrong sender: judged as usual
    (answer,) = reception_statuses(pair.rm.data_to_send())
    assert answer["status"] == "INVALID_CONTENT" and answer["diagnostic_label"].startswith("S2-SESSION-001")


def test_a_fault_after_the_answer_is_not_answered_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    pair = Pair.create()
    pair.initialize(control_type=None)

    def explode(*args: object) -> None:
        raise RuntimeError("bookkeeping failed")

    monkeypatch.setattr(Session, "_activate", explode)  # runs after the OK is queued
    pair.rm.receive(frame(SelectControlType(message_id="sct-2", control_type=ControlType.NO_SELECTION)), T0)
    assert [(a["subject_message_id"], a["status"]) for a in reception_statuses(pair.rm.data_to_send())] == [
        ("sct-2", "OK")
    ]
    assert [e.where for e in of_type(pair.rm.events(), CallbackFailed)] == ["engine"]


def test_a_fault_while_taking_a_reception_status_is_reported_not_answered() -> None:
    class Broken(RetryPolicy):
        def delay(self, attempts: int) -> timedelta | None:
            raise ValueError("no delay for you")

    pair = Pair.create(cem={"handler": _fails(1, TemporaryError("busy"))[1]}, rm={"retry": Broken()})
    pair.initialize(control_type=None)
    pair.rm.send(power_measurement("pm-3"), T0)
    pair.pump()  # the CEM answers TEMPORARY_ERROR; asking the policy for a delay raises
    (failed,) = of_type(pair.rm_events, CallbackFailed)
    assert failed.where == "engine" and isinstance(failed.error, ValueError)
    assert not pair.rm.closed
    sent, answered = answers_by_subject(pair.transcript)
    assert sent == answered  # nothing answered twice, and no answer to an answer


def test_checker_errors_warnings_and_apply() -> None:
    cem_checker, rm_checker = _Checker(), _Checker()
    pair = Pair.create(cem={"checker": cem_checker}, rm={"checker": rm_checker})
    pair.initialize()
    with pytest.raises(RuleViolation) as info:
        pair.rm.send(power_measurement(value=2e6), T0)
    assert info.value.diagnostic == "TEST-001 at /values/0/value: too much" and info.value.rule == "TEST-001"
    pair.rm.send(power_measurement(value=6000), T0)
    pair.pump()
    assert of_type(pair.cem_events, ContentWarning)[-1].diagnostics == ("TEST-002 at /values/0/value: a lot",)
    assert of_type(pair.rm_events, ContentWarning)[-1].direction == "rm>cem"
    # a peer that sends it anyway gets INVALID_CONTENT with the finding as the label
    pair.cem.receive(frame(power_measurement("pm-big", value=2e6)), T0)
    (answer,) = reception_statuses(pair.cem.data_to_send())
    assert (answer["status"], answer["diagnostic_label"]) == (
        "INVALID_CONTENT",
        "TEST-001 at /values/0/value: too much",
    )
    # apply saw every frame on the wire, both directions, on both sides
    for checker in (cem_checker, rm_checker):
        assert {("rm>cem", "PowerMeasurement"), ("cem>rm", "ReceptionStatus")} <= set(checker.applied)
    assert ("cem>rm", "HandshakeResponse") in rm_checker.applied
    cem_checker.explode = True
    pair.cem.receive(frame(power_measurement("pm-2")), T0)
    (answer,) = reception_statuses(pair.cem.data_to_send())
    assert answer["status"] == "TEMPORARY_ERROR"
    assert of_type(pair.cem.events(), CallbackFailed)[0].where == "checker"


# --- policy ----------------------------------------------------------------------------------------------


def test_retry_policy_delays() -> None:
    policy = RetryPolicy(max_attempts=50, first_delay=timedelta(seconds=1), factor=3, max_delay=timedelta(seconds=20))
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [timedelta(seconds=s) for s in (1, 3, 9, 20)]
    assert policy.delay(49) == timedelta(seconds=20) and policy.delay(50) is None
    assert RetryPolicy(max_attempts=1).delay(1) is None
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


def test_message_received_once_per_ok() -> None:
    pair = Pair.create()
    pair.initialize()
    oks = sum(1 for d, doc in pair.decoded() if d == "cem>rm" and doc.get("status") == "OK")
    assert len(of_type(pair.cem_events, MessageReceived)) == oks


def test_one_state_and_its_table_drive_phase_and_flags() -> None:
    from s2ws.messages.states import Phase
    from s2ws.session.engine import ALLOWS, State

    pair = Pair.create()
    cem = pair.cem

    def state() -> State:  # read afresh each time (no narrowing across calls)
        return cem.state

    assert state() is State.NEW and not cem.started and cem.phase is Phase.HANDSHAKE
    cem.start(pair.clock.now)
    assert state() is State.HANDSHAKE and cem.started
    pair.initialize(FRBC)
    assert state() is State.OPEN and cem.phase is Phase.INITIALIZED
    cem.close("enough", pair.clock.now, terminate=True)
    assert state() is State.CLOSING and cem.closing and not cem.closed and cem.phase is Phase.CLOSED
    with pytest.raises(SessionClosedError, match="closing"):
        cem.send(frbc_instruction_om1(), pair.clock.now)
    pair.pump()
    assert state() is State.CLOSED and cem.closed and not cem.closing and cem.next_wakeup() is None
    # the table alone says what a state allows; no flag repeats it
    assert {state for state, allows in ALLOWS.items() if allows.send} == {State.NEW, State.HANDSHAKE, State.OPEN}
    assert not {"phase", "started", "closing", "closed"} & set(
        type(cem).__slots__
    )  # the only attributes an instance can hold
