"""Bytes or text to typed message and back, with errors a human and a peer can act on.

The fast path is a single msgspec decode into the profile's tagged union; only a frame that
fails pays for the second, untyped parse that recovers ``message_id``/``message_type`` and the
offending value for the error.
"""

from __future__ import annotations

import math
import re
from functools import cache
from typing import Any, NamedTuple, TypeVar, Union

import msgspec

from .errors import DecodeError, EncodeError, InvalidData, InvalidMessage
from .ids import first_bad_id, id_check, is_id_type
from .messages.base import ID_MATCH_PATTERN, S2Message, S2Object, message_type_of
from .messages.profiles import PROFILES, Profile, get_profile

__all__ = [
    "Codec",
    "decode",
    "decode_as",
    "encode",
    "encode_checked",
    "get_codec",
    "validate",
]

T = TypeVar("T", bound=S2Object)

_ID_RE = re.compile(ID_MATCH_PATTERN)
_ENCODER = msgspec.json.Encoder()


class Codec:
    """Decoder and encoder for one profile; reuse one per profile (see :func:`get_codec`)."""

    def __init__(self, profile: str | Profile | None = None) -> None:
        self.profile = get_profile(profile)
        union: Any = Union[self.profile.messages]  # noqa: UP007 - a runtime union of classes
        self._decoder: msgspec.json.Decoder[S2Message] = msgspec.json.Decoder(union)
        self._id_checks = {cls: id_check(cls) for cls in self.profile.messages}

    def decode(self, data: bytes | str) -> S2Message:
        """Decode one frame, or raise :class:`InvalidData` / :class:`InvalidMessage`."""
        try:
            message = self._decoder.decode(data)
        except (msgspec.DecodeError, UnicodeError, RecursionError) as exc:  # see explain()
            raise explain(data, exc, self.profile) from None
        if not self._id_checks[type(message)](message):  # the ID characters, all ids at once (see s2ws.ids)
            raise _bad_id_error(data, type(message), None)
        return message

    def encode(self, message: S2Message) -> bytes:
        """Encode without checking: for messages that came from :meth:`decode` or a builder."""
        return _ENCODER.encode(message)

    def encode_checked(self, message: S2Message) -> bytes:
        """Encode, then prove the bytes decode as the same message; refuse anything else."""
        data = _ENCODER.encode(message)
        try:
            again = self.decode(data)
        except DecodeError as err:
            raise EncodeError(err.reason, pointer=err.pointer, message_type=err.message_type) from None
        if type(again) is not type(message):
            raise EncodeError(
                f"{message_type_of(type(message))} is not part of profile {self.profile.version}",
                message_type=message_type_of(type(message)),
            )
        return data


@cache
def get_codec(profile: str | Profile | None = None) -> Codec:
    """The shared codec of a profile (decoders are costly to build, cheap to reuse)."""
    return Codec(profile)


def decode(data: bytes | str, profile: str | Profile | None = None) -> S2Message:
    """Decode one S2 frame into its message class.

    >>> decode(b'{"message_type": "SelectControlType", "message_id": "m1", '
    ...        b'"control_type": "FILL_RATE_BASED_CONTROL"}').control_type
    <ControlType.FILL_RATE_BASED_CONTROL: 'FILL_RATE_BASED_CONTROL'>
    """
    return get_codec(profile).decode(data)


def encode(message: S2Message) -> bytes:
    """Encode a message: absent optional fields are omitted, ``null`` is never written."""
    return _ENCODER.encode(message)


def encode_checked(message: S2Message, profile: str | Profile | None = None) -> bytes:
    """Encode and refuse (``EncodeError``) anything the schema would refuse on the wire."""
    return get_codec(profile).encode_checked(message)


def validate(message: S2Message, profile: str | Profile | None = None) -> None:
    """Raise ``EncodeError`` when the message would not be schema-valid on the wire."""
    get_codec(profile).encode_checked(message)


