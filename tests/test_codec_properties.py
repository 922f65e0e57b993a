"""Property tests of the models and the codec, on messages generated from the models.

(a) every generated message is valid against the upstream JSON Schema of its type;
(b) decode(encode(m)) == m, and encoding is stable;
(c) every single mutation the schema forbids is refused as INVALID_MESSAGE (INVALID_DATA
    for a broken message_id) with a JSON pointer to the mutated field;
(d) frames that cannot be understood are INVALID_DATA;
(e) totality: no input makes decoding raise anything but InvalidData or InvalidMessage.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

import msgspec
import msgspec.inspect as mi
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

import s2ws
from s2ws.errors import DecodeError, InvalidData, InvalidMessage
from s2ws.ids import is_id_type
from s2ws.messages import (
    PROFILES,
    FRBCSystemDescription,
    NumberRange,
    PEBCPowerConstraints,
    ReceptionStatus,
    ResourceManagerDetails,
    S2Message,
    S2Object,
    Transition,
    message_type_of,
)
from s2ws.messages.enums import ReceptionStatusValues
from s2ws.messages.profiles import DEFAULT_PROFILE, Profile
from strategies import component_classes, from_model, ids, message_classes, profile_of

ALL_MESSAGE_CLASSES: Final = tuple(dict.fromkeys(cls for p in PROFILES.values() for cls in p.messages))
UPSTREAM_CLASSES: Final = frozenset(DEFAULT_PROFILE.messages)
"""The upstream schemas describe the 0.0.2-beta wire; 1.0.0-only shapes have no upstream schema."""

SETTINGS: Final = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _id(cls: object) -> str:
    return getattr(cls, "__name__", repr(cls))


def _doc(obj: S2Object) -> Any:
    return msgspec.json.decode(msgspec.json.encode(obj))


# --- (a) upstream JSON Schema -------------------------------------------------------------------


@cache
def _validators(root: Path) -> dict[str, Any]:
    """One validator per upstream message schema, with every schema file in its ``$ref`` registry."""
    resources = []
    messages: dict[str, Any] = {}
    for path in sorted(root.glob("*/*.schema.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((contents["$id"], Resource.from_contents(contents)))
        if path.parent.name == "messages":
            messages[contents["properties"]["message_type"]["const"]] = contents
    registry: Registry[Any] = Registry().with_resources(resources)
    checker = Draft202012Validator.FORMAT_CHECKER
    return {
        name: Draft202012Validator(schema, registry=registry, format_checker=checker)
        for name, schema in messages.items()
    }


def _schema_errors(validator: Any, doc: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


def test_upstream_validator_is_real_and_checks_date_time(json_schema_dir: Path) -> None:
    validators = _validators(json_schema_dir)
    assert set(validators) == {message_type_of(cls) for cls in UPSTREAM_CLASSES}
    good = {
        "message_type": "FRBC.TimerStatus",
        "message_id": "m-1",
        "timer_id": "t1",
        "actuator_id": "a1",
        "finished_at": "2026-01-01T00:00:00Z",
    }
    check = validators["FRBC.TimerStatus"]
    assert _schema_errors(check, good) == []
    assert _schema_errors(check, {**good, "finished_at": "2026-01-01T00:00:00"})  # no offset: format checked
    assert _schema_errors(check, {**good, "timer_id": "x"})  # $ref to ID resolved
    assert _schema_errors(check, {**good, "x": 1})  # additionalProperties: false


@pytest.mark.parametrize("cls", sorted(UPSTREAM_CLASSES, key=_id), ids=_id)
@SETTINGS
@given(data=st.data())
def test_generated_messages_are_valid_upstream(
    cls: type[S2Message], json_schema_dir: Path, data: st.DataObject
) -> None:
    validator = _validators(json_schema_dir)[message_type_of(cls)]
    message = data.draw(from_model(cls), label="message")
    assert _schema_errors(validator, _doc(message)) == []


def test_one_zero_zero_only_shapes_are_the_expected_ones() -> None:
    """The upstream-schema check skips exactly the two shapes that only 1.0.0 has."""
    skipped = {message_type_of(cls) for cls in ALL_MESSAGE_CLASSES if cls not in UPSTREAM_CLASSES}
    assert skipped == {"DDBC.PresentDemandStatus", "DDBC.SystemDescription"}  # the latter: without present_demand_rate


# --- (b) round trip ------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL_MESSAGE_CLASSES, ids=_id)
@SETTINGS
@given(data=st.data())
def test_messages_round_trip(cls: type[S2Message], data: st.DataObject) -> None:
    message = data.draw(from_model(cls), label="message")
    profile = profile_of(cls)
    encoded = s2ws.encode(message)
    decoded = s2ws.decode(encoded, profile)
    assert type(decoded) is cls
    assert decoded == message
    assert s2ws.encode(decoded) == encoded
    assert s2ws.encode_checked(message, profile) == encoded


@pytest.mark.parametrize("cls", component_classes(), ids=_id)
@settings(SETTINGS, max_examples=10)
@given(data=st.data())
def test_components_round_trip(cls: type[S2Object], data: st.DataObject) -> None:
    value = data.draw(from_model(cls), label="value")
    encoded = msgspec.json.encode(value)
    decoded = s2ws.decode_as(encoded, cls)
    assert decoded == value
    assert msgspec.json.encode(decoded) == encoded


# --- (c) mutations -------------------------------------------------------------------------------

_DROP: Final = object()
UNKNOWN_FIELD: Final = "x_not_in_s2"
BAD_IDS: Final = ("a", "", "a b", "ab!", "é1", "a/b", "a" * 65)
NAIVE_TIMES: Final = ("2024-05-01T12:00:00", "2024-05-01T12:00:00.250")
NOT_TIMES: Final = ("2024-05-01", "yesterday", "2024-05-01T12:00Z")
WRONG_TYPES: Final[dict[str, Any]] = {
    "string": "x",
    "integer": 7,
    "number": 1.5,
    "boolean": True,
    "array": [],
    "object": {},
}

JsonPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Mutation:
    kind: str
    where: JsonPath
    """Path of the value that changes; for a dropped or added field, the field's own path."""
    value: Any = _DROP

    @property
    def pointer(self) -> str:
        return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in self.where)

    def apply(self, doc: Any) -> bytes:
        copy = msgspec.json.decode(msgspec.json.encode(doc))
        parent = copy
        for part in self.where[:-1]:
            parent = parent[part]
        if self.value is _DROP:
            del parent[self.where[-1]]
        else:
            parent[self.where[-1]] = self.value
        return msgspec.json.encode(copy)

    def __str__(self) -> str:
        shown = "<dropped>" if self.value is _DROP else json.dumps(self.value)[:40]
        return f"{self.kind} at {self.pointer or '/'} = {shown}"


