"""Which role may send which message in which session phase, and where an instruction's status
may go: two tables, read by the session engine, the rule context (replay, validate), the RM's
scheduler and the generated docs.

Phases follow the standard's "state of communication": before the handshake only the
handshake itself may flow; once initialized the common messages may; with a control type
active, that control type's messages too.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from types import MappingProxyType
from typing import Final

from ..findings import Finding
from .catalogue import MESSAGE_INFO
from .enums import ControlType, EnergyManagementRole, InstructionStatus

__all__ = [
    "INSTRUCTION_NEXT",
    "INSTRUCTION_TERMINAL",
    "PHASE_RULES",
    "InstructionMove",
    "Phase",
    "Refusal",
    "check_allowed",
    "instruction_move",
]


class Phase(Enum):
    """Coarse session phase; the active control type is tracked beside it."""

    HANDSHAKE = "handshake"
    """Connected; the handshake has not completed (no HandshakeResponse yet)."""
    INITIALIZED = "initialized"
    """Handshake done; messages of the active control type (if any) are allowed too."""
    CLOSED = "closed"


Refusal = Finding
"""Why a message may not be sent now (the name this table used for a finding)."""


# Rule ids owned by this table (the rule catalogue documents them under these ids).
PHASE_RULES = {
    "S2-SESSION-001": "Only the role(s) the standard names may send a message type.",
    "S2-SESSION-002": (
        "Before the handshake completes only Handshake, HandshakeResponse, ReceptionStatus and SessionRequest flow."
    ),
    "S2-SESSION-003": "A control type's messages flow only while that control type is active.",
    "S2-SESSION-004": "Nothing but ReceptionStatus flows after the session closed.",
    "S2-SESSION-005": "Handshake and HandshakeResponse are sent once per session.",
}

_HANDSHAKE_PHASE = frozenset({"Handshake", "HandshakeResponse", "ReceptionStatus", "SessionRequest"})


def check_allowed(
    message_type: str,
    sender: EnergyManagementRole,
    phase: Phase,
    active: ControlType | None,
) -> Finding | None:
    """None when ``sender`` may send ``message_type`` now, else the refusal.

    ``active`` is the active control type (None or NO_SELECTION when none). Profile
    membership is the codec's job; an unknown type here is refused as wrong-sender.
    """
    info = MESSAGE_INFO.get(message_type)
    if info is None or sender not in info.senders:
        who = " and ".join(sorted(r.value for r in info.senders)) if info else "nobody"
        return Finding("S2-SESSION-001", "/message_type", f"{message_type} is sent by {who}, not by the {sender.value}")
    if phase is Phase.CLOSED:
        if message_type == "ReceptionStatus":
            return None
        return Finding("S2-SESSION-004", "/message_type", f"{message_type} arrived after the session closed")
    if phase is Phase.HANDSHAKE:
        if message_type in _HANDSHAKE_PHASE:
            return None
        return Finding("S2-SESSION-002", "/message_type", f"{message_type} before the handshake completed")
    if message_type in ("Handshake", "HandshakeResponse"):
        return Finding("S2-SESSION-005", "/message_type", f"{message_type} after the handshake completed")
    if info.control_type is not None and info.control_type != active:
        now = active.value if active and active is not ControlType.NO_SELECTION else "no control type"
        return Finding(
            "S2-SESSION-003",
            "/message_type",
            f"{message_type} belongs to {info.control_type.value}, but {now} is active",
        )
    return None


# --- the instruction lifecycle -----------------------------------------------------------------

_S = InstructionStatus

INSTRUCTION_TERMINAL: Final = frozenset({_S.REJECTED, _S.REVOKED, _S.SUCCEEDED, _S.ABORTED})
"""Statuses after which nothing more is reported for an instruction."""

INSTRUCTION_NEXT: Final[Mapping[InstructionStatus | None, frozenset[InstructionStatus]]] = MappingProxyType(
    {
        None: frozenset(InstructionStatus),
        _S.NEW: frozenset(InstructionStatus) - {_S.NEW},
        _S.ACCEPTED: frozenset({_S.STARTED, _S.SUCCEEDED, _S.ABORTED, _S.REVOKED}),
        _S.STARTED: frozenset({_S.SUCCEEDED, _S.ABORTED, _S.REVOKED}),
        _S.REJECTED: frozenset(),
        _S.REVOKED: frozenset(),
        _S.SUCCEEDED: frozenset(),
        _S.ABORTED: frozenset(),
    }
)
"""Where an instruction's status may go from each status (None: nothing reported yet).

protocol.md §3.7: NEW → ACCEPTED | REJECTED; ACCEPTED → STARTED | REVOKED | ABORTED; STARTED →
SUCCEEDED | ABORTED (| REVOKED for long-running instructions). Intermediate statuses may be
skipped, so every later status is reachable; REJECTED answers only a new instruction; nothing
follows a terminal status.
"""


class InstructionMove(Enum):
    """What reporting a status means for an instruction's lifecycle (see :func:`instruction_move`)."""

    FORWARD = "forward"
    """A move the table allows."""
    REPEAT = "repeat"
    """The status it already has, not a terminal one: says nothing new, and is not a move back."""
    AFTER_END = "after_end"
    """Anything after a terminal status (S2-INSTR-002)."""
    BACKWARD = "backward"
    """A status the table does not allow from here (S2-INSTR-003)."""


def instruction_move(old: InstructionStatus | None, new: InstructionStatus) -> InstructionMove:
    """Classify reporting ``new`` for an instruction whose last status is ``old``.

    Read by the session engine's tracker, the rule context and the RM's scheduler, so the three
    agree on every pair.
    """
    if old in INSTRUCTION_TERMINAL:
        return InstructionMove.AFTER_END
    if new in INSTRUCTION_NEXT[old]:
        return InstructionMove.FORWARD
    return InstructionMove.REPEAT if new is old else InstructionMove.BACKWARD
