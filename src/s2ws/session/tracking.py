"""Session-scoped bookkeeping the engine needs to judge messages: instruction lifecycles and
revocable objects. Both are LRU-bounded, so a peer cannot grow them without limit; an id that
was evicted is treated as unknown (documented trade-off: memory over perfect recall).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

from ..findings import Finding
from ..messages.base import S2Message
from ..messages.catalogue import MESSAGE_INFO
from ..messages.enums import InstructionStatus
from .ledger import remember

__all__ = [
    "INSTRUCTION_TYPES",
    "TERMINAL_STATUSES",
    "InstructionTracker",
    "ObjectRegistry",
    "object_id_of",
]

S = InstructionStatus

INSTRUCTION_TYPES: Final = frozenset(name for name in MESSAGE_INFO if name.endswith("Instruction"))
"""The seven instruction message types; each carries an ``id`` that status updates refer to."""

TERMINAL_STATUSES: Final = frozenset({S.REJECTED, S.REVOKED, S.SUCCEEDED, S.ABORTED})

# protocol.md §3.7: NEW -> ACCEPTED | REJECTED; ACCEPTED -> STARTED | REVOKED | ABORTED;
# STARTED -> SUCCEEDED | ABORTED | REVOKED. Steps may be skipped, so a move is forward when it
# reaches a later rank; REJECTED answers only a NEW (or not yet reported) instruction.
_RANK: Final = {S.NEW: 0, S.ACCEPTED: 1, S.STARTED: 2, S.REJECTED: 3, S.REVOKED: 3, S.SUCCEEDED: 3, S.ABORTED: 3}


def object_id_of(message: S2Message) -> str:
    """The id a RevokeObject uses for a revocable message: its ``id``, or for the system
    descriptions (which have none) the message_id, as the certification tool does."""
    ident = getattr(message, "id", None)
    if isinstance(ident, str):
        return ident
    message_id: str = getattr(message, "message_id", "")
    return message_id


class InstructionTracker:
    """The furthest status reported per instruction id (None = sent, nothing reported yet)."""

    def __init__(self, cap: int) -> None:
        self._cap = max(1, cap)
        self._status: OrderedDict[str, InstructionStatus | None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._status)

    def __contains__(self, instruction_id: object) -> bool:
        return instruction_id in self._status

    def get(self, instruction_id: str) -> InstructionStatus | None:
        """The furthest status so far (None when unknown or not reported yet)."""
        return self._status.get(instruction_id)

    def register(self, instruction_id: str) -> None:
        """An instruction went over the wire; a repeated id keeps its lifecycle."""
        if instruction_id not in self._status:
            remember(self._status, instruction_id, None, self._cap)

    def check(self, instruction_id: str, status: InstructionStatus) -> Finding | None:
        """None when reporting ``status`` for the instruction now is a forward move."""
        if instruction_id not in self._status:
            reason = f"no instruction with id {instruction_id!r} was sent in this session"
            return Finding("S2-INSTR-001", "/instruction_id", reason)
        old = self._status[instruction_id]
        if old is None or (old == status and old not in TERMINAL_STATUSES):
            return None
        if old in TERMINAL_STATUSES:
            reason = f"instruction {instruction_id!r} already ended with {old.value}; nothing may follow"
            return Finding("S2-INSTR-002", "/status_type", reason)
        if _RANK[status] <= _RANK[old] or (status is S.REJECTED and old is not S.NEW):
            reason = f"instruction {instruction_id!r} cannot move from {old.value} to {status.value}"
            return Finding("S2-INSTR-003", "/status_type", reason, "warning")
        return None

    def is_finished(self, instruction_id: str) -> bool:
        return self._status.get(instruction_id) in TERMINAL_STATUSES

    def update(self, instruction_id: str, status: InstructionStatus) -> tuple[bool, InstructionStatus | None]:
        """Record ``status`` if it moves the instruction forward; returns (changed, previous)."""
        previous = self._status.get(instruction_id)
        if previous is not None and _RANK[status] <= _RANK[previous]:
            return False, previous
        remember(self._status, instruction_id, status, self._cap)
        return True, previous


class ObjectRegistry:
    """Revocable objects one side published in this session, by (type, id): live or revoked."""

    def __init__(self, cap: int) -> None:
        self._cap = max(1, cap)
        self._objects: OrderedDict[tuple[str, str], bool] = OrderedDict()

    def __len__(self) -> int:
        return len(self._objects)

    def add(self, object_type: str, object_id: str) -> None:
        """Published (again): a re-sent object is live again."""
        remember(self._objects, (object_type, object_id), True, self._cap)

    def state(self, object_type: str, object_id: str) -> bool | None:
        """True live, False revoked, None never seen (or forgotten)."""
        return self._objects.get((object_type, object_id))

    def revoke(self, object_type: str, object_id: str) -> None:
        remember(self._objects, (object_type, object_id), False, self._cap)