def _json_kinds(t: mi.Type) -> set[str]:
    """The JSON types a value of ``t`` may have (each other JSON type is a wrong type)."""
    if isinstance(t, mi.StructType):
        return {"object"}
    if isinstance(t, mi.ListType):
        return {"array"}
    if isinstance(t, mi.StrType | mi.EnumType | mi.DateTimeType):
        return {"string"}
    if isinstance(t, mi.IntType):
        return {"integer"}
    if isinstance(t, mi.FloatType):
        return {"integer", "number"}
    if isinstance(t, mi.BoolType):
        return {"boolean"}
    raise TypeError(f"the mutation walker does not know {t!r}")


def value_mutations(t: mi.Type, value: Any, where: JsonPath) -> Iterator[Mutation]:
    """Every single change that makes ``value`` (of model type ``t``, at ``where``) invalid."""
    if where:  # a whole frame of the wrong JSON type is INVALID_DATA, tested on its own
        for kind, sample in WRONG_TYPES.items():
            if kind not in _json_kinds(t):
                yield Mutation(f"wrong type ({kind})", where, sample)
        yield Mutation("null", where, None)
    if isinstance(t, mi.EnumType):
        yield Mutation("enum", where, "NOT_AN_ALLOWED_VALUE")
        yield Mutation("enum (case)", where, str(value).lower())
    elif is_id_type(t):
        for bad in BAD_IDS:
            yield Mutation("id pattern", where, bad)
    elif isinstance(t, mi.IntType):
        yield Mutation("integer vs number", where, 1.5)
        if t.ge == 0:
            yield Mutation("negative duration", where, -1)
    elif isinstance(t, mi.DateTimeType):
        for naive in NAIVE_TIMES:
            yield Mutation("timestamp without offset", where, naive)
        for text in NOT_TIMES:
            yield Mutation("not a date-time", where, text)
    elif isinstance(t, mi.StructType):
        for field in t.fields:
            at = (*where, field.encode_name)
            if field.encode_name in value:
                if field.required:
                    yield Mutation("drop required", at)
                yield from value_mutations(field.type, value[field.encode_name], at)
            else:
                yield Mutation("null for absent optional", at, None)
        yield Mutation("unknown field", (*where, UNKNOWN_FIELD), 1)
    elif isinstance(t, mi.ListType):
        if t.min_length:
            yield Mutation("too few items", where, value[: t.min_length - 1])
        if t.max_length is not None and value:
            yield Mutation("too many items", where, (value * (t.max_length // len(value) + 1))[: t.max_length + 1])
        for i, item in enumerate(value):
            yield from value_mutations(t.item_type, item, (*where, i))


def message_mutations(message: S2Message) -> Iterator[Mutation]:
    info = mi.type_info(type(message))
    assert isinstance(info, mi.StructType) and info.tag_field == "message_type"
    doc = _doc(message)
    yield Mutation("drop message_type", ("message_type",))
    yield Mutation("unknown message_type", ("message_type",), "NoSuchMessage")
    yield Mutation("message_type of wrong type", ("message_type",), 7)
    yield Mutation("message_type null", ("message_type",), None)
    yield from value_mutations(info, doc, ())


def _expected_class(cls: type[S2Object], mutation: Mutation) -> type[DecodeError]:
    """A broken message_id leaves nothing to address the answer to: INVALID_DATA."""
    if issubclass(cls, S2Message) and cls is not ReceptionStatus and mutation.where == ("message_id",):
        return InvalidData
    if cls is ReceptionStatus and mutation.where == ("message_type",):
        return InvalidData  # no longer a ReceptionStatus, and no message_id either
    return InvalidMessage


def _named(mutation: Mutation) -> str:
    """What the reason must quote: the dropped or added field's name, the item count, or the new value."""
    if mutation.value is _DROP or mutation.kind == "unknown field":
        return msgspec.json.encode(mutation.where[-1]).decode()
    if mutation.kind in ("too few items", "too many items"):
        return f"has {len(mutation.value)} items"
    return msgspec.json.encode(mutation.value).decode()


def _check_refused(mutation: Mutation, err: DecodeError | None, cls: type[S2Object], doc: Any) -> str:
    """'' when ``err`` is the refusal the mutation deserves, else what is wrong."""
    if err is None:
        return f"{mutation}: accepted"
    expected = _expected_class(cls, mutation)
    problems = []
    if type(err) is not expected or err.status != expected.status:
        problems.append(f"{type(err).__name__}/{err.status.value} instead of {expected.__name__}")
    if err.pointer != mutation.pointer:
        problems.append(f"pointer {err.pointer!r}")
    if "\n" in err.reason or _named(mutation) not in err.reason:
        problems.append(f"reason does not quote {_named(mutation)}")
    if expected is InvalidMessage and issubclass(cls, S2Message) and mutation.where[:1] != ("message_type",):
        if err.message_type != message_type_of(cls):
            problems.append(f"message_type {err.message_type!r}")
        if err.message_id != doc.get("message_id"):
            problems.append(f"message_id {err.message_id!r}")
    return f"{mutation}: " + ", ".join(problems) + f" ({err.reason})" if problems else ""


def _decode_error(call: Any) -> DecodeError | None:
    try:
        call()
    except DecodeError as err:
        return err
    return None


def _report(failures: list[str]) -> str:
    return f"{len(failures)} mutation(s) not refused as expected:\n" + "\n".join(failures[:25])


@pytest.mark.parametrize("cls", ALL_MESSAGE_CLASSES, ids=_id)
@settings(SETTINGS, max_examples=6)
@given(data=st.data())
def test_every_mutation_is_refused_with_a_pointer(cls: type[S2Message], data: st.DataObject) -> None:
    message = data.draw(from_model(cls), label="message")
    profile = profile_of(cls)
    doc = _doc(message)
    failures = []
    for mutation in message_mutations(message):
        frame = mutation.apply(doc)
        err = _decode_error(lambda frame=frame: s2ws.decode(frame, profile))
        if problem := _check_refused(mutation, err, cls, doc):
            failures.append(problem)
    assert not failures, _report(failures)


@pytest.mark.parametrize("cls", component_classes(), ids=_id)
@settings(SETTINGS, max_examples=4)
@given(data=st.data())
def test_every_mutation_of_a_component_is_refused(cls: type[S2Object], data: st.DataObject) -> None:
    value = data.draw(from_model(cls), label="value")
    doc = _doc(value)
    failures = []
    for mutation in value_mutations(mi.type_info(cls), doc, ()):
        frame = mutation.apply(doc)
        err = _decode_error(lambda frame=frame: s2ws.decode_as(frame, cls))
        if problem := _check_refused(mutation, err, cls, doc):
            failures.append(problem)
    assert not failures, _report(failures)


def test_mutations_cover_every_kind() -> None:
    """The walker really produces each kind of mutation the acceptance criteria list."""
    kinds: set[str] = set()
    for cls in (FRBCSystemDescription, ResourceManagerDetails, PEBCPowerConstraints, Transition):
        info = mi.type_info(cls)
        sample = _SAMPLES[cls]
        kinds.update(m.kind for m in value_mutations(info, sample, ()))
    for kind in (
        "drop required",
        "unknown field",
        "too few items",
        "too many items",
        "enum",
        "id pattern",
        "integer vs number",
        "negative duration",
        "timestamp without offset",
        "wrong type (string)",
        "wrong type (object)",
        "null",
        "null for absent optional",
    ):
        assert kind in kinds, kind


_SAMPLES: Final[dict[type[S2Object], Any]] = {
    FRBCSystemDescription: {
        "message_id": "m-1",
        "valid_from": "2026-01-01T00:00:00Z",
        "actuators": [
            {
                "id": "a1",
                "supported_commodities": ["ELECTRICITY"],
                "operation_modes": [
                    {
                        "id": "o1",
                        "elements": [
                            {
                                "fill_level_range": {"start_of_range": 0, "end_of_range": 1},
                                "fill_rate": {"start_of_range": 0, "end_of_range": 1},
                                "power_ranges": [
                                    {"start_of_range": 0, "end_of_range": 1, "commodity_quantity": "ELECTRIC.POWER.L1"}
                                ],
                            }
                        ],
                        "abnormal_condition_only": False,
                    }
                ],
                "transitions": [],
                "timers": [{"id": "t1", "duration": 5}],
            }
        ],
        "storage": {
            "provides_leakage_behaviour": False,
            "provides_fill_level_target_profile": False,
            "provides_usage_forecast": False,
            "fill_level_range": {"start_of_range": 0, "end_of_range": 1},
        },
    },
    ResourceManagerDetails: {
        "message_id": "m-1",
        "resource_id": "r1",
        "roles": [{"role": "ENERGY_CONSUMER", "commodity": "ELECTRICITY"}],
        "instruction_processing_delay": 0,
        "available_control_types": ["NO_SELECTION"],
        "provides_forecast": False,
        "provides_power_measurement_types": ["ELECTRIC.POWER.L1"],
    },
    PEBCPowerConstraints: {
        "message_id": "m-1",
        "id": "c1",
        "valid_from": "2026-01-01T00:00:00Z",
        "consequence_type": "VANISH",
        "allowed_limit_ranges": [
            {
                "commodity_quantity": "ELECTRIC.POWER.L1",
                "limit_type": "UPPER_LIMIT",
                "range_boundary": {"start_of_range": 0, "end_of_range": 1},
                "abnormal_condition_only": False,
            }
        ]
        * 2,
    },
    Transition: {
        "id": "t1",
        "from": "o1",
        "to": "o2",
        "start_timers": ["x1"],
        "blocking_timers": [],
        "transition_duration": 3,
        "abnormal_condition_only": False,
    },
}


# --- (d) frames that cannot be understood --------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [b"", b"not json", b"{", b'{"message_type": "Handshake",', b"\xff\xfe", b"{'a': 1}", b"NaN", b"[1,]"],
    ids=repr,
)
def test_non_json_is_invalid_data(frame: bytes) -> None:
    with pytest.raises(InvalidData) as info:
        s2ws.decode(frame)
    assert info.value.status is ReceptionStatusValues.INVALID_DATA
    assert info.value.message_id is None


@pytest.mark.parametrize("frame", [b"[]", b"[{}]", b"5", b"1.5", b'"Handshake"', b"true", b"null"], ids=repr)
def test_non_object_json_is_invalid_data(frame: bytes) -> None:
    with pytest.raises(InvalidData) as info:
        s2ws.decode(frame)
    assert info.value.status is ReceptionStatusValues.INVALID_DATA
    assert "JSON object" in info.value.reason


_SELECT = {"message_type": "SelectControlType", "message_id": "m-1", "control_type": "NO_SELECTION"}


@pytest.mark.parametrize("bad_id", [_DROP, "x", "a b", "a" * 65, 5, None, ["m-1"]], ids=repr)
def test_missing_or_invalid_message_id_is_invalid_data(bad_id: Any) -> None:
    frame = dict(_SELECT)
    if bad_id is _DROP:
        del frame["message_id"]
    else:
        frame["message_id"] = bad_id
    with pytest.raises(InvalidData) as info:
        s2ws.decode(msgspec.json.encode(frame))
    err = info.value
    assert err.status is ReceptionStatusValues.INVALID_DATA
    assert err.pointer == "/message_id"
    assert err.message_id is None and err.message_type == "SelectControlType"


def test_no_message_id_and_another_problem_is_still_invalid_data() -> None:
    frame = {"message_type": "SelectControlType", "control_type": "NOPE"}
    with pytest.raises(InvalidData) as info:
        s2ws.decode(msgspec.json.encode(frame))
    assert info.value.pointer == "/control_type"
    assert "no message_id" in info.value.reason


_STATUS = {"message_type": "ReceptionStatus", "subject_message_id": "m-1", "status": "OK"}


def test_reception_status_needs_no_message_id() -> None:
    assert s2ws.decode(msgspec.json.encode(_STATUS)) == ReceptionStatus(
        subject_message_id="m-1", status=ReceptionStatusValues.OK
    )


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"message_id": "m-2"}, "/message_id"),  # ReceptionStatus forbids message_id
        ({"message_id": "x"}, "/message_id"),
        ({"status": "FINE"}, "/status"),
        ({"subject_message_id": "x"}, "/subject_message_id"),
        ({"subject_message_id": None}, "/subject_message_id"),
    ],
)
def test_broken_reception_status_is_invalid_message(change: dict[str, Any], pointer: str) -> None:
    """A ReceptionStatus has no message_id to lose: its failures are INVALID_MESSAGE, never INVALID_DATA."""
    with pytest.raises(InvalidMessage) as info:
        s2ws.decode(msgspec.json.encode({**_STATUS, **change}))
    err = info.value
    assert err.status is ReceptionStatusValues.INVALID_MESSAGE
    assert err.pointer == pointer
    assert err.message_type == "ReceptionStatus"


