"""The ID character rule, checked for every id of a message in one pass.

An ID is 2 to 64 characters of ``A-Z a-z 0-9 - _ :``. msgspec checks the length as it decodes
(``Meta(min_length=2, max_length=64)`` costs nothing); a ``Meta(pattern=...)`` would also check
the characters, but msgspec runs that regex once per id through a Python call, and on a CEM's
traffic that was about a quarter of all decode time (a system description holds hundreds of
ids). So the codec checks the characters after decoding instead: a generated function per
model class gathers every id of the message into one string, and two C-level string operations
vet it. Only a message that fails pays for :func:`first_bad_id`, which walks the parsed document
in order to name the offending id exactly as the regex path did.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

import msgspec
import msgspec.inspect as mi

from .messages.base import ID

__all__ = ["ID_CHARS", "first_bad_id", "id_check", "is_id_type"]

ID_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_:"
"""The bytes an ID may hold (lengths are the model's business)."""

_ID_INFO = mi.type_info(ID)
_MAX_DEPTH = 16
"""Deeper than any S2 model nests; a guard against a model that refers to itself."""


def is_id_type(info: mi.Type) -> bool:
    """Whether a ``msgspec.inspect`` type is the ID type."""
    return info == _ID_INFO


_BAD_CHAR = re.compile(r"[^A-Za-z0-9\-_:]").search
"""Finds nothing (and so allocates nothing) in a good id: the cheapest test of a short string."""


def _chars_ok(text: str) -> bool:
    """For a long string (all ids of a message joined), translate is several times faster than a regex."""
    return text.isascii() and not text.encode("ascii").translate(None, ID_CHARS)


def _strip(info: mi.Type) -> mi.Type:
    """``X | None`` is X for this walk (msgspec.inspect already leaves UNSET out; absent values are skipped)."""
    if isinstance(info, mi.UnionType):
        real = [t for t in info.types if not isinstance(t, mi.NoneType)]
        if len(real) == 1:
            return real[0]
    return info


def _holds_ids(info: mi.Type, depth: int = 0) -> bool:
    info = _strip(info)
    if depth > _MAX_DEPTH:
        raise TypeError("model nests too deeply for the id check")
    if is_id_type(info):
        return True
    if isinstance(info, mi.StructType):
        return any(_holds_ids(f.type, depth + 1) for f in info.fields)
    if isinstance(info, mi.ListType):
        return _holds_ids(info.item_type, depth + 1)
    if isinstance(info, mi.UnionType) and any(_holds_ids(t, depth + 1) for t in info.types):
        raise TypeError("a union holding ids is not supported by the id check")
    return False


def _emit(info: mi.StructType, var: str, lines: list[str], indent: str, depth: int) -> None:
    """Code that appends every id under the struct held in ``var`` to ``out``."""
    for f in info.fields:
        t = _strip(f.type)
        if not _holds_ids(t):
            continue
        value = f"{var}.{f.name}"
        inner = indent
        if not f.required or f.type is not t:  # optional: an absent value is UNSET (or None)
            name = f"v{depth}"
            lines.append(f"{indent}{name} = {value}")
            lines.append(f"{indent}if {name} is not UNSET and {name} is not None:")
            value, inner = name, indent + "    "
        _emit_value(t, value, lines, inner, depth + 1)


def _emit_value(t: mi.Type, value: str, lines: list[str], indent: str, depth: int) -> None:
    if is_id_type(t):
        lines.append(f"{indent}add({value})")
    elif isinstance(t, mi.StructType):
        if not value.isidentifier():
            lines.append(f"{indent}s{depth} = {value}")
            value = f"s{depth}"
        _emit(t, value, lines, indent, depth + 1)
    elif isinstance(t, mi.ListType):
        item = _strip(t.item_type)
        if is_id_type(item):
            lines.append(f"{indent}out.extend({value})")
        else:
            name = f"i{depth}"
            lines.append(f"{indent}for {name} in {value}:")
            _emit_value(item, name, lines, indent + "    ", depth + 1)


def _check_source(info: mi.StructType) -> str | None:
    """Python source of ``check(m)`` for one struct type; None when it holds no ids."""
    flat = [f for f in info.fields if _holds_ids(f.type)]
    if not flat:
        return None
    if all(is_id_type(f.type) and f.required for f in flat):  # the common case: required top-level ids only
        return f"def check(m):\n    return bad({' + '.join(f'm.{f.name}' for f in flat)}) is None\n"
    lines = ["def check(m):", "    out = []", "    add = out.append"]
    _emit(info, "m", lines, "    ", 0)
    lines.append('    text = "".join(out)')
    lines.append('    return text.isascii() and not text.encode("ascii").translate(None, ID_CHARS)')
    return "\n".join(lines) + "\n"


@cache
def id_check(cls: type[msgspec.Struct]) -> Callable[[Any], bool]:
    """A function telling whether every id in a decoded ``cls`` holds only allowed characters."""
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType), cls
    source = _check_source(info)
    if source is None:
        return _always
    scope: dict[str, Any] = {"bad": _BAD_CHAR, "ID_CHARS": ID_CHARS, "UNSET": msgspec.UNSET}
    exec(
        compile(source, f"<id check of {cls.__qualname__}>", "exec"), scope
    )  # the source is generated above from the model
    check: Callable[[Any], bool] = scope["check"]
    return check


def _always(message: object) -> bool:
    return True


def first_bad_id(doc: Any, model: Any) -> tuple[list[str | int], str] | None:
    """The first id of a parsed document (in document order) with a character an ID may not hold.

    ``model`` is a model class or any annotation built from them (``list[...]``, ``ID``).
    """
    return _find(doc, mi.type_info(model), [])


def _find(doc: Any, info: mi.Type, path: list[str | int]) -> tuple[list[str | int], str] | None:
    info = _strip(info)
    if is_id_type(info):
        return (path, doc) if isinstance(doc, str) and not _chars_ok(doc) else None
    if isinstance(info, mi.StructType) and isinstance(doc, dict):
        fields = {f.encode_name: f.type for f in info.fields}
        for key, item in doc.items():
            if key in fields and (found := _find(item, fields[key], [*path, key])) is not None:
                return found
    elif isinstance(info, mi.ListType) and isinstance(doc, list):
        for index, item in enumerate(doc):
            if (found := _find(item, info.item_type, [*path, index])) is not None:
                return found
    return None
