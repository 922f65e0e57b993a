"""Codec behaviour that the property tests do not pin: profiles, encoding shape, checked encode."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import msgspec
import pytest

import s2ws
from s2ws import (
    UNSET,
    ControlType,
    DDBCPresentDemandStatus,
    EncodeError,
    FRBCStorageStatus,
    InvalidData,
    InvalidMessage,
    NumberRange,
    ProfileError,
    ReceptionStatus,
    ReceptionStatusValues,
    SelectControlType,
    Transition,
)


def test_decode_returns_the_message_class() -> None:
    msg = s2ws.decode(b'{"message_type":"FRBC.StorageStatus","message_id":"m-1","present_fill_level":42.5}')
    assert msg == FRBCStorageStatus(message_id="m-1", present_fill_level=42.5)


def test_decode_accepts_text_and_an_integer_for_a_number() -> None:
    msg = s2ws.decode('{"message_type":"FRBC.StorageStatus","message_id":"m-1","present_fill_level":42}')
    assert isinstance(msg, FRBCStorageStatus) and msg.present_fill_level == 42.0


def test_encode_omits_absent_optionals_and_never_writes_null() -> None:
    status = ReceptionStatus(subject_message_id="m-1", status=ReceptionStatusValues.OK)
    assert s2ws.encode(status) == b'{"message_type":"ReceptionStatus","subject_message_id":"m-1","status":"OK"}'
    assert status.diagnostic_label is UNSET


def test_transition_from_keeps_its_wire_name() -> None:
    t = Transition(id="t1", from_="a1", to="b1", start_timers=[], blocking_timers=[], abnormal_condition_only=False)
    assert msgspec.json.decode(msgspec.json.encode(t))["from"] == "a1"
    assert s2ws.decode_as(msgspec.json.encode(t), Transition) == t


def test_timestamps_keep_their_offset() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    msg = s2ws.FRBCTimerStatus(message_id="m-1", timer_id="t1", actuator_id="a1", finished_at=when)
    assert b'"finished_at":"2026-01-02T03:04:05+02:00"' in s2ws.encode(msg)


def test_encode_checked_refuses_a_naive_timestamp() -> None:
    msg = s2ws.FRBCTimerStatus(message_id="m-1", timer_id="t1", actuator_id="a1", finished_at=datetime(2026, 1, 1))
    with pytest.raises(EncodeError) as info:
        s2ws.encode_checked(msg)
    assert info.value.pointer == "/finished_at"
    assert "offset" in info.value.reason


def test_encode_checked_refuses_a_bad_id_and_a_factorless_type() -> None:
    with pytest.raises(EncodeError) as info:
        s2ws.encode_checked(SelectControlType(message_id="x", control_type=ControlType.NO_SELECTION))
    assert info.value.pointer == "/message_id"
    ok = SelectControlType(message_id=s2ws.new_id(), control_type=ControlType.NO_SELECTION)
    assert s2ws.decode(s2ws.encode_checked(ok)) == ok


def test_profiles_differ_only_in_ddbc_demand() -> None:
    rate = NumberRange(start_of_range=1.0, end_of_range=2.0)
    status = DDBCPresentDemandStatus(message_id="m-1", present_demand_rate=rate)
    data = s2ws.encode(status)
    assert s2ws.decode(data, profile="1.0.0") == status
    assert s2ws.decode(data, profile="v1.0.0") == status  # one leading v is ignored
    with pytest.raises(InvalidMessage) as info:
        s2ws.decode(data)  # 0.0.2-beta has no such message
    assert info.value.pointer == "/message_type" and "0.0.2-beta" in info.value.reason
    with pytest.raises(EncodeError):
        s2ws.encode_checked(status, profile="0.0.2-beta")


def test_ddbc_system_description_shape_depends_on_profile() -> None:
    old = (
        b'{"message_type":"DDBC.SystemDescription","message_id":"m-1","valid_from":"2026-01-01T00:00:00Z",'
        b'"actuators":[{"id":"a1","supported_commodites":["GAS"],"operation_modes":[{"Id":"o1",'
        b'"power_ranges":[{"start_of_range":0,"end_of_range":1,"commodity_quantity":"NATURAL_GAS.FLOW_RATE"}],'
        b'"supply_range":{"start_of_range":0,"end_of_range":1},"abnormal_condition_only":false}],'
        b'"transitions":[],"timers":[]}],"present_demand_rate":{"start_of_range":0,"end_of_range":1},'
        b'"provides_average_demand_rate_forecast":false}'
    )
    assert isinstance(s2ws.decode(old), s2ws.DDBCSystemDescription)
    with pytest.raises(InvalidMessage) as info:
        s2ws.decode(old, profile="1.0.0")
    assert info.value.pointer == "/present_demand_rate"


def test_unknown_profile_is_a_clear_error() -> None:
    with pytest.raises(ProfileError, match=r"unknown profile '9\.9'"):
        s2ws.decode(b"{}", profile="9.9")


@pytest.mark.parametrize(
    ("frame", "status", "pointer", "message_id"),
    [
        (b"not json", ReceptionStatusValues.INVALID_DATA, "", None),
        (b"[]", ReceptionStatusValues.INVALID_DATA, "", None),
        (
            b'{"message_type":"SelectControlType","control_type":"NO_SELECTION"}',
            ReceptionStatusValues.INVALID_DATA,
            "/message_id",
            None,
        ),
        (b'{"message_type":"Nope","message_id":"m-1"}', ReceptionStatusValues.INVALID_MESSAGE, "/message_type", "m-1"),
        (b'{"message_id":"m-1"}', ReceptionStatusValues.INVALID_MESSAGE, "/message_type", "m-1"),
        (
            b'{"message_type":"SelectControlType","message_id":"m-1","control_type":"NO_SELECTION","x":1}',
            ReceptionStatusValues.INVALID_MESSAGE,
            "/x",
            "m-1",
        ),
    ],
)
def test_failures_carry_status_pointer_and_id(
    frame: bytes, status: ReceptionStatusValues, pointer: str, message_id: str | None
) -> None:
    with pytest.raises((InvalidData, InvalidMessage)) as info:
        s2ws.decode(frame)
    err = info.value
    assert isinstance(err, s2ws.DecodeError)
    assert (err.status, err.pointer, err.message_id) == (status, pointer, message_id)
    assert err.reason and "\n" not in err.reason


def test_naive_timestamp_is_refused_with_its_value() -> None:
    frame = (
        b'{"message_type":"FRBC.TimerStatus","message_id":"m-1","timer_id":"t1",'
        b'"actuator_id":"a1","finished_at":"2026-01-01T00:00:00"}'
    )
    with pytest.raises(InvalidMessage) as info:
        s2ws.decode(frame)
    assert info.value.pointer == "/finished_at"
    assert '"2026-01-01T00:00:00"' in info.value.reason


def test_new_id_is_a_uuid4_that_the_id_pattern_accepts() -> None:
    ident = s2ws.new_id()
    assert len(ident) == 36 and ident[14] == "4"
    s2ws.encode_checked(SelectControlType(message_id=ident, control_type=ControlType.NO_SELECTION))


def test_models_are_immutable() -> None:
    msg = FRBCStorageStatus(message_id="m-1", present_fill_level=1.0)
    with pytest.raises(AttributeError):
        msg.present_fill_level = 2.0  # type: ignore[misc]
    assert msgspec.structs.replace(msg, present_fill_level=2.0).present_fill_level == 2.0


def test_message_info_covers_every_message_of_every_profile() -> None:
    for profile in s2ws.PROFILES.values():
        for name in profile.by_type:
            assert name in s2ws.MESSAGE_INFO, name
    assert sum(1 for i in s2ws.MESSAGE_INFO.values() if "0.0.2-beta" in i.profiles) == 35
    assert len(s2ws.REVOCABLE_TYPES) == 13
    assert {r.value for r in s2ws.RevokableObjects} == set(s2ws.REVOCABLE_TYPES)


@pytest.mark.parametrize(
    "frame",
    [
        b'"\x80"',
        b'{"a":"\x80"}',
        b'{"message_type":"\x80","message_id":"ab"}',
        b'{"message_type":"Handshake","role":"\xff"}',
    ],
)
def test_invalid_utf8_inside_a_string_is_invalid_data(frame: bytes) -> None:
    with pytest.raises(InvalidData, match="not valid JSON"):
        s2ws.decode(frame)