def test_reception_status_without_subject_is_invalid_message() -> None:
    frame = {k: v for k, v in _STATUS.items() if k != "subject_message_id"}
    with pytest.raises(InvalidMessage) as info:
        s2ws.decode(msgspec.json.encode(frame))
    assert info.value.pointer == "/subject_message_id"


# --- (e) totality --------------------------------------------------------------------------------

TOTALITY: Final = settings(SETTINGS, max_examples=150)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    ids(),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=25,
)


def _field_names(cls: type[S2Object]) -> list[str]:
    names: set[str] = set()

    def walk(t: mi.Type) -> None:
        if isinstance(t, mi.StructType):
            for f in t.fields:
                names.add(f.encode_name)
                walk(f.type)
        elif isinstance(t, mi.ListType):
            walk(t.item_type)

    walk(mi.type_info(cls))
    return sorted(names)


_ALL_TYPES: Final = sorted({message_type_of(cls) for cls in ALL_MESSAGE_CLASSES})
_ALL_FIELDS: Final = sorted({name for cls in ALL_MESSAGE_CLASSES for name in _field_names(cls)})

message_like = st.builds(
    lambda base, extra: {**extra, **base},
    st.fixed_dictionaries(
        {},
        optional={
            "message_type": st.sampled_from(_ALL_TYPES) | json_values,
            "message_id": ids() | json_values,
        },
    ),
    st.dictionaries(st.sampled_from(_ALL_FIELDS) | st.text(max_size=6), json_values, max_size=6),
)


