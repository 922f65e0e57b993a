"""Bytes or text to typed message and back, with errors a human and a peer can act on.

The fast path is a single msgspec decode into the profile's tagged union; only a frame that
fails pays for the second, untyped parse that recovers ``message_id``/``message_type`` and the
offending value for the error.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, TypeVar, Union

import msgspec

from .errors import DecodeError, EncodeError, InvalidData, InvalidMessage
from .messages.base import ID_PATTERN, S2Message, S2Object, message_type_of
from .messages.profiles import Profile, get_profile

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

_ID_RE = re.compile(ID_PATTERN)
_ENCODER = msgspec.json.Encoder()


class Codec:
    """Decoder and encoder for one profile; reuse one per profile (see :func:`get_codec`)."""

    def __init__(self, profile: str | Profile | None = None) -> None:
        self.profile = get_profile(profile)
        union: Any = Union[self.profile.messages]  # noqa: UP007 - a runtime union of classes
        self._decoder: msgspec.json.Decoder[S2Message] = msgspec.json.Decoder(union)

    def decode(self, data: bytes | str) -> S2Message:
        """Decode one frame, or raise :class:`InvalidData` / :class:`InvalidMessage`."""
        try:
            return self._decoder.decode(data)
        except msgspec.DecodeError as exc:  # ValidationError is a subclass
            raise explain(data, exc, self.profile) from None

    def encode(self, message: S2Message) -> bytes:
        """Encode without checking: for messages that came from :meth:`decode` or a builder."""
        return _ENCODER.encode(message)

    def encode_checked(self, message: S2Message) -> bytes:
        """Encode, then prove the bytes decode as the same message; refuse anything else."""
        data = _ENCODER.encode(message)
        try:
            again = self._decoder.decode(data)
        except msgspec.DecodeError as exc:
            err = explain(data, exc, self.profile)
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
    except msgspec.DecodeError as exc:
        raise explain(data, exc, None, expect=cls) from None
    return result


# --- explaining failures --------------------------------------------------------------------

_PATH_RE = re.compile(r"^(?P<msg>.*?)(?: - at `(?P<path>\$[^`]*)`)?$", re.S)
_SEGMENT_RE = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_TYPE_WORDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
    "datetime": "an RFC 3339 date-time",
}


def _pointer(path: str | None) -> tuple[str, list[str | int]]:
    if not path:
        return "", []
    parts: list[str | int] = []
    for name, index in _SEGMENT_RE.findall(path[1:]):
        parts.append(int(index) if index else name)
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return "".join("/" + p for p in escaped), parts


def _lookup(doc: Any, parts: list[str | int]) -> tuple[bool, Any]:
    for part in parts:
        if isinstance(doc, list) and isinstance(part, int) and 0 <= part < len(doc):
            doc = doc[part]
            continue
        if isinstance(doc, dict) and isinstance(part, str) and part in doc:
            doc = doc[part]
            continue
        return False, None
    return True, doc


def _show(value: Any) -> str:
    text = msgspec.json.encode(value).decode()
    return text if len(text) <= 80 else text[:77] + "..."


def _reason(msg: str, found: bool, value: Any) -> tuple[str, str | None]:
    """A plain-language reason; also returns the field name the message names, if any."""
    shown = _show(value) if found else "the value"
    if m := re.match(r"Object missing required field `(.+)`", msg):
        return f"required field '{m[1]}' is missing", m[1]
    if m := re.match(r"Object contains unknown field `(.+)`", msg):
        return f"unknown field '{m[1]}' (S2 objects allow no other fields)", m[1]
    if msg.startswith("Expected `str` matching regex"):
        return f"{shown} is not an ID (2 to 64 characters of A-Z, a-z, 0-9, '-', '_', ':')", None
    if msg.startswith("Expected `datetime` with a timezone"):
        return f"{shown} has no UTC offset; RFC 3339 requires one (e.g. 'Z' or '+01:00')", None
    if msg.startswith("Invalid RFC3339 encoded datetime"):
        return f"{shown} is not an RFC 3339 date-time with offset", None
    if m := re.match(r"Expected `(\w+)` (>=|<=|>|<) (\S+)", msg):
        return f"{shown} must be {m[2]} {m[3]}", None
    if m := re.match(r"Expected `(array|str)` of length (>=|<=) (\d+)", msg):
        count = len(value) if found and isinstance(value, list | str) else "?"
        what = "items" if m[1] == "array" else "characters"
        bound = "at least" if m[2] == ">=" else "at most"
        return f"has {count} {what}, {bound} {m[3]} allowed", None
    if m := re.match(r"Expected `([^`]+)`, got `(\w+)`", msg):
        wanted = " or ".join(_TYPE_WORDS.get(t.strip(), t.strip()) for t in m[1].split("|"))
        return f"expected {wanted}, got {_TYPE_WORDS.get(m[2], m[2])} {shown}", None
    if msg.startswith("Invalid enum value"):
        return f"{shown} is not an allowed value", None
    if msg.startswith("Invalid value"):
        return f"{shown} is not an allowed value", None
    return msg, None


def explain(
    data: bytes | str, exc: msgspec.DecodeError, profile: Profile | None, expect: type[Any] | None = None
) -> DecodeError:
    """Turn a msgspec failure into an :class:`InvalidData` or :class:`InvalidMessage`."""
    try:
        doc = msgspec.json.decode(data)
    except msgspec.DecodeError as parse_exc:
        return InvalidData(f"not valid JSON ({parse_exc})")
    if not isinstance(doc, dict):
        kind = "an array" if isinstance(doc, list) else "a JSON " + type(doc).__name__
        return InvalidData(f"a message must be a JSON object, got {kind}")
    raw_type = doc.get("message_type")
    message_type = raw_type if isinstance(raw_type, str) else None
    raw_id = doc.get("message_id")
    message_id = raw_id if isinstance(raw_id, str) and _ID_RE.match(raw_id) else None

    text = str(exc)
    m = _PATH_RE.match(text)
    msg, path = (m["msg"], m["path"]) if m else (text, None)
    pointer, parts = _pointer(path)
    found, value = _lookup(doc, parts)
    reason, named = _reason(msg, found, value)
    if named is not None:
        pointer += "/" + named.replace("~", "~0").replace("/", "~1")
    if pointer == "/message_type" and expect is None and named is None:
        # the tag itself was refused: an unknown message type
        where = f" in profile {profile.version}" if profile else ""
        reason = f"unknown message_type {_show(value)}{where}"
    if expect is None and message_type != "ReceptionStatus" and message_id is None:
        why = "no message_id" if raw_id is None else f"message_id {_show(raw_id)} is not an ID"
        return InvalidData(
            f"{why}, so no answer can name it; first problem: {reason}", pointer=pointer, message_type=message_type
        )
    return InvalidMessage(reason, pointer=pointer, message_id=message_id, message_type=message_type)
