"""The slow path that lists every schema problem of a frame, worded as the codec words one."""

from __future__ import annotations

import json

import pytest

from s2ws.codec import decode
from s2ws.errors import DecodeError, InvalidData
from s2ws.schema_problems import SchemaProblem, schema_problems

MEASUREMENT = {
    "message_type": "PowerMeasurement",
    "message_id": "m-1",
    "measurement_timestamp": "2024-01-01T00:00:00Z",
    "values": [{"commodity_quantity": "ELECTRIC.POWER.L1", "value": 1.0}],
}


def frame(doc: object) -> bytes:
    return json.dumps(doc).encode()


def test_a_valid_frame_has_no_problems() -> None:
    assert schema_problems(frame(MEASUREMENT)) == []


def test_four_faults_are_four_problems_in_document_order() -> None:
    doc = dict(MEASUREMENT, message_id="m 1", measurement_timestamp="2024-01-01T00:00:00", extra=True)
    doc["values"] = [{"commodity_quantity": "ELECTRIC.POWER.L9", "value": 1.0}]
    problems = schema_problems(frame(doc))
    assert [p.pointer for p in problems] == [
        "/message_id",
        "/measurement_timestamp",
        "/values/0/commodity_quantity",
        "/extra",
    ]
    assert "is not an ID" in problems[0].reason
    assert "no UTC offset" in problems[1].reason
    assert problems[2].reason.startswith('"ELECTRIC.POWER.L9" is not a CommodityQuantity')
    assert problems[3].reason.startswith('unknown field "extra"')


def test_missing_fields_and_list_lengths_are_each_reported() -> None:
    doc = {"message_type": "PowerMeasurement", "message_id": "m-1", "values": []}
    problems = schema_problems(frame(doc))
    assert {p.pointer for p in problems} == {"/values", "/measurement_timestamp"}
    assert any("has 0 items; at least 1 required" in p.reason for p in problems)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("message_id", "x"),
        ("message_id", 5),
        ("measurement_timestamp", "yesterday"),
        ("values", "none"),
        ("values", [{"commodity_quantity": "ELECTRIC.POWER.L1", "value": None}]),
        ("colour", "blue"),
    ],
)
def test_one_fault_reads_as_the_codec_reads_it(field: str, value: object) -> None:
    data = frame(dict(MEASUREMENT, **{field: value}))
    with pytest.raises(DecodeError) as caught:
        decode(data)
    (problem,) = schema_problems(data)
    error = caught.value
    # without a usable message_id the codec prefixes why no answer can name the frame
    reason = error.reason.split("first problem: ", 1)[-1] if isinstance(error, InvalidData) else error.reason
    assert problem == SchemaProblem(error.pointer, reason)


def test_an_unknown_or_missing_message_type_is_the_only_problem() -> None:
    assert [p.pointer for p in schema_problems(frame({"message_id": "m-1", "extra": 1}))] == ["/message_type"]
    (problem,) = schema_problems(frame(dict(MEASUREMENT, message_type="PowerMeasurements")))
    assert "unknown message_type" in problem.reason


def test_what_is_not_a_json_object_is_left_to_the_codec() -> None:
    assert schema_problems(b"[1, 2]") == []
    assert schema_problems(b"{not json") == []


def test_a_member_named_twice_is_reported_where_the_codec_refused_it() -> None:
    """Found by fuzzing: msgspec checks every occurrence of a member and keeps the last, so the codec
    refused the first (too long) message_id while the parsed document only showed the valid second one."""
    data = (
        b'{"message_type":"SessionRequest","message_id":"cem-' + b"(" * 50 + b'ionReques;t",'
        b'"message_id":"beReceptionStatusNE"}'
    )
    with pytest.raises(DecodeError) as caught:
        decode(data)
    problems = schema_problems(data)
    assert caught.value.pointer in {p.pointer for p in problems}
    assert problems[0] == SchemaProblem(
        "/message_id", 'member "message_id" appears more than once (readers differ on which counts)'
    )
    assert problems[1].pointer == "/request"


def test_a_message_type_named_twice_is_reported_before_the_type_it_names() -> None:
    """Found by fuzzing: msgspec picks the class by the first message_type, the parsed document holds
    the last; the slow path says so instead of only judging a different message than the codec did."""
    data = (
        b'{"message_type":"SessionRequest","extra":1,"message_type":"Sessionnn",'
        b'"message_id":"cem-sr-0","request":"TER-1","request":"TERMINATE"}'
    )
    with pytest.raises(DecodeError) as caught:
        decode(data)
    assert caught.value.pointer == "/extra"
    assert [(p.pointer, p.reason.split(" (")[0]) for p in schema_problems(data)] == [
        ("/message_type", 'member "message_type" appears more than once'),
        ("/request", 'member "request" appears more than once'),
        ("/message_type", 'unknown message_type "Sessionnn" in profile 0.0.2-beta'),
    ]