def _assert_total(call: Any) -> None:
    """The call either returns or raises InvalidData/InvalidMessage with a usable status, pointer and reason."""
    try:
        call()
    except (InvalidData, InvalidMessage) as err:
        assert err.status in (ReceptionStatusValues.INVALID_DATA, ReceptionStatusValues.INVALID_MESSAGE)
        assert err.pointer == "" or err.pointer.startswith("/")
        assert err.reason and "\n" not in err.reason and "\r" not in err.reason
        assert err.message_id is None or isinstance(err.message_id, str)
        assert str(err) and err.diagnostic
        # whatever the error carries can go back to the peer in a ReceptionStatus
        msgspec.json.encode([err.reason, err.message_type, err.message_id])


def _decode_everywhere(frame: bytes | str) -> None:
    for profile in PROFILES:
        _assert_total(lambda profile=profile: s2ws.decode(frame, profile))


@TOTALITY
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash(frame: bytes) -> None:
    _decode_everywhere(frame)


@TOTALITY
@given(st.text(st.characters(codec=None) | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=60))
def test_arbitrary_text_never_crashes(frame: str) -> None:
    _decode_everywhere(frame)
    _decode_everywhere('{"message_type": "' + frame + '"}')


@TOTALITY
@given(json_values)
def test_arbitrary_json_never_crashes(value: Any) -> None:
    _decode_everywhere(msgspec.json.encode(value))


