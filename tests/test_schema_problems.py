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
