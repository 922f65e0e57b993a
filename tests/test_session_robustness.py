"""Bad or surprising input: each case gets the right answer and the session stays alive."""

from __future__ import annotations

import json
import uuid

import pytest

from builders import (
    CEM,
    FRBC,
    PEBC,
    RM,
    T0,
    Pair,
    energy_constraint_from_t0,
    frame,
    of_type,
    power_measurement,
    reception_statuses,
    storage_status,
)
from s2ws.errors import InvalidContent
from s2ws.messages import Phase, ReceptionStatus, ReceptionStatusValues, S2Message, SelectControlType, new_id
from s2ws.session import (
    NIL_ID,
    AckTimeout,
    ControlTypeSelected,
    DuplicateReceptionStatus,
    MalformedReceptionStatus,
    MessageReceived,
    ReceptionStatusReceived,
    RejectedIncoming,
    Session,
    UnsolicitedReceptionStatus,
)


def _answer(session: Session, raw: str | bytes) -> dict[str, object]:
    """Feed one frame; return its single ReceptionStatus (asserting there is exactly one)."""
    session.receive(raw, T0)
    (answer,) = reception_statuses(session.data_to_send())
    return answer


def _alive(pair: Pair) -> None:
    """The CEM still accepts a normal message afterwards."""
    assert not pair.cem.closed
    pair.rm.send(power_measurement(), pair.clock.now)
    pair.pump()
    assert isinstance(pair.cem_events[-1], MessageReceived)


def test_valid_message_without_handler_is_ok() -> None:
    pair = Pair.create()
    pair.initialize()
    message = power_measurement("pm-1")
    assert _answer(pair.cem, frame(message)) == {
        "message_type": "ReceptionStatus",
        "subject_message_id": "pm-1",
        "status": "OK",
    }
    assert pair.cem.events()[-1] == MessageReceived(message)


def test_handler_that_ignores_a_type_still_answers_ok() -> None:
    seen: list[S2Message] = []
    pair = Pair.create(cem={"handler": seen.append})
    pair.initialize()
    assert _answer(pair.cem, frame(storage_status(50.0)))["status"] == "OK"
    assert len(seen) == 2  # ResourceManagerDetails and the StorageStatus; handshake messages skip it


def test_non_uuid_ids() -> None:
    pair = Pair.create()
    pair.initialize()
    # a short id matching the ID pattern is fine, as in the official examples
    assert _answer(pair.cem, frame(power_measurement("om1")))["status"] == "OK"
    # an id that is not an ID cannot be named in an answer: INVALID_DATA for the nil UUID
    doc = json.loads(frame(power_measurement()))
    doc["message_id"] = "not an id!"
    answer = _answer(pair.cem, json.dumps(doc))
    assert (answer["status"], answer["subject_message_id"]) == ("INVALID_DATA", NIL_ID)
    _alive(pair)


def test_duplicate_reception_status() -> None:
    pair = Pair.create()
    pair.initialize()
    pair.rm.send(message := power_measurement(), pair.clock.now)
    (pm_frame,) = pair.rm.data_to_send()
    ok = frame(ReceptionStatus(subject_message_id=message.message_id, status=ReceptionStatusValues.OK))
    pair.rm.receive(ok, T0)
    pair.rm.receive(ok, T0)
    events = pair.rm.events()
    assert [type(e) for e in events] == [ReceptionStatusReceived, DuplicateReceptionStatus]
    assert pair.rm.data_to_send() == []  # a ReceptionStatus is never answered
    pair.cem.receive(pm_frame, T0)  # keep the CEM in step
    pair.pump()
    assert not pair.rm.closed


def test_ten_thousand_unsolicited_reception_statuses_stay_bounded() -> None:
    pair = Pair.create(cem={"max_remembered": 256})
    pair.initialize()
    before = pair.cem.sizes()
    for i in range(10_000):
        subject = str(uuid.UUID(int=i))
        pair.cem.receive(frame(ReceptionStatus(subject_message_id=subject, status=ReceptionStatusValues.OK)), T0)
        if i % 1000 == 0:
            assert pair.cem.sizes() == before
            assert len(pair.cem.events()) == (1 if i == 0 else 1000)
    events = pair.cem.events()
    assert all(isinstance(e, UnsolicitedReceptionStatus) for e in events)
    assert pair.cem.data_to_send() == []
    assert pair.cem.sizes() == before
    _alive(pair)


def test_answered_ids_are_remembered_within_the_cap() -> None:
    cap = 32
    pair = Pair.create(rm={"max_remembered": cap})
    pair.initialize()
    for _ in range(10 * cap):
        pair.rm.send(power_measurement(), pair.clock.now)
        pair.pump()
    sizes = pair.rm.sizes()
    assert sizes["answered"] == cap and sizes["outstanding"] == 0
    assert sizes["deadline_heap"] <= 2 * sizes["outstanding"] + 64