@cache
def _component_decoder(cls: type[Any]) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(cls)


def decode_as(data: bytes | str, cls: type[T]) -> T:
    """Decode a JSON document as one given model class (a message or a component type)."""
    try:
        result: T = _component_decoder(cls).decode(data)
    except (msgspec.DecodeError, UnicodeError, RecursionError) as exc:
        raise explain(data, exc, None, expect=cls) from None
    if not id_check(cls)(result):
        raise _bad_id_error(data, cls, cls)
    return result


# --- explaining failures --------------------------------------------------------------------
# Only a frame that failed pays for what follows: a second, untyped parse that recovers
# message_id/message_type and the offending value, and a walk of the model along the error
# path (msgspec.inspect, imported lazily) that names the type the value should have had.

_PATH_RE = re.compile(r"^(?P<msg>.*?)(?: - at `(?P<path>\$[^`]*)`)?$", re.S)
_SEGMENT_RE = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_UNPRINTABLE_RE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\ud800-\udfff]")
_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_:")
_ID_RULE = "2 to 64 characters of A-Z, a-z, 0-9, '-', '_', ':'"
_MAX_LISTED = 12
"""Enumerations longer than this are listed up to here, then counted."""
_TYPE_WORDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
    "datetime": "an RFC 3339 date-time string",
}
_JSON_WORDS = {
    type(None): "null",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "an array",
    dict: "an object",
}


def _escape(part: str | int) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")


def _pointer(path: str | None) -> tuple[str, list[str | int]]:
    if not path:
        return "", []
    parts: list[str | int] = []
    for name, index in _SEGMENT_RE.findall(path[1:]):
        parts.append(int(index) if index else name)
    return "".join("/" + _escape(p) for p in parts), parts


def _lookup(doc: Any, parts: list[str | int]) -> tuple[bool, Any]:
    for part in parts:
        in_list = isinstance(part, int) and isinstance(doc, list) and 0 <= part < len(doc)
        if not (in_list or (isinstance(part, str) and isinstance(doc, dict) and part in doc)):
            return False, None
        doc = doc[part]
    return True, doc


def _one_line(text: str) -> str:
    """Escape control characters and lone surrogates: a reason is one printable line."""
    return _UNPRINTABLE_RE.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def _show(value: Any) -> str:
    if isinstance(value, _OutOfRange):
        text = value.text
    else:
        try:
            text = msgspec.json.encode(value).decode()
        except (TypeError, ValueError, OverflowError):  # a lone surrogate from the lenient parser
            text = repr(value)
        except RecursionError:
            text = "(a value nested too deeply to show)"
    text = _one_line(text)
    return text if len(text) <= 80 else text[:77] + "..."


def _kind(value: Any) -> str:
    return _JSON_WORDS.get(type(value), "a value")


def _a(name: str) -> str:
    return ("an " if name[:1] and name[0] in "AEIOU" else "a ") + name


# --- the model along the error path


class _Slot(NamedTuple):
    """What the model says about the place an error points at."""

    type: Any
    """A ``msgspec.inspect.Type``, or None when the model could not be followed there."""
    optional: bool
    is_tag: bool


_NO_SLOT = _Slot(None, False, False)


@cache
def _model_info(cls: object) -> Any:
    import msgspec.inspect as mi

    return mi.type_info(cls)


def _strip(t: Any) -> Any:
    """A union of one real type with None/UNSET is that type."""
    import msgspec.inspect as mi

    if isinstance(t, mi.UnionType):
        real = [m for m in t.types if not isinstance(m, mi.NoneType | mi.CustomType)]
        if len(real) == 1:
            return real[0]
    return t