@TOTALITY
@given(message_like)
def test_message_like_objects_never_crash(value: dict[str, Any]) -> None:
    _decode_everywhere(msgspec.json.encode(value))


def _paths(doc: Any, where: JsonPath = ()) -> Iterator[JsonPath]:
    yield where
    if isinstance(doc, dict):
        for key, item in doc.items():
            yield from _paths(item, (*where, key))
    elif isinstance(doc, list):
        for i, item in enumerate(doc):
            yield from _paths(item, (*where, i))


def _randomly_mutated(doc: Any, data: st.DataObject) -> Any:
    doc = msgspec.json.decode(msgspec.json.encode(doc))
    for _ in range(data.draw(st.integers(1, 3), label="changes")):
        where = data.draw(st.sampled_from(list(_paths(doc))), label="where")
        op = data.draw(st.sampled_from(["replace", "delete", "insert", "append"]), label="op")
        parent: Any = None
        node: Any = doc
        for part in where:
            parent, node = node, node[part]
        if op == "replace" or (parent is None and op == "delete"):
            new = data.draw(json_values, label="new value")
            if parent is None:
                doc = new
            else:
                parent[where[-1]] = new
        elif op == "delete":
            del parent[where[-1]]
        elif op == "insert" and isinstance(node, dict):
            key = data.draw(st.sampled_from(_ALL_FIELDS) | st.text(max_size=6), label="key")
            node[key] = data.draw(json_values, label="inserted")
        elif op == "append" and isinstance(node, list):
            node.append(data.draw(json_values, label="appended"))
    return doc


