"""Session-scoped bookkeeping the engine needs to judge messages: instruction lifecycles and
revocable objects. Both are LRU-bounded, so a peer cannot grow them without limit; an id that
was evicted is treated as unknown (documented trade-off: memory over perfect recall).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from ..findings import Finding
from ..messages.base import S2Message
from ..messages.catalogue import MESSAGE_INFO
from ..messages.enums import InstructionStatus
from ..messages.states import INSTRUCTION_TERMINAL, InstructionMove, instruction_move
from ..rules.lifecycle import judge_status_report
from .ledger import remember

__all__ = [
    "INSTRUCTION_TYPES",
    "TERMINAL_STATUSES",
    "InstructionTracker",
    "ObjectRegistry",
    "object_id_of",
]

INSTRUCTION_TYPES: Final = frozenset(name for name in MESSAGE_INFO if name.endswith("Instruction"))
"""The seven instruction message types; each carries an ``id`` that status updates refer to."""

TERMINAL_STATUSES: Final = INSTRUCTION_TERMINAL

_EMPTY: Final[Mapping[Any, Any]] = MappingProxyType({})
"""What a memory holds until its first entry: one read-only empty mapping shared by every session."""


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

    # one per session; most sessions never see an instruction, so the memory is made on first use
    __slots__ = ("_cap", "_status")

    def __init__(self, cap: int) -> None:
        self._cap = max(1, cap)
        self._status: Mapping[str, InstructionStatus | None] = _EMPTY

    def __len__(self) -> int:
        return len(self._status)

    def __contains__(self, instruction_id: object) -> bool:
        return instruction_id in self._status

    def get(self, instruction_id: str) -> InstructionStatus | None:
        """The furthest status so far (None when unknown or not reported yet)."""
        return self._status.get(instruction_id)

    def _memory(self) -> OrderedDict[str, InstructionStatus | None]:
        status = self._status
        if not isinstance(status, OrderedDict):
            status = self._status = OrderedDict()
        return status

    def register(self, instruction_id: str) -> None:
        """An instruction went over the wire; a repeated id keeps its lifecycle."""
        if instruction_id not in self._status:
            remember(self._memory(), instruction_id, None, self._cap)

    def check(self, instruction_id: str, status: InstructionStatus) -> Finding | None:
        """None when the RM may report ``status`` for the instruction now (S2-INSTR-001..003)."""
        known = instruction_id in self._status
        return judge_status_report(instruction_id, known, self._status.get(instruction_id), status)

    def is_finished(self, instruction_id: str) -> bool:
        return self._status.get(instruction_id) in TERMINAL_STATUSES

    def update(self, instruction_id: str, status: InstructionStatus) -> tuple[bool, InstructionStatus | None]:
        """Record ``status`` if it moves the instruction forward; returns (changed, previous)."""
        previous = self._status.get(instruction_id)
        move = instruction_move(previous, status)
        # the furthest status wins: a terminal one ends the instruction even when it came out of order
        if move is not InstructionMove.FORWARD and (
            move is not InstructionMove.BACKWARD or status not in TERMINAL_STATUSES
        ):
            return False, previous
        remember(self._memory(), instruction_id, status, self._cap)
        return True, previous


class ObjectRegistry:
    """Revocable objects one side published in this session, by (type, id): live or revoked."""

    # two per session (ours and theirs); the memory is made on the first publication
    __slots__ = ("_cap", "_objects")

    def __init__(self, cap: int) -> None:
        self._cap = max(1, cap)
        self._objects: Mapping[tuple[str, str], bool] = _EMPTY

    def _memory(self) -> OrderedDict[tuple[str, str], bool]:
        objects = self._objects
        if not isinstance(objects, OrderedDict):
            objects = self._objects = OrderedDict()
        return objects

    def __len__(self) -> int:
        return len(self._objects)

    def add(self, object_type: str, object_id: str) -> None:
        """Published (again): a re-sent object is live again."""
        remember(self._memory(), (object_type, object_id), True, self._cap)

    def state(self, object_type: str, object_id: str) -> bool | None:
        """True live, False revoked, None never seen (or forgotten)."""
        return self._objects.get((object_type, object_id))

    def revoke(self, object_type: str, object_id: str) -> None:
        remember(self._memory(), (object_type, object_id), False, self._cap)
