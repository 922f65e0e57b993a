"""One raw frame to findings: schema first, then every single-message rule.

Shared by ``s2ws validate`` and replay so that a frame gets the same verdict in both, and a
decoding failure carries a rule id like any other finding.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..codec import get_codec
from ..errors import DecodeError, InvalidData
from ..messages.base import S2Message
from .catalogue import Finding, finding
from .single import check_deep, check_message

__all__ = ["FrameVerdict", "judge_frame", "schema_finding"]


@dataclass(frozen=True, slots=True)
class FrameVerdict:
    """The decoded message (None when decoding failed), the decoding error, and all findings."""

    message: S2Message | None
    error: DecodeError | None
    findings: list[Finding]


def schema_finding(error: DecodeError) -> Finding:
    """A decoding failure as a finding of S2-SCHEMA-001 (INVALID_DATA) or -002 (INVALID_MESSAGE)."""
    rule = "S2-SCHEMA-001" if isinstance(error, InvalidData) else "S2-SCHEMA-002"
    return finding(rule, error.pointer, error.reason)


def judge_frame(data: bytes | str, profile: str = "0.0.2-beta") -> FrameVerdict:
    """Decode ``data`` with ``profile`` and run every context-free rule, deep ones included."""
    try:
        message = get_codec(profile).decode(data)
    except DecodeError as error:
        return FrameVerdict(None, error, [schema_finding(error)])
    return FrameVerdict(message, None, check_message(message) + check_deep(message))
