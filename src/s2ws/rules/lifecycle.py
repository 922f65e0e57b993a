"""The instruction-lifecycle rules (S2-INSTR-001..003), judged once for every caller.

The session engine's tracker and the rule context both ask :func:`judge_status_report`; the
transition table itself is ``messages.states.INSTRUCTION_NEXT``.
"""

from __future__ import annotations

from ..findings import Finding
from ..messages.enums import InstructionStatus
from ..messages.states import InstructionMove, instruction_move
from .catalogue import finding

__all__ = ["judge_status_report"]


def judge_status_report(
    instruction_id: str, known: bool, old: InstructionStatus | None, new: InstructionStatus
) -> Finding | None:
    """None when the RM may report ``new`` for an instruction whose last reported status is
    ``old`` (None: nothing reported yet); ``known`` says whether the CEM sent it in this session.

    Repeating the present status of an open instruction breaks nothing: the standard defines
    ``status_type`` as the instruction's present status and forbids only going back and
    reporting after the end.
    """
    if not known:
        reason = f"no instruction with id {instruction_id!r} was sent in this session"
        return finding("S2-INSTR-001", "/instruction_id", reason)
    move = instruction_move(old, new)
    if move is InstructionMove.AFTER_END:
        assert old is not None
        reason = f"instruction {instruction_id!r} already ended with {old.value}; {new.value} cannot follow"
        return finding("S2-INSTR-002", "/status_type", reason)
    if move is InstructionMove.BACKWARD:
        assert old is not None
        reason = f"instruction {instruction_id!r} cannot move from {old.value} back to {new.value}"
        return finding("S2-INSTR-003", "/status_type", reason)
    return None
