"""The RM side of instructions: judge, schedule, and report each one's lifecycle.

Every control type's instructions share one life: the RM accepts or rejects it, starts it at its
``execution_time`` (at once when that is past), and ends it SUCCEEDED or ABORTED, unless the CEM
revokes it first. :class:`InstructionScheduler` keeps that bookkeeping for any instruction type, so
a control type only supplies the check that decides acceptance. It never reads a clock: every
method takes ``now`` and returns the ``InstructionStatusUpdate`` messages to send, and
``next_wakeup`` says when the driver should call :meth:`InstructionScheduler.due` again.

Status moves only forward (S2-INSTR-002/003), by the table ``messages.states.INSTRUCTION_NEXT``
that the session engine and the rule context read too. A forbidden move raises
:class:`InstructionStateError` rather than sending a status the CEM would flag.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Generic, Protocol, TypeVar

from ..errors import InstructionRefused, InstructionStateError, InvalidContent
from ..findings import Finding
from ..messages import InstructionStatus, InstructionStatusUpdate, new_id
from ..messages.base import S2Message
from ..messages.states import INSTRUCTION_TERMINAL, InstructionMove, instruction_move
from ..rules import CATALOGUE, check_message
from ..rules.session_rules import judge_instruction_id, unknown_object

__all__ = [
    "TERMINAL",
    "Decision",
    "InstructionLike",
    "InstructionScheduler",
    "status_update",
]

_S = InstructionStatus
TERMINAL: Final = INSTRUCTION_TERMINAL
"""Statuses after which nothing more is reported for an instruction."""


class InstructionLike(Protocol):
    """What every S2 instruction has: the fields the lifecycle needs."""

    @property
    def message_id(self) -> str: ...

    @property
    def id(self) -> str: ...

    @property
    def execution_time(self) -> datetime: ...

    @property
    def abnormal_condition(self) -> bool: ...


InstructionT = TypeVar("InstructionT", bound=InstructionLike)


def status_update(instruction_id: str, status: InstructionStatus, at: datetime) -> InstructionStatusUpdate:
    """An InstructionStatusUpdate with a fresh message id."""
    return InstructionStatusUpdate(message_id=new_id(), instruction_id=instruction_id, status_type=status, timestamp=at)


@dataclass(frozen=True, slots=True)
class Decision:
    """What became of a submitted instruction, and the messages that say so."""

    instruction_id: str
    status: InstructionStatus
    """ACCEPTED or REJECTED (for a resent duplicate: its status now)."""
    messages: list[InstructionStatusUpdate]
    refusal: Finding | None = None
    duplicate: bool = False
    """The same message arrived again (a resend after TEMPORARY_ERROR): nothing new is sent."""

    @property
    def accepted(self) -> bool:
        return self.refusal is None

    @property
    def rule(self) -> str | None:
        return None if self.refusal is None else self.refusal.rule

    @property
    def reason(self) -> str | None:
        return None if self.refusal is None else self.refusal.reason

    @property
    def rejectable(self) -> bool:
        """True when the catalogue calls the broken rule a flexibility rule, which a receiver
        reports as ReceptionStatus OK plus REJECTED. False for a wrong id or a factor out of
        range, which a driver may rather answer INVALID_CONTENT (both readings exist, §3.7)."""
        if self.refusal is None:
            return True
        rule = CATALOGUE.get(self.refusal.rule)
        return rule is None or rule.rejectable

    def as_invalid_content(self) -> InvalidContent:
        """The refusal as an INVALID_CONTENT error, for a driver that answers that way."""
        assert self.refusal is not None, "an accepted instruction is not invalid"
        return self.refusal.error()


@dataclass(eq=False)
class _Entry(Generic[InstructionT]):
    instruction: InstructionT
    status: InstructionStatus
    status_time: datetime
    seq: int
    handed_out: bool = False
    refusal: Finding | None = None
    reason: str = ""


class InstructionScheduler(Generic[InstructionT]):
    """Accepted instructions in execution order, and every instruction's status.

    ``check(instruction, now)`` is the control type's judgement: it raises
    :class:`InstructionRefused` to reject. The single-message rules of the catalogue (factor in
    [0, 1], envelope limits in order, ...) run first, so a check only adds what needs state.
    ``history`` bounds how many finished instructions are remembered for revocations and
    duplicate ids.
    """

    def __init__(self, check: Callable[[InstructionT, datetime], None] | None = None, *, history: int = 1024) -> None:
        self._check = check
        self._history = history
        self._entries: dict[str, _Entry[InstructionT]] = {}
        self._finished: list[str] = []
        self._heap: list[tuple[datetime, int, str]] = []
        self._seq = 0

    # --- intake -------------------------------------------------------------------------------

    def submit(self, instruction: InstructionT, now: datetime) -> Decision:
        """Judge a received instruction; ACCEPTED ones wait for their execution time.

        The same message again (same message_id) is a resend: its earlier decision is returned
        with no messages. Another message reusing an instruction id breaks S2-ID-001 and raises
        :class:`InvalidContent`: reporting REJECTED would speak of the first instruction.
        """
        earlier = self._entries.get(instruction.id)
        if earlier is not None:
            if earlier.instruction.message_id == instruction.message_id:
                return Decision(instruction.id, earlier.status, [], earlier.refusal, duplicate=True)
            reused = judge_instruction_id(instruction.id, instruction.message_id, earlier.instruction.message_id)
            assert reused is not None
            raise reused.error()
        refusal = self._judge(instruction, now)
        self._seq += 1
        if refusal is not None:
            entry = _Entry(instruction, _S.REJECTED, now, self._seq, refusal=refusal, reason=refusal.reason)
            self._entries[instruction.id] = entry
            self._retire(instruction.id)
            return Decision(instruction.id, _S.REJECTED, [status_update(instruction.id, _S.REJECTED, now)], refusal)
        self._entries[instruction.id] = _Entry(instruction, _S.ACCEPTED, now, self._seq)
        heapq.heappush(self._heap, (instruction.execution_time, self._seq, instruction.id))
        return Decision(instruction.id, _S.ACCEPTED, [status_update(instruction.id, _S.ACCEPTED, now)])

    def _judge(self, instruction: InstructionT, now: datetime) -> Finding | None:
        if isinstance(instruction, S2Message):
            for item in check_message(instruction):
                if item.severity == "error":
                    return item
        if self._check is not None:
            try:
                self._check(instruction, now)
            except InstructionRefused as refusal:
                return Finding.of(refusal)
        return None

    # --- time ---------------------------------------------------------------------------------

    def due(self, now: datetime) -> list[InstructionT]:
        """Accepted instructions whose execution time has come, oldest first; each is returned
        once. The caller executes them and reports :meth:`start`, :meth:`succeed` or :meth:`abort`."""
        out: list[InstructionT] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, _, instruction_id = heapq.heappop(heap)
            entry = self._entries.get(instruction_id)
            if entry is None or entry.status is not _S.ACCEPTED or entry.handed_out:
                continue
            entry.handed_out = True
            out.append(entry.instruction)
        return out

    def next_wakeup(self) -> datetime | None:
        """When the next accepted instruction falls due (may be past: call :meth:`due` now)."""
        heap = self._heap
        while heap:
            entry = self._entries.get(heap[0][2])
            if entry is not None and entry.status is _S.ACCEPTED and not entry.handed_out:
                return heap[0][0]
            heapq.heappop(heap)
        return None

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self, instruction_id: str, now: datetime) -> list[InstructionStatusUpdate]:
        """The device began carrying the instruction out."""
        return self._move(instruction_id, _S.STARTED, now)

    def succeed(self, instruction_id: str, now: datetime) -> list[InstructionStatusUpdate]:
        """The device did what was asked."""
        return self._move(instruction_id, _S.SUCCEEDED, now)

    def abort(self, instruction_id: str, now: datetime, reason: str = "") -> list[InstructionStatusUpdate]:
        """The device could not (or stopped trying to) carry it out; ``reason`` is kept for logs."""
        out = self._move(instruction_id, _S.ABORTED, now)
        self._entries[instruction_id].reason = reason
        return out

    def revoke(self, instruction_id: str, now: datetime) -> list[InstructionStatusUpdate]:
        """The CEM revoked the instruction: REVOKED unless it already ended.

        An id never accepted or rejected here raises :class:`InvalidContent` (S2-REVOKE-002);
        revoking one that already ended changes nothing and sends nothing (S2-REVOKE-004).
        """
        entry = self._entries.get(instruction_id)
        if entry is None:
            raise unknown_object("instruction", instruction_id).error()
        if entry.status in TERMINAL:
            return []
        return self._move(instruction_id, _S.REVOKED, now)

    def deactivate(self, now: datetime) -> list[InstructionStatusUpdate]:
        """The control type was deselected: every open instruction ends ABORTED and nothing stays due."""
        out: list[InstructionStatusUpdate] = []
        for entry in sorted(self._entries.values(), key=lambda e: (e.instruction.execution_time, e.seq)):
            if entry.status not in TERMINAL:
                out.extend(self._move(entry.instruction.id, _S.ABORTED, now))
                entry.reason = "the control type was deactivated"
        self._heap.clear()
        return out

    def _move(self, instruction_id: str, status: InstructionStatus, now: datetime) -> list[InstructionStatusUpdate]:
        entry = self._entries.get(instruction_id)
        if entry is None:
            raise InstructionStateError(f"no instruction {instruction_id} was accepted here")
        if instruction_move(entry.status, status) is not InstructionMove.FORWARD:
            raise InstructionStateError(
                f"instruction {instruction_id} is {entry.status.value}; {status.value} cannot follow"
            )
        entry.status = status
        entry.status_time = max(now, entry.status_time)  # never back in time (S2-INSTR-004)
        if status in TERMINAL:
            self._retire(instruction_id)
        return [status_update(instruction_id, status, entry.status_time)]

    def _retire(self, instruction_id: str) -> None:
        self._finished.append(instruction_id)
        while len(self._finished) > self._history:
            self._entries.pop(self._finished.pop(0), None)

    # --- questions ----------------------------------------------------------------------------

    def status(self, instruction_id: str) -> InstructionStatus | None:
        """The last status of an instruction (None when unknown or long forgotten)."""
        entry = self._entries.get(instruction_id)
        return None if entry is None else entry.status

    def reason(self, instruction_id: str) -> str | None:
        """Why it was rejected or aborted ("" when no reason was given; None when unknown)."""
        entry = self._entries.get(instruction_id)
        return None if entry is None else entry.reason

    def get(self, instruction_id: str) -> InstructionT | None:
        entry = self._entries.get(instruction_id)
        return None if entry is None else entry.instruction

    def open(self) -> list[InstructionT]:
        """Accepted or started instructions, not yet ended, in execution order: what the device
        will (still) do. Control types chain these when they judge a new instruction."""
        entries = [e for e in self._entries.values() if e.status is _S.ACCEPTED or e.status is _S.STARTED]
        entries.sort(key=lambda e: (e.instruction.execution_time, e.seq))
        return [e.instruction for e in entries]

    def pending(self) -> list[InstructionT]:
        """Accepted instructions not yet handed out by :meth:`due`, in execution order."""
        entries = [e for e in self._entries.values() if e.status is _S.ACCEPTED and not e.handed_out]
        entries.sort(key=lambda e: (e.instruction.execution_time, e.seq))
        return [e.instruction for e in entries]

    def running(self) -> list[InstructionT]:
        """Started and not yet ended (long-running PEBC/PPBC instructions)."""
        return [e.instruction for e in self._entries.values() if e.status is _S.STARTED]