def _resolve(root: object, parts: list[str | int]) -> _Slot:
    """Follow ``parts`` through the model of ``root``; the type found there and whether it is optional."""
    import msgspec.inspect as mi

    if root is None:
        return _NO_SLOT
    t: Any = _model_info(root)
    optional = False
    for i, part in enumerate(parts):
        t = _strip(t)
        if isinstance(t, mi.StructType) and isinstance(part, str):
            field = next((f for f in t.fields if f.encode_name == part), None)
            if field is None:
                is_tag = part == t.tag_field and i == len(parts) - 1
                return _Slot(None, False, is_tag)
            t, optional = field.type, not field.required
        elif isinstance(t, mi.ListType) and isinstance(part, int):
            t, optional = t.item_type, False
        else:
            return _NO_SLOT
    return _Slot(_strip(t), optional, False)


def _root_class(doc: dict[str, Any], profile: Profile | None, expect: type[Any] | None) -> type[Any] | None:
    if expect is not None:
        return expect
    message_type = doc.get("message_type")
    if profile is None or not isinstance(message_type, str):
        return None
    return profile.by_type.get(message_type)


def _listing(values: list[str]) -> str:
    listed = ", ".join(values[:_MAX_LISTED])
    more = len(values) - _MAX_LISTED
    return f"{listed} and {more} more" if more > 0 else listed


def _did_you_mean(value: Any, choices: list[str]) -> str:
    if not isinstance(value, str) or not choices:
        return ""
    import difflib

    folded = {c.casefold(): c for c in choices}
    close = difflib.get_close_matches(value.casefold(), list(folded), n=1, cutoff=0.75)
    return f'; did you mean "{folded[close[0]]}"?' if close else ""


def _wanted(slot: _Slot, msgspec_words: str) -> str:
    """What the value should have been, in words, preferring the model over msgspec's type names."""
    import msgspec.inspect as mi

    t = slot.type
    if isinstance(t, mi.EnumType):
        values = [str(member.value) for member in t.cls]
        return f"{_a(t.cls.__name__)} string (one of {_listing(values)})"
    if is_id_type(t):
        return "a string holding an ID"
    return " or ".join(_TYPE_WORDS.get(w.strip(), w.strip()) for w in msgspec_words.split("|"))


def _bad_id(value: Any) -> str:
    shown = _show(value)
    if not isinstance(value, str):
        return f"{shown} is not an ID ({_ID_RULE})"
    if len(value) < 2:
        return f"{shown} is not an ID: {len(value)} character, at least 2 needed ({_ID_RULE})"
    if len(value) > 64:
        return f"{shown} is not an ID: {len(value)} characters, at most 64 allowed ({_ID_RULE})"
    bad = next((c for c in value if c not in _ID_CHARS), None)
    if bad is not None:
        return f"{shown} is not an ID: {_show(bad)} is not allowed ({_ID_RULE})"
    return f"{shown} is not an ID ({_ID_RULE})"


def _bad_enum(value: Any, slot: _Slot) -> str:
    import msgspec.inspect as mi

    shown = _show(value)
    if not isinstance(slot.type, mi.EnumType):
        return f"{shown} is not an allowed value"
    values = [str(member.value) for member in slot.type.cls]
    name = slot.type.cls.__name__
    return f"{shown} is not {_a(name)}; allowed: {_listing(values)}{_did_you_mean(value, values)}"


def _bad_tag(value: Any, profile: Profile | None, expect: type[Any] | None) -> str:
    """The reason for a refused ``message_type``: wrong type, unknown, or from another profile."""
    shown = _show(value)
    if not isinstance(value, str):
        got = "null" if value is None else f"{_kind(value)} {shown}"
        return f"message_type must be a string naming an S2 message, got {got}"
    if expect is not None:
        tag = getattr(getattr(expect, "__struct_config__", None), "tag", None)
        return f"message_type {shown} is not {_show(tag)}, the type being decoded"
    if profile is None:
        return f"unknown message_type {shown}"
    reason = f"unknown message_type {shown} in profile {profile.version}"
    elsewhere = [p.version for p in PROFILES.values() if value in p.by_type]
    if elsewhere:
        return f"{reason} (it belongs to profile {' and '.join(elsewhere)})"
    return reason + _did_you_mean(value, list(profile.by_type))


