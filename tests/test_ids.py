"""The ID rule, checked by the codec for all ids of a message at once, is the anchored pattern."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import s2ws
from s2ws.errors import DecodeError, EncodeError, InvalidData, InvalidMessage
from s2ws.ids import first_bad_id, id_check
from s2ws.messages import ID_MATCH_PATTERN
from s2ws.messages.common import Transition
from s2ws.messages.frbc import FRBCActuatorStatus

_ID = re.compile(ID_MATCH_PATTERN)

STATUS = {
    "message_type": "FRBC.ActuatorStatus",
    "message_id": "m-1",
    "actuator_id": "a-1",
    "active_operation_mode_id": "om-1",
    "operation_mode_factor": 0.5,
}
TRANSITION = {
    "id": "t-1",
    "from": "om-1",
    "to": "om-2",
    "start_timers": ["tm-1"],
    "blocking_timers": [],
    "abnormal_condition_only": False,
}
# Near misses as well as anything: the characters next to the allowed ones, non-ASCII, control characters.
CANDIDATES = st.one_of(
    st.text(min_size=0, max_size=70),
    st.text("ab9-_:./ \n\t\x00é\u2028", min_size=0, max_size=70),
)


def refusal(data: bytes, call: Any = s2ws.decode) -> DecodeError | None:
    try:
        call(data)
    except DecodeError as err:
        return err
    return None


@given(value=CANDIDATES, field=st.sampled_from(["message_id", "actuator_id", "previous_operation_mode_id"]))
def test_an_id_is_accepted_exactly_when_the_pattern_matches(value: str, field: str) -> None:
    err = refusal(json.dumps({**STATUS, field: value}).encode())
    if _ID.match(value):
        assert err is None
    else:
        assert err is not None and err.pointer == f"/{field}"
        assert isinstance(err, InvalidData if field == "message_id" else InvalidMessage)
        assert "is not an ID" in err.reason


@given(value=CANDIDATES, where=st.sampled_from(["id", "from", "start_timers"]))
def test_ids_nested_in_lists_of_a_component_are_checked(value: str, where: str) -> None:
    doc: dict[str, Any] = {**TRANSITION, where: [value] if where == "start_timers" else value}
    err = refusal(json.dumps(doc).encode(), lambda data: s2ws.decode_as(data, Transition))
    if _ID.match(value):
        assert err is None
    else:
        assert err is not None and err.pointer == f"/{where}" + ("/0" if where == "start_timers" else "")


def test_the_first_bad_id_in_document_order_is_named() -> None:
    doc = {**STATUS, "actuator_id": "a 1", "active_operation_mode_id": "om!1"}
    err = refusal(json.dumps(doc).encode())
    assert err is not None and err.pointer == "/actuator_id" and err.reason.startswith('"a 1" is not an ID: " "')
    assert first_bad_id(doc, FRBCActuatorStatus) == (["actuator_id"], "a 1")


def test_a_length_fault_reads_as_an_id_fault() -> None:
    err = refusal(json.dumps({**STATUS, "actuator_id": "a"}).encode())
    assert err is not None and err.pointer == "/actuator_id"
    assert (
        err.reason
        == "\"a\" is not an ID: 1 character, at least 2 needed (2 to 64 characters of A-Z, a-z, 0-9, '-', '_', ':')"
    )


def test_encode_checked_refuses_a_model_built_with_a_bad_id() -> None:
    message = FRBCActuatorStatus(
        message_id="m-1", actuator_id="a 1", active_operation_mode_id="om-1", operation_mode_factor=0.5
    )
    assert not id_check(FRBCActuatorStatus)(message)
    with pytest.raises(EncodeError) as caught:
        s2ws.encode_checked(message)
    assert caught.value.pointer == "/actuator_id"