def test_garbage() -> None:
    pair = Pair.create()
    pair.initialize()
    for raw in (b"\xff\xfe\x00garbage", "", "not json", "[1, 2, 3]", "42", '"text"', "null", "{"):
        answer = _answer(pair.cem, raw)
        assert (answer["status"], answer["subject_message_id"]) == ("INVALID_DATA", NIL_ID), raw
    # JSON object with a usable id but not a valid message: INVALID_MESSAGE naming it
    answer = _answer(pair.cem, '{"message_type": "NoSuchMessage", "message_id": "abc-1"}')
    assert (answer["status"], answer["subject_message_id"]) == ("INVALID_MESSAGE", "abc-1")
    rejected = of_type(pair.cem.events(), RejectedIncoming)
    assert len(rejected) == 9 and rejected[-1].raw == '{"message_type": "NoSuchMessage", "message_id": "abc-1"}'
    _alive(pair)


def test_malformed_reception_status_is_not_answered() -> None:
    pair = Pair.create()
    pair.initialize()
    pair.cem.receive('{"message_type": "ReceptionStatus", "subject_message_id": "abc"}', T0)
    assert pair.cem.data_to_send() == []
    (event,) = pair.cem.events()
    assert isinstance(event, MalformedReceptionStatus) and "status" in event.diagnostic
    _alive(pair)


def test_message_of_another_control_type() -> None:
    pair = Pair.create()
    pair.initialize(FRBC)
    answer = _answer(pair.cem, frame(energy_constraint_from_t0()))
    assert answer["status"] == "INVALID_CONTENT"
    assert str(answer["diagnostic_label"]).startswith("S2-SESSION-003 at /message_type: PEBC.EnergyConstraint belongs")
    # and send() refuses to write one
    with pytest.raises(InvalidContent, match="S2-SESSION-003"):
        pair.rm.send(energy_constraint_from_t0(), T0)
    _alive(pair)


def test_message_before_the_handshake() -> None:
    cem = Session(CEM)
    cem.start(T0)
    cem.data_to_send()
    answer = _answer(cem, frame(power_measurement("early-1")))
    assert answer["status"] == "INVALID_CONTENT" and answer["subject_message_id"] == "early-1"
    assert str(answer["diagnostic_label"]).startswith("S2-SESSION-002")
    assert cem.phase is Phase.HANDSHAKE and not cem.closed


def test_receive_before_start_starts_the_session() -> None:
    rm = Session(RM)
    rm.receive(frame(power_measurement()), T0)
    out = [json.loads(f) for f in rm.data_to_send()]
    assert [d["message_type"] for d in out] == ["Handshake", "ReceptionStatus"]


def test_late_acknowledgement_after_ack_timeout() -> None:
    pair = Pair.create()
    pair.initialize(control_type=None)
    select = SelectControlType(message_id=new_id(), control_type=PEBC)
    pair.cem.send(select, pair.clock.now)
    held = pair.cem.data_to_send()  # the RM does not hear it yet
    wake = pair.cem.next_wakeup()
    assert wake == pair.clock.now + pair.cem.ack_timeout
    pair.clock.now = wake
    pair.cem.handle_timeout(wake)
    assert pair.cem.events() == [AckTimeout(select)]
    assert pair.cem.active_control_type is None
    for f in held:  # now it arrives; the late OK still switches the CEM
        pair.rm.receive(f, pair.clock.now)
    pair.pump()
    late = of_type(pair.cem_events, ReceptionStatusReceived)[-1]
    assert late.late and late.message == select and late.status.status is ReceptionStatusValues.OK
    assert of_type(pair.cem_events, ControlTypeSelected)[-1] == ControlTypeSelected(PEBC)
    assert pair.cem.active_control_type is PEBC is pair.rm.active_control_type
    assert not of_type(pair.cem_events, UnsolicitedReceptionStatus)
    _alive(pair)


def test_handshake_repeated_after_completion_is_refused() -> None:
    pair = Pair.create()
    pair.initialize()
    doc = {
        "message_type": "Handshake",
        "message_id": "hs-again",
        "role": "RM",
        "supported_protocol_versions": ["0.0.2-beta"],
    }
    answer = _answer(pair.cem, json.dumps(doc))
    assert answer["status"] == "INVALID_CONTENT" and str(answer["diagnostic_label"]).startswith("S2-SESSION-005")
    _alive(pair)


def test_wrong_sender_is_refused() -> None:
    pair = Pair.create()
    pair.initialize()
    # an RM cannot send SelectControlType
    answer = _answer(pair.cem, frame(SelectControlType(message_id="sct-1", control_type=FRBC)))
    assert answer["status"] == "INVALID_CONTENT" and str(answer["diagnostic_label"]).startswith("S2-SESSION-001")
    _alive(pair)