def _reason(msg: str, found: bool, value: Any, slot: _Slot = _NO_SLOT) -> tuple[str, str | None]:
    """A plain-language reason; also returns the field name the message names, if any."""
    shown = _show(value) if found else "the value"
    if m := re.fullmatch(r"Object missing required field `(.*)`", msg, re.S):
        return f"required field {_show(m[1])} is missing", m[1]
    if m := re.fullmatch(r"Object contains unknown field `(.*)`", msg, re.S):
        return f"unknown field {_show(m[1])} (S2 objects allow no other fields)", m[1]
    if msg.startswith("Expected `str` matching regex") or (
        is_id_type(slot.type) and msg.startswith("Expected `str` of length")
    ):
        return _bad_id(value) if found else f"the value is not an ID ({_ID_RULE})", None
    if msg.startswith("Expected `datetime` with a timezone"):
        return f"{shown} has no UTC offset; RFC 3339 requires one (e.g. 'Z' or '+01:00')", None
    if msg.startswith("Invalid RFC3339 encoded datetime"):
        return f"{shown} is not an RFC 3339 date-time with offset (e.g. '2024-05-01T12:00:00Z')", None
    if m := re.match(r"Expected `(\w+)` (>=|<=|>|<) (\S+)", msg):
        return f"{shown} must be {m[2]} {m[3]}", None
    if m := re.match(r"Expected `(array|str)` of length (>=|<=) (\d+)", msg):
        count = len(value) if found and isinstance(value, list | str) else "?"
        what = "items" if m[1] == "array" else "characters"
        bound = f"at least {m[3]} required" if m[2] == ">=" else f"at most {m[3]} allowed"
        return f"has {count} {what}; {bound}", None
    if m := re.match(r"Expected `([^`]+)`(?:, got `(\w+)`)?", msg):
        wanted = _wanted(slot, m[1])
        if found and value is None:
            hint = "; leave an absent optional field out instead of sending null" if slot.optional else ""
            return f"expected {wanted}, got null{hint}", None
        got = _TYPE_WORDS.get(m[2], m[2]) if m[2] else (_kind(value) if found else "something else")
        return f"expected {wanted}, got {got} {shown}" if found else f"expected {wanted}, got {got}", None
    if msg.startswith("Invalid enum value") or msg.startswith("Invalid value"):
        return (_bad_enum(value, slot) if found else "the value is not an allowed value"), None
    return _one_line(msg), None


# --- frames msgspec cannot parse at all


