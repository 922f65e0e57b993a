"""Every schema problem of one frame, not only the first.

msgspec stops at the first error, which is what a live session wants: one answer per frame,
at decoder speed. A person fixing a file wants the whole list, so this slow path (used by
``s2ws validate`` and only after a decode failed) walks the parsed document against the
message model and asks msgspec about each part separately. The reasons are worded by the codec,
so a single fault reads exactly as the codec reports it.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, get_args, get_origin

import msgspec
import msgspec.inspect as mi

from .codec import _PATH_RE, _bad_id, _bad_tag, _escape, _lookup, _pointer, _reason, _show, _Slot, _strip
from .ids import first_bad_id
from .messages.profiles import Profile, get_profile

__all__ = ["SchemaProblem", "schema_problems"]

_TAG = "message_type"
_NOT_AN_ID = "Expected `str` matching the ID characters"


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    """One place where a document breaks its model: a JSON pointer and the reason."""

    pointer: str
    reason: str


@cache
def _decoder(annotation: Any) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(annotation)


@cache
def _fields(cls: type[msgspec.Struct]) -> dict[str, tuple[Any, bool]]:
    """Wire name -> (annotation with its constraints, required) for one struct class."""
    hints = typing.get_type_hints(cls, include_extras=True)
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    return {f.encode_name: (hints[f.name], f.required) for f in info.fields}


def _unwrap(annotation: Any) -> tuple[Any, tuple[Any, ...]]:
    """The bare type under ``Annotated`` and ``X | None | UnsetType``, and the constraints on it."""
    metas: tuple[Any, ...] = ()
    if get_origin(annotation) is Annotated:
        annotation, *rest = get_args(annotation)
        metas = tuple(rest)
    args = get_args(annotation)
    if args and get_origin(annotation) in (typing.Union, type(int | str)):
        real = [a for a in args if a not in (type(None), msgspec.UnsetType)]
        if len(real) == 1:
            return _unwrap(real[0])[0], metas
    return annotation, metas


def _error(value: Any, annotation: Any) -> str | None:
    """msgspec's complaint about ``value`` as ``annotation``, or None when it is fine."""
    try:
        _decoder(annotation).decode(msgspec.json.encode(value))
    except msgspec.DecodeError as exc:
        return str(exc)
    if first_bad_id(value, annotation) is not None:  # the codec checks ID characters after msgspec
        return _NOT_AN_ID
    return None


def _said(msgspec_message: str) -> str:
    """The codec's wording for a message msgspec would give."""
    return _reason(msgspec_message, False, None)[0]


def _leaf(value: Any, annotation: Any, pointer: str, error: str, out: list[SchemaProblem]) -> None:
    m = _PATH_RE.match(error)
    msg, path = (m["msg"], m["path"]) if m else (error, None)
    sub_pointer, parts = _pointer(path)
    found, inner = _lookup(value, parts)
    slot = _Slot(_strip(mi.type_info(annotation)), False, False) if not parts else _Slot(None, False, False)
    reason, named = _reason(msg, found, inner, slot)
    where = pointer + sub_pointer + ("/" + _escape(named) if named is not None else "")
    out.append(SchemaProblem(where, reason))


def _walk(value: Any, annotation: Any, pointer: str, out: list[SchemaProblem], skip: str | None = None) -> None:
    error = _error(value, annotation) if skip is None else "whole message"
    if error is None:
        return
    if error is _NOT_AN_ID and isinstance(value, str):
        out.append(SchemaProblem(pointer, _bad_id(value)))
        return
    base, metas = _unwrap(annotation)
    before = len(out)
    if isinstance(base, type) and issubclass(base, msgspec.Struct) and isinstance(value, dict):
        fields = _fields(base)
        for key, item in value.items():
            if key == skip:
                continue
            if key not in fields:
                out.append(SchemaProblem(f"{pointer}/{_escape(key)}", _said(f"Object contains unknown field `{key}`")))
            else:
                _walk(item, fields[key][0], f"{pointer}/{_escape(key)}", out)
        for key, (_, required) in fields.items():
            if required and key not in value:
                out.append(SchemaProblem(f"{pointer}/{_escape(key)}", _said(f"Object missing required field `{key}`")))
    elif get_origin(base) is list and isinstance(value, list):
        (item_type,) = get_args(base)
        if metas and (length_error := _error(value, Annotated[list[Any], *metas])) is not None:
            _leaf(value, annotation, pointer, length_error, out)
        for index, item in enumerate(value):
            _walk(item, item_type, f"{pointer}/{index}", out)
    if len(out) == before and skip is None:  # nothing below to blame: the value itself is wrong
        _leaf(value, annotation, pointer, error, out)


def schema_problems(data: bytes | str, profile: str | Profile | None = None) -> list[SchemaProblem]:
    """Every problem msgspec would find in ``data`` one at a time, in document order.

    Members named twice in one object come first: msgspec checks every occurrence (and picks the
    message type by the first ``message_type``) but keeps the last value, so where the codec's
    first error points may hold a valid value in the parsed document. Empty when the frame is not
    a JSON object msgspec can parse (the codec's single error says why) or when it is valid.
    """
    try:
        doc = msgspec.json.decode(data)
    except (msgspec.DecodeError, UnicodeError, RecursionError):
        return []
    if not isinstance(doc, dict):
        return []
    twice = [SchemaProblem(where, reason) for where, reason in _duplicates(data)]
    chosen = get_profile(profile)
    tag = doc.get(_TAG)
    cls = chosen.by_type.get(tag) if isinstance(tag, str) else None
    if cls is None:
        where = f"/{_TAG}"
        if _TAG not in doc:
            return [*twice, SchemaProblem(where, _said(f"Object missing required field `{_TAG}`"))]
        return [*twice, SchemaProblem(where, _bad_tag(tag, chosen, None))]
    out: list[SchemaProblem] = []
    _walk(doc, cls, "", out, skip=_TAG)
    return twice + out


class _Pairs(list[tuple[str, Any]]):
    """An object's members in order, duplicates kept (``json`` would keep only the last)."""


def _duplicates(data: bytes | str) -> list[tuple[str, str]]:
    """Members named twice in one object: msgspec checks every occurrence and keeps the last, so the
    first can be what the codec refused although the document seems to hold a valid value there."""
    import json

    try:
        doc = json.loads(data, object_pairs_hook=_Pairs)
    except (ValueError, RecursionError):
        return []
    out: list[tuple[str, str]] = []
    stack: list[tuple[Any, str]] = [(doc, "")]
    while stack:
        value, pointer = stack.pop()
        if isinstance(value, _Pairs):
            names: set[str] = set()
            for name, item in value:
                where = f"{pointer}/{_escape(name)}"
                if name in names:
                    out.append((where, f"member {_show(name)} appears more than once (readers differ on which counts)"))
                names.add(name)
                stack.append((item, where))
        elif isinstance(value, list):
            stack.extend((item, f"{pointer}/{index}") for index, item in enumerate(value))
    return sorted(set(out))
