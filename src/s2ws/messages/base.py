"""Primitives every S2 model is built from.

The ID pattern is anchored here on purpose: upstream's pattern is a search, so it would
accept ``"hello world"`` or a 100-character string (see docs/errata.md).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Final

import msgspec
from msgspec import UNSET, Meta, UnsetType

__all__ = [
    "ID",
    "ID_MATCH_PATTERN",
    "ID_PATTERN",
    "UNSET",
    "Duration",
    "S2Message",
    "S2Object",
    "Timestamp",
    "UnsetType",
    "message_type_of",
    "new_id",
]

NIL_ID: Final = "00000000-0000-0000-0000-000000000000"
"""Subject of an INVALID_DATA answer when no message_id could be recovered (s2-python does the
same): it names no message, so several answers may carry it."""

ID_PATTERN = r"^[A-Za-z0-9\-_:]{2,64}$"
"""The ID pattern as JSON Schema writes it (ECMA-262, where ``$`` only matches at the end)."""

ID_MATCH_PATTERN = r"^[A-Za-z0-9\-_:]{2,64}\Z"
"""The same pattern for Python's ``re``, whose ``$`` would also match before a final newline."""

ID = Annotated[str, Meta(min_length=2, max_length=64)]
"""An identifier: 2 to 64 characters of letters, digits, '-', '_' or ':' (full match).

The model bounds the length; the codec checks the characters of all ids of a message in one
pass (``s2ws.ids``), which is the same rule as ``ID_MATCH_PATTERN`` at a fraction of the cost
of msgspec running a regex per id.
"""

Duration = Annotated[int, Meta(ge=0, le=2**63 - 1)]
"""A duration in whole milliseconds, never negative, and at most what a signed 64-bit peer can hold."""

Timestamp = Annotated[datetime, Meta(tz=True)]
"""An RFC 3339 instant; a timestamp without an offset is refused because it is ambiguous."""


def new_id() -> str:
    """A fresh UUID4 string: the only id form every peer (s2-python included) accepts."""
    return str(uuid.uuid4())


class S2Object(
    msgspec.Struct,
    forbid_unknown_fields=True,
    kw_only=True,
    omit_defaults=True,
    frozen=True,
    gc=False,
):
    """Base of every S2 object: unknown fields refused, absent optionals never written."""


class S2Message(S2Object, tag_field="message_type", frozen=True):
    """Base of every S2 message; the class tag is the wire ``message_type``."""


def message_type_of(cls: type[S2Message]) -> str:
    """The wire ``message_type`` of a message class."""
    tag = cls.__struct_config__.tag
    assert isinstance(tag, str), cls
    return tag