class _OutOfRange:
    """A JSON number no IEEE double (or Python int) can hold, kept as its text."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _lenient_parse(data: bytes | str) -> tuple[bool, Any]:
    """Parse what msgspec refuses but is still JSON text: huge numbers, lone surrogate escapes."""
    import json

    def number(text: str) -> Any:
        value = float(text)
        return _OutOfRange(text) if math.isinf(value) else value

    def integer(text: str) -> Any:
        try:
            return int(text)
        except ValueError:  # more digits than int() takes
            return _OutOfRange(text)

    def constant(text: str) -> Any:
        raise ValueError(f"{text} is not JSON")

    try:
        return True, json.loads(data, parse_float=number, parse_int=integer, parse_constant=constant)
    except (ValueError, TypeError, RecursionError):
        return False, None


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= c <= "\udfff" for c in text)


def _culprit(doc: Any, parts: list[str | int]) -> tuple[list[str | int], str] | None:
    """The first value (in document order) msgspec could not take, with the reason."""
    if isinstance(doc, _OutOfRange):
        return parts, f"number {_show(doc)} is out of range (beyond what a 64-bit float holds)"
    if isinstance(doc, str) and _has_surrogate(doc):
        return parts, f"string {_show(doc)} holds a lone UTF-16 surrogate, which is not Unicode text"
    if isinstance(doc, list):
        for i, item in enumerate(doc):
            if (found := _culprit(item, [*parts, i])) is not None:
                return found
    if isinstance(doc, dict):
        for key, item in doc.items():
            if _has_surrogate(key):
                return parts, f"member name {_show(key)} holds a lone UTF-16 surrogate, which is not Unicode text"
            if (found := _culprit(item, [*parts, key])) is not None:
                return found
    return None


def _unparsable(data: bytes | str, exc: Exception, expect: type[Any] | None) -> DecodeError:
    if isinstance(exc, RecursionError):
        return InvalidData("JSON nested too deeply to be read")
    ok, doc = _lenient_parse(data)
    try:
        found = _culprit(doc, []) if ok else None
    except RecursionError:
        found = None
    if found is not None:  # JSON after all, with a value msgspec cannot hold
        if not isinstance(doc, dict):
            return InvalidData(f"a message must be a JSON object, got {_kind(doc)}")
        parts, reason = found
        return _verdict(doc, "".join("/" + _escape(p) for p in parts), reason, expect)
    if isinstance(exc, UnicodeEncodeError):
        return InvalidData(f"the text holds a lone UTF-16 surrogate at position {exc.start}, so it is not JSON")
    return InvalidData(f"not valid JSON ({_one_line(str(exc))})")


# --- the verdict


def _verdict(doc: dict[str, Any], pointer: str, reason: str, expect: type[Any] | None) -> DecodeError:
    """INVALID_DATA when no answer could name the message, else INVALID_MESSAGE."""
    raw_type = doc.get("message_type")
    message_type = raw_type if isinstance(raw_type, str) and not _has_surrogate(raw_type) else None
    raw_id = doc.get("message_id")
    message_id = raw_id if isinstance(raw_id, str) and _ID_RE.match(raw_id) else None
    reason = _one_line(reason)
    if expect is None and message_type != "ReceptionStatus" and message_id is None:
        why = "no message_id" if raw_id is None else f"message_id {_show(raw_id)} is not an ID"
        return InvalidData(
            f"{why}, so no answer can name it; first problem: {reason}", pointer=pointer, message_type=message_type
        )
    return InvalidMessage(reason, pointer=pointer, message_id=message_id, message_type=message_type)


def _bad_id_error(data: bytes | str, cls: type[Any], expect: type[Any] | None) -> DecodeError:
    """The error for a frame that decoded but holds an id with a character an ID may not have."""
    doc = msgspec.json.decode(data)
    found = first_bad_id(doc, cls)
    assert found is not None, "the id check and its explanation disagree"
    parts, value = found
    return _verdict(doc, "".join("/" + _escape(p) for p in parts), _bad_id(value), expect)


def explain(data: bytes | str, exc: Exception, profile: Profile | None, expect: type[Any] | None = None) -> DecodeError:
    """Turn a msgspec failure into an :class:`InvalidData` or :class:`InvalidMessage`.

    ``profile`` names the message types a tagged frame may have; ``expect`` is the class
    :func:`decode_as` was asked for. Either one lets the reason name the type the offending
    value should have had (for an enumeration: its allowed values).
    """
    try:
        doc = msgspec.json.decode(data)
    except (msgspec.DecodeError, UnicodeError, RecursionError) as parse_exc:
        return _unparsable(data, parse_exc, expect)
    if not isinstance(doc, dict):
        return InvalidData(f"a message must be a JSON object, got {_kind(doc)}")

    text = str(exc)
    m = _PATH_RE.match(text)
    msg, path = (m["msg"], m["path"]) if m else (text, None)
    pointer, parts = _pointer(path)
    found, value = _lookup(doc, parts)
    slot = _resolve(_root_class(doc, profile, expect), parts)
    reason, named = _reason(msg, found, value, slot)
    if named is not None:
        pointer += "/" + _escape(named)
    elif pointer == "/message_type" and (slot.is_tag or expect is None):
        reason = _bad_tag(value, profile, expect)  # the tag itself was refused
    return _verdict(doc, pointer, reason, expect)