@pytest.mark.parametrize("profile", list(PROFILES.values()), ids=lambda p: p.version)
@TOTALITY
@given(data=st.data())
def test_randomly_mutated_messages_never_crash(profile: Profile, data: st.DataObject) -> None:
    message = data.draw(st.sampled_from(message_classes(profile)).flatmap(from_model), label="message")
    mutated = _randomly_mutated(_doc(message), data)
    frame = msgspec.json.encode(mutated)
    _assert_total(lambda: s2ws.decode(frame, profile))


@settings(SETTINGS, max_examples=100)
@given(data=st.data())
def test_randomly_mutated_components_never_crash(data: st.DataObject) -> None:
    cls = data.draw(st.sampled_from(component_classes()), label="class")
    value = data.draw(from_model(cls), label="value")
    frame = msgspec.json.encode(_randomly_mutated(_doc(value), data))
    _assert_total(lambda: s2ws.decode_as(frame, cls))
    _assert_total(lambda: s2ws.decode_as(frame, FRBCSystemDescription))


@pytest.mark.parametrize(
    "frame",
    [
        b"[" * 100_000,
        b'{"a":' * 50_000,
        b'{"message_type":"Handshake","message_id":"m-1","role":"CEM","x":' + b"[" * 100_000,
        b'{"message_type":"Handshake","message_id":"m-1","role":"CEM","x":' + b"[" * 5_000 + b"]" * 5_000 + b"}",
        b'{"message_type":"Handshake","message_id":"m-1","role":' + b"[" * 990 + b"]" * 990 + b"}",
        b'{"message_type":"Handshake","message_id":"m-1","role":' + b"[" * 980 + b"1e400" + b"]" * 980 + b"}",
        b'{"message_type":"Handshake","message_id":"m-1","role":"CEM","x":1e400}',
        b'{"message_type":"Handshake","message_id":"m-1","role":"CEM","x":1' + b"0" * 5_000 + b"}",
        b'{"message_type":"Handshake","message_id":"m-1","role":"CEM","x":"\\ud800"}',
        b'{"message_type":"Handshake","message_id":"m-1","role":"CEM","\\udfff":1}',
        b'{"message_type":"\\ud800","message_id":"m-1"}',
        b'{"message_type":"Handshake","message_id":"m-1","role":"CEM","x":NaN}',
        b'{"message_type":"Handshake","message_id":"m-1","role":"CEM","x":Infinity}',
        b"\xef\xbb\xbf{}",
        "{}".encode("utf-16"),
        b'{"message_type":"Handshake","message_id":"m-1","role":"CEM","a\\nb":1}',
        b'{"message_type":"Handshake","message_id":"m-1","role":"CEM","a` - at `$.role":1}',
    ],
    ids=lambda f: repr(f[:40]) + f"...({len(f)})",
)
def test_extreme_frames_never_crash(frame: bytes) -> None:
    _decode_everywhere(frame)
    _assert_total(lambda: s2ws.decode_as(frame, NumberRange))


def test_lone_surrogate_in_text_is_refused_with_a_pointer() -> None:
    """A str frame may hold a lone surrogate (no bytes frame can); it is refused, never a crash."""
    with pytest.raises(InvalidMessage) as info:
        s2ws.decode('{"message_type": "SelectControlType", "message_id": "m-1", "control_type": "\ud800"}')
    assert (info.value.pointer, info.value.message_id) == ("/control_type", "m-1")
    with pytest.raises(InvalidData):
        s2ws.decode('\ud800{"message_type": "SelectControlType", "message_id": "m-1"}')
