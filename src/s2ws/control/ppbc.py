"""PPBC (power profiles) for both roles: when a task's sequences may run, and who tracks them.

A PPBC device runs a task (a wash, a dishwasher programme) as an ordered chain of containers;
each container offers alternative power sequences, and the CEM picks one per container and
says when it starts. The chain must run in order, within the definition's [start_time,
end_time], and no sequence may start later after its predecessor than its ``max_pause_before``.

Both sides judge instructions with one model of a profile (:class:`_Plan`): the CEM's
:class:`PPBCView` builds only what an RM's :class:`PPBCDevice` accepts, and the RM refuses with
the same catalogue rule (S2-PPBC-0xx) the CEM would have named. Everything is sans-I/O and
clock-free: ``now`` is a parameter, the RM's methods return the messages to send.

``progress`` in a container status is the time the selected sequence has *run*, pauses
excluded. While a sequence is never interrupted this equals the standard's "time since it
started"; after an interruption it still says where in the sequence the device is, which is
what a CEM needs to know how much of the profile remains.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Literal, TypeVar

from ..errors import InstructionRefused
from ..findings import Finding
from ..messages import (
    CommodityQuantity,
    ControlType,
    InstructionStatus,
    InstructionStatusUpdate,
    PowerForecastValue,
    PPBCEndInterruptionInstruction,
    PPBCPowerProfileDefinition,
    PPBCPowerProfileStatus,
    PPBCPowerSequence,
    PPBCPowerSequenceContainer,
    PPBCPowerSequenceContainerStatus,
    PPBCPowerSequenceElement,
    PPBCPowerSequenceStatus,
    PPBCScheduleInstruction,
    PPBCStartInterruptionInstruction,
    RevokableObjects,
    RevokeObject,
    SelectControlType,
    new_id,
)
from ..messages.base import UNSET, S2Message
from ..rules import check_message
from ..rules.single import sequence_duration_ms
from .pebc import amount_of
from .scheduler import Decision, InstructionScheduler

__all__ = [
    "ContainerOptions",
    "PPBCDevice",
    "PPBCView",
    "SequenceOption",
    "energy_of",
    "power_sequence",
]

_Instr = TypeVar("_Instr", PPBCScheduleInstruction, PPBCStartInterruptionInstruction, PPBCEndInterruptionInstruction)

_S = PPBCPowerSequenceStatus
_MS: Final = timedelta(milliseconds=1)
_MAX_REVOKED: Final = 256
_STARTED: Final = frozenset({_S.EXECUTING, _S.INTERRUPTED, _S.FINISHED})
_OPEN: Final = frozenset({_S.SCHEDULED, _S.EXECUTING, _S.INTERRUPTED})

PPBCInstruction = PPBCScheduleInstruction | PPBCStartInterruptionInstruction | PPBCEndInterruptionInstruction
"""Any of the three instructions a CEM sends under PPBC."""
_INSTRUCTIONS: Final = (PPBCScheduleInstruction, PPBCStartInterruptionInstruction, PPBCEndInterruptionInstruction)

Kind = Literal["interrupt", "resume"]


# --- helpers -------------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _span(ms: float) -> str:
    """A duration as a person reads it: 90 min, 45 s, 1500 ms."""
    ms = round(ms)
    for unit, size in (("h", 3_600_000), ("min", 60_000), ("s", 1000)):
        if ms and ms % size == 0:
            return f"{ms // size} {unit}"
    return f"{ms} ms"


def _duration(sequence: PPBCPowerSequence) -> timedelta:
    return sequence_duration_ms(sequence) * _MS


def energy_of(sequence: PPBCPowerSequence) -> dict[CommodityQuantity, float]:
    """What a sequence is expected to take per quantity: Wh for power, l or g for flow rates.

    Integrates ``value_expected`` over the elements' durations; temperatures have no amount and
    are left out. A CEM compares alternatives with it (a cold wash against a hot one).
    """
    totals: dict[CommodityQuantity, float] = {}
    for element in sequence.elements:
        seconds = element.duration / 1000
        for value in element.power_values:
            cq = value.commodity_quantity
            if cq is CommodityQuantity.HEAT_TEMPERATURE:
                continue
            totals[cq] = totals.get(cq, 0.0) + value.value_expected * seconds
    return {cq: amount_of(cq, total) for cq, total in totals.items()}


def power_sequence(
    sequence_id: str,
    steps: Sequence[tuple[timedelta, float]],
    *,
    quantity: CommodityQuantity = CommodityQuantity.ELECTRIC_POWER_L1,
    is_interruptible: bool = False,
    max_pause_before: timedelta | None = None,
    abnormal_condition_only: bool = False,
) -> PPBCPowerSequence:
    """A power sequence from (duration, expected power) steps of one quantity: the common case
    of a device author describing a programme phase."""
    return PPBCPowerSequence(
        id=sequence_id,
        elements=[
            PPBCPowerSequenceElement(
                duration=round(duration / _MS),
                power_values=[PowerForecastValue(value_expected=float(power), commodity_quantity=quantity)],
            )
            for duration, power in steps
        ],
        is_interruptible=is_interruptible,
        max_pause_before=UNSET if max_pause_before is None else round(max_pause_before / _MS),
        abnormal_condition_only=abnormal_condition_only,
    )


# --- results ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SequenceOption:
    """One sequence a CEM may still choose for a container, and when it may start."""

    sequence_id: str
    duration: timedelta
    earliest_start: datetime
    latest_start: datetime
    """Both honour the profile window, the containers' order, ``max_pause_before`` and the time
    the other (scheduled or still open) containers need."""
    is_interruptible: bool
    abnormal_condition_only: bool
    max_pause_before: timedelta | None


@dataclass(frozen=True, slots=True)
class ContainerOptions:
    """One container: its state, and the sequences that may still be scheduled for it."""

    container_id: str
    status: PPBCPowerSequenceStatus
    selected_sequence_id: str | None
    start: datetime | None
    """Start of the selected sequence (scheduled or actual); None when not scheduled."""
    end: datetime | None
    """When the selected sequence is expected to end (for an interrupted one: at the earliest)."""
    options: tuple[SequenceOption, ...]
    """Empty when a sequence is already selected, or when none fits any more."""


# --- the shared model of one profile ----------------------------------------------------------------


@dataclass(eq=False)
class _Pending:
    instruction_id: str
    kind: Kind
    at: datetime


@dataclass(eq=False)
class _Slot:
    """One container as the plan knows it."""

    container: PPBCPowerSequenceContainer
    status: PPBCPowerSequenceStatus = _S.NOT_SCHEDULED
    selected: PPBCPowerSequence | None = None
    start: datetime | None = None
    progress_ms: float = 0.0
    """Time run (pauses excluded) up to ``since``."""
    since: datetime | None = None
    schedule_id: str | None = None
    waiting: bool = False
    """RM only: the start time passed while the previous container was still running."""
    pending: list[_Pending] = field(default_factory=list)

    def sequence(self, sequence_id: str) -> PPBCPowerSequence | None:
        return next((s for s in self.container.power_sequences if s.id == sequence_id), None)

    def run_ms(self, now: datetime) -> float:
        if self.status is _S.EXECUTING and self.since is not None:
            return self.progress_ms + max(0.0, (now - self.since) / _MS)
        return self.progress_ms

    def end(self, now: datetime) -> datetime | None:
        if self.selected is None:
            return None
        total = sequence_duration_ms(self.selected)
        if self.status is _S.SCHEDULED:
            return (self.start or now) + total * _MS
        since = self.since or now
        if self.status is _S.EXECUTING:
            return since + (total - self.progress_ms) * _MS
        if self.status is _S.INTERRUPTED:
            return max(now, since) + (total - self.progress_ms) * _MS
        return since  # FINISHED or ABORTED: when that happened

    def reset(self) -> None:
        self.status, self.selected, self.start, self.schedule_id = _S.NOT_SCHEDULED, None, None, None
        self.progress_ms, self.since, self.waiting = 0.0, None, False


@dataclass(frozen=True, slots=True)
class _Window:
    sequence: PPBCPowerSequence
    earliest: datetime
    latest: datetime
    pause_bound: bool
    """The latest start is set by max_pause_before rather than by the time after it."""


class _Plan:
    """One PowerProfileDefinition and the state of its containers: what both roles judge by."""

    def __init__(self, definition: PPBCPowerProfileDefinition) -> None:
        self.definition = definition
        self.slots = [_Slot(c) for c in definition.power_sequences_containers]
        self.index = {c.id: i for i, c in enumerate(definition.power_sequences_containers)}

    # --- lookups ---------------------------------------------------------------------------------

    def find(
        self, container_id: str, sequence_id: str, out: list[Finding]
    ) -> tuple[int, _Slot, PPBCPowerSequence] | None:
        i = self.index.get(container_id)
        if i is None:
            reason = f"{container_id} is not a container of {self.definition.id}"
            out.append(Finding("S2-PPBC-012", "/sequence_container_id", reason))
            return None
        slot = self.slots[i]
        sequence = slot.sequence(sequence_id)
        if sequence is None:
            reason = f"{sequence_id} is not a sequence of container {container_id}"
            out.append(Finding("S2-PPBC-012", "/power_sequence_id", reason))
            return None
        return i, slot, sequence

    def slot_of(self, instruction_id: str) -> _Slot | None:
        return next((s for s in self.slots if s.schedule_id == instruction_id), None)

    def pending_of(self, instruction_id: str) -> tuple[_Slot, _Pending] | None:
        for slot in self.slots:
            for pending in slot.pending:
                if pending.instruction_id == instruction_id:
                    return slot, pending
        return None

    # --- when sequences may run ------------------------------------------------------------------------

    def windows(self, now: datetime, abnormal: bool) -> list[list[_Window]]:
        """Per container, the sequences that can still be scheduled and their start bounds.

        A backward pass finds how late each container may end so the rest still fits before
        end_time; a forward pass finds how early each may start after the ones before it, and
        caps the latest start by ``max_pause_before`` after the latest end of its predecessor.
        Containers with a selected sequence are fixed and get no windows.
        """
        begin, finish = self.definition.start_time, self.definition.end_time
        n = len(self.slots)
        fixed: list[tuple[datetime, datetime] | None] = []
        for slot in self.slots:
            end = slot.end(now)
            fixed.append(None if end is None else (slot.start or now, end))
        choices = [
            [s for s in slot.container.power_sequences if abnormal or not s.abnormal_condition_only]
            for slot in self.slots
        ]
        latest_end = [finish] * n
        for i in range(n - 2, -1, -1):
            after = fixed[i + 1]
            if after is not None:
                latest_end[i] = min(finish, after[0])
            elif choices[i + 1]:
                latest_end[i] = latest_end[i + 1] - min(_duration(s) for s in choices[i + 1])
        result: list[list[_Window]] = []
        early: datetime = begin
        late: datetime | None = None
        feasible = True
        for i, slot in enumerate(self.slots):
            span = fixed[i]
            if span is not None:
                result.append([])
                early, late, feasible = span[1], span[1], slot.status is not _S.ABORTED
                continue
            if not feasible:
                result.append([])
                continue
            after = fixed[i + 1] if i + 1 < n else None
            following = self.slots[i + 1].selected if i + 1 < n else None
            next_pause = None
            if after is not None and following is not None and following.max_pause_before is not UNSET:
                next_pause = following.max_pause_before * _MS
            windows: list[_Window] = []
            for sequence in choices[i]:
                length = _duration(sequence)
                first = max(early, now, begin)
                if after is not None and next_pause is not None:
                    first = max(first, after[0] - next_pause - length)
                last = latest_end[i] - length
                capped = False
                if late is not None and i > 0 and sequence.max_pause_before is not UNSET:
                    bound = late + sequence.max_pause_before * _MS
                    if bound < last:
                        last, capped = bound, True
                if first <= last:
                    windows.append(_Window(sequence, first, last, capped))
            result.append(windows)
            if windows:
                early = min(w.earliest + _duration(w.sequence) for w in windows)
                late = max(w.latest + _duration(w.sequence) for w in windows)
            else:
                feasible = False
        return result

    def options(self, now: datetime, abnormal: bool) -> list[ContainerOptions]:
        out: list[ContainerOptions] = []
        for slot, windows in zip(self.slots, self.windows(now, abnormal), strict=True):
            options = tuple(
                SequenceOption(
                    sequence_id=w.sequence.id,
                    duration=_duration(w.sequence),
                    earliest_start=w.earliest,
                    latest_start=w.latest,
                    is_interruptible=w.sequence.is_interruptible,
                    abnormal_condition_only=w.sequence.abnormal_condition_only,
                    max_pause_before=None
                    if w.sequence.max_pause_before is UNSET
                    else w.sequence.max_pause_before * _MS,
                )
                for w in windows
            )
            start = None if slot.selected is None else (slot.start or now)
            selected = None if slot.selected is None else slot.selected.id
            out.append(ContainerOptions(slot.container.id, slot.status, selected, start, slot.end(now), options))
        return out

    # --- judging -----------------------------------------------------------------------------------

    def judge_schedule(
        self, container_id: str, sequence_id: str, execution_time: datetime, abnormal: bool, now: datetime
    ) -> list[Finding]:
        """Every reason a ScheduleInstruction for this sequence at ``execution_time`` is refused."""
        out: list[Finding] = []
        found = self.find(container_id, sequence_id, out)
        if found is None:
            return out
        i, slot, sequence = found
        if slot.status is not _S.NOT_SCHEDULED:
            assert slot.selected is not None
            reason = f"container {container_id} is already {slot.status.value} with sequence {slot.selected.id}"
            if slot.status is _S.SCHEDULED and slot.schedule_id:
                reason += f"; revoke instruction {slot.schedule_id} first"
            out.append(Finding("S2-PPBC-020", "/sequence_container_id", reason))
            return out
        aborted = next((s for s in self.slots[:i] if s.status is _S.ABORTED), None)
        if aborted is not None:
            reason = f"container {aborted.container.id} was aborted, so the containers after it cannot run"
            out.append(Finding("S2-PPBC-015", "/sequence_container_id", reason))
            return out
        if sequence.abnormal_condition_only and not abnormal:
            reason = f"sequence {sequence.id} may only run under an abnormal condition"
            out.append(Finding("S2-PPBC-013", "/abnormal_condition", reason))
        start = max(execution_time, now)
        end = start + _duration(sequence)
        profile = self.definition
        if start < profile.start_time or end > profile.end_time:
            reason = (
                f"the sequence would run {_iso(start)} to {_iso(end)}, outside "
                f"[{_iso(profile.start_time)}, {_iso(profile.end_time)}] of {profile.id}"
            )
            out.append(Finding("S2-PPBC-014", "/execution_time", reason))
        before = self.slots[i - 1] if i > 0 else None
        before_end = None if before is None else before.end(now)
        if before is not None and before_end is not None:
            name = before.container.id
            if start < before_end:
                reason = f"the sequence starts at {_iso(start)}, before container {name} ends at {_iso(before_end)}"
                out.append(Finding("S2-PPBC-015", "/execution_time", reason))
            elif sequence.max_pause_before is not UNSET and start - before_end > sequence.max_pause_before * _MS:
                reason = (
                    f"a pause of {_span((start - before_end) / _MS)} after container {name} exceeds "
                    f"max_pause_before {_span(sequence.max_pause_before)} of sequence {sequence.id}"
                )
                out.append(Finding("S2-PPBC-016", "/execution_time", reason))
        after = self.slots[i + 1] if i + 1 < len(self.slots) else None
        if after is not None and after.selected is not None:
            after_start = after.start or now
            name = after.container.id
            pause = after.selected.max_pause_before
            if end > after_start:
                reason = f"the sequence would end at {_iso(end)}, after container {name} starts at {_iso(after_start)}"
                out.append(Finding("S2-PPBC-015", "/execution_time", reason))
            elif pause is not UNSET and after_start - end > pause * _MS:
                reason = (
                    f"the sequence would end {_span((after_start - end) / _MS)} before container {name} starts, "
                    f"more than its max_pause_before {_span(pause)}"
                )
                out.append(Finding("S2-PPBC-016", "/execution_time", reason))
        if out:
            return out
        window = next((w for w in self.windows(now, abnormal)[i] if w.sequence.id == sequence.id), None)
        if window is None:
            reason = (
                f"sequence {sequence.id} no longer fits in container {container_id}: with the containers "
                f"around it, it cannot run within [{_iso(profile.start_time)}, {_iso(profile.end_time)}]"
            )
            out.append(Finding("S2-PPBC-014", "/execution_time", reason))
        elif start < window.earliest:
            reason = (
                f"the sequence starts at {_iso(start)}, but the containers before {container_id} "
                f"cannot have run by then; the earliest start is {_iso(window.earliest)}"
            )
            out.append(Finding("S2-PPBC-015", "/execution_time", reason))
        elif start > window.latest:
            if window.pause_bound:
                limit = _span(sequence.max_pause_before) if sequence.max_pause_before is not UNSET else "?"
                reason = (
                    f"the sequence starts at {_iso(start)}, which exceeds its max_pause_before "
                    f"{limit} however late the container before it ends; "
                    f"the latest start is {_iso(window.latest)}"
                )
                out.append(Finding("S2-PPBC-016", "/execution_time", reason))
            else:
                reason = (
                    f"the sequence starts at {_iso(start)}, too late for the containers after it to end "
                    f"by {_iso(profile.end_time)}; the latest start is {_iso(window.latest)}"
                )
                out.append(Finding("S2-PPBC-014", "/execution_time", reason))
        return out

    def expected(self, slot: _Slot, at: datetime, now: datetime) -> PPBCPowerSequenceStatus:
        """The state ``slot`` should be in at ``at`` ≥ now, given its schedule and the accepted
        interruption instructions still to come."""
        state = slot.status
        if state is _S.SCHEDULED and not slot.waiting and (slot.start or now) <= at:
            state = _S.EXECUTING
        end = slot.end(now)
        if state is _S.EXECUTING and end is not None and end <= at and not slot.pending:
            state = _S.FINISHED
        for pending in sorted(slot.pending, key=lambda p: p.at):
            if pending.at > at:
                break
            if pending.kind == "interrupt" and state is _S.EXECUTING:
                state = _S.INTERRUPTED
            elif pending.kind == "resume" and state is _S.INTERRUPTED:
                state = _S.EXECUTING
        return state

    def judge_interruption(
        self, kind: Kind, container_id: str, sequence_id: str, execution_time: datetime, now: datetime
    ) -> list[Finding]:
        """Every reason a Start/EndInterruptionInstruction is refused: only the selected,
        interruptible sequence, only while EXECUTING (interrupt) or INTERRUPTED (resume)."""
        out: list[Finding] = []
        found = self.find(container_id, sequence_id, out)
        if found is None:
            return out
        _, slot, sequence = found
        rule = "S2-PPBC-018" if kind == "interrupt" else "S2-PPBC-019"
        if kind == "interrupt" and not sequence.is_interruptible:
            out.append(Finding("S2-PPBC-017", "/power_sequence_id", f"sequence {sequence.id} is not interruptible"))
            return out
        if slot.selected is None or slot.selected.id != sequence.id:
            held = "no sequence" if slot.selected is None else f"sequence {slot.selected.id}"
            reason = f"sequence {sequence.id} is not selected in container {container_id} (it holds {held})"
            out.append(Finding(rule, "/power_sequence_id", reason))
            return out
        at = max(execution_time, now)
        state = self.expected(slot, at, now)
        wanted = _S.EXECUTING if kind == "interrupt" else _S.INTERRUPTED
        if state is not wanted:
            verb = "interrupted" if kind == "interrupt" else "resumed"
            reason = f"sequence {sequence.id} is {state.value} at {_iso(at)}, so it cannot be {verb}"
            out.append(Finding(rule, "/execution_time", reason))
        return out

    # --- reporting ---------------------------------------------------------------------------------

    def status_values(self, now: datetime) -> list[PPBCPowerSequenceContainerStatus]:
        out: list[PPBCPowerSequenceContainerStatus] = []
        for slot in self.slots:
            started = slot.status in _STARTED or (slot.status is _S.ABORTED and slot.since is not None)
            out.append(
                PPBCPowerSequenceContainerStatus(
                    power_profile_id=self.definition.id,
                    sequence_container_id=slot.container.id,
                    selected_sequence_id=UNSET if slot.selected is None else slot.selected.id,
                    progress=round(slot.run_ms(now)) if started else UNSET,
                    status=slot.status,
                )
            )
        return out


def _judge(plan: _Plan, instruction: PPBCInstruction, now: datetime) -> list[Finding]:
    if isinstance(instruction, PPBCScheduleInstruction):
        return plan.judge_schedule(
            instruction.sequence_container_id,
            instruction.power_sequence_id,
            instruction.execution_time,
            instruction.abnormal_condition,
            now,
        )
    kind: Kind = "interrupt" if isinstance(instruction, PPBCStartInterruptionInstruction) else "resume"
    return plan.judge_interruption(
        kind, instruction.sequence_container_id, instruction.power_sequence_id, instruction.execution_time, now
    )


# --- the CEM's view -----------------------------------------------------------------------------


class PPBCView:
    """What a CEM knows about one RM's power profiles, and the instructions it may send.

    Feed it every message received from the RM with :meth:`apply`: definitions, statuses,
    InstructionStatusUpdates, revocations. Instructions built here are remembered (``record``)
    because they fix when a container runs, which no status says; the next schedule is judged
    against them until the RM rejects one, it is revoked, or :meth:`forget` drops an unsent
    one. Instructions sent some other way can be applied like received messages.
    """

    def __init__(self) -> None:
        self._plans: dict[str, _Plan] = {}
        self._revoked: dict[str, None] = {}
        self._instructions: dict[str, tuple[str, InstructionStatus | None]] = {}
        """instruction id -> (profile id, last status reported), for the updates that follow."""

    # --- state ---------------------------------------------------------------------------------------

    def apply(self, message: S2Message, now: datetime) -> bool:
        """Take in a message of the session; False when it means nothing here."""
        if isinstance(message, PPBCPowerProfileDefinition):
            self._plans[message.id] = _Plan(message)
        elif isinstance(message, PPBCPowerProfileStatus):
            for status in message.sequence_container_status:
                self._apply_status(status, now)
        elif isinstance(message, _INSTRUCTIONS):
            return self._record(message, now)
        elif isinstance(message, InstructionStatusUpdate):
            return self._apply_update(message.instruction_id, message.status_type, message.timestamp)
        elif isinstance(message, RevokeObject):
            if message.object_type is RevokableObjects.PPBC_PowerProfileDefinition:
                if self._plans.pop(message.object_id, None) is None:
                    return False
                self._revoked[message.object_id] = None
                if len(self._revoked) > _MAX_REVOKED:
                    del self._revoked[next(iter(self._revoked))]
                return True
            return self._apply_update(message.object_id, InstructionStatus.REVOKED, now)
        elif isinstance(message, SelectControlType):
            if message.control_type is not ControlType.POWER_PROFILE_BASED_CONTROL:
                self.clear()
        else:
            return False
        return True

    def clear(self) -> None:
        """Forget everything (the control type was deselected or the session ended)."""
        self._plans.clear()
        self._instructions.clear()

    def instruction_status(self, instruction_id: str) -> InstructionStatus | None:
        """The last status the RM reported for an instruction built or applied here."""
        entry = self._instructions.get(instruction_id)
        return None if entry is None else entry[1]

    def forget(self, instruction_id: str) -> None:
        """Drop an instruction that was built but never sent: its container is free again."""
        self._apply_update(instruction_id, InstructionStatus.REVOKED, datetime.min)
        self._instructions.pop(instruction_id, None)

    def revoke(self, instruction_id: str, now: datetime) -> RevokeObject:
        """The RevokeObject withdrawing an instruction built here; from now on it no longer counts
        (an unstarted schedule frees its container)."""
        entry = self._instructions.get(instruction_id)
        plan = None if entry is None else self._plans.get(entry[0])
        object_type = RevokableObjects.PPBC_ScheduleInstruction
        if plan is not None and plan.slot_of(instruction_id) is None:
            found = plan.pending_of(instruction_id)
            if found is not None and found[1].kind == "interrupt":
                object_type = RevokableObjects.PPBC_StartInterruptionInstruction
            elif found is not None:
                object_type = RevokableObjects.PPBC_EndInterruptionInstruction
        self._apply_update(instruction_id, InstructionStatus.REVOKED, now)
        return RevokeObject(message_id=new_id(), object_type=object_type, object_id=instruction_id)

    def _record(self, message: PPBCInstruction, now: datetime) -> bool:
        if message.id in self._instructions:
            return True  # built here and applied again as sent: already counted
        plan = self._plans.get(message.power_profile_id)
        i = None if plan is None else plan.index.get(message.sequence_container_id)
        if plan is None or i is None:
            return False
        slot = plan.slots[i]
        sequence = slot.sequence(message.power_sequence_id)
        if sequence is None:
            return False
        self._instructions[message.id] = (plan.definition.id, None)
        if len(self._instructions) > 4 * _MAX_REVOKED:
            del self._instructions[next(iter(self._instructions))]
        if isinstance(message, PPBCScheduleInstruction):
            slot.reset()
            slot.status, slot.selected = _S.SCHEDULED, sequence
            slot.start, slot.schedule_id = max(message.execution_time, now), message.id
        else:
            kind: Kind = "interrupt" if isinstance(message, PPBCStartInterruptionInstruction) else "resume"
            slot.pending.append(_Pending(message.id, kind, max(message.execution_time, now)))
        return True

    def _apply_status(self, status: PPBCPowerSequenceContainerStatus, now: datetime) -> None:
        plan = self._plans.get(status.power_profile_id)
        i = None if plan is None else plan.index.get(status.sequence_container_id)
        if plan is None or i is None:
            return
        slot = plan.slots[i]
        selected = None if status.selected_sequence_id is UNSET else slot.sequence(status.selected_sequence_id)
        if status.status is _S.NOT_SCHEDULED or selected is None:
            slot.reset()
            return
        # A repeated FINISHED/INTERRUPTED/ABORTED report keeps the moment it first happened.
        settled = status.status is slot.status and status.status is not _S.EXECUTING and slot.since is not None
        if slot.selected is not selected:
            slot.schedule_id, slot.start, settled = None, None, False
        slot.selected, slot.status = selected, status.status
        progress = 0.0 if status.progress is UNSET else float(status.progress)
        if (status.status in _STARTED or status.status is _S.ABORTED) and not settled:
            slot.progress_ms, slot.since = progress, now
            if slot.start is None or (status.status is _S.EXECUTING and slot.start > now):
                slot.start = now - progress * _MS
        # A status that shows an interruption's effect settles it.
        effect = {_S.INTERRUPTED: "interrupt", _S.EXECUTING: "resume"}.get(status.status)
        slot.pending = [p for p in slot.pending if not (p.kind == effect and p.at <= now)]

    def _apply_update(self, instruction_id: str, status: InstructionStatus, at: datetime) -> bool:
        entry = self._instructions.get(instruction_id)
        if entry is None:
            return False
        self._instructions[instruction_id] = (entry[0], status)
        plan = self._plans.get(entry[0])
        if plan is None:
            return True
        slot = plan.slot_of(instruction_id)
        failed = status in (InstructionStatus.REJECTED, InstructionStatus.REVOKED, InstructionStatus.ABORTED)
        if slot is not None:
            if failed and slot.status is _S.SCHEDULED:
                slot.reset()
            elif status is InstructionStatus.STARTED and slot.status is _S.SCHEDULED:
                slot.status, slot.start, slot.since, slot.progress_ms = _S.EXECUTING, at, at, 0.0
            elif status is InstructionStatus.SUCCEEDED and slot.status in _OPEN and slot.selected is not None:
                slot.status, slot.since = _S.FINISHED, at
                slot.progress_ms = float(sequence_duration_ms(slot.selected))
            return True
        found = plan.pending_of(instruction_id)
        if found is None:
            return True
        slot, pending = found
        if failed:
            slot.pending.remove(pending)
        elif status is InstructionStatus.SUCCEEDED:
            slot.pending.remove(pending)
            if pending.kind == "interrupt" and slot.status is _S.EXECUTING:
                slot.progress_ms = slot.run_ms(at)
                slot.status, slot.since = _S.INTERRUPTED, at
            elif pending.kind == "resume" and slot.status is _S.INTERRUPTED:
                slot.status, slot.since = _S.EXECUTING, at
        return True

    # --- queries -------------------------------------------------------------------------------------

    def profiles(self) -> list[PPBCPowerProfileDefinition]:
        """Every definition in force (not revoked), in the order they arrived."""
        return [p.definition for p in self._plans.values()]

    def definition(self, profile_id: str) -> PPBCPowerProfileDefinition | None:
        plan = self._plans.get(profile_id)
        return None if plan is None else plan.definition

    def _plan(self, profile_id: str) -> _Plan:
        plan = self._plans.get(profile_id)
        if plan is None:
            why = "was revoked" if profile_id in self._revoked else "is not known"
            raise InstructionRefused("S2-PPBC-011", "/power_profile_id", f"PowerProfileDefinition {profile_id} {why}")
        return plan

    def feasible_schedules(self, profile_id: str, now: datetime, *, abnormal: bool = False) -> list[ContainerOptions]:
        """For each container in order: its state and the sequences that may still be scheduled,
        each with its earliest and latest start. Abnormal-only sequences are offered only when
        ``abnormal`` is true. Raises :class:`InstructionRefused` (S2-PPBC-011) for an unknown profile.
        """
        return self._plan(profile_id).options(now, abnormal)

    energy_of = staticmethod(energy_of)

    # --- building --------------------------------------------------------------------------------------

    def schedule(
        self,
        profile_id: str,
        container_id: str,
        sequence_id: str,
        start: datetime,
        now: datetime,
        *,
        abnormal: bool = False,
        instruction_id: str | None = None,
        record: bool = True,
    ) -> PPBCScheduleInstruction:
        """A ScheduleInstruction starting the sequence at ``start``, or :class:`InstructionRefused`
        naming the first rule it would break (window, order, max_pause_before, abnormal, a
        container already scheduled, ...)."""
        problems = self._plan(profile_id).judge_schedule(container_id, sequence_id, start, abnormal, now)
        return self._issue(
            PPBCScheduleInstruction,
            problems,
            profile_id,
            container_id,
            sequence_id,
            start,
            abnormal,
            instruction_id,
            record,
            now,
        )

    def interrupt(
        self,
        profile_id: str,
        container_id: str,
        at: datetime,
        now: datetime,
        *,
        abnormal: bool = False,
        instruction_id: str | None = None,
        record: bool = True,
    ) -> PPBCStartInterruptionInstruction:
        """Pause the container's selected sequence at ``at``: only an interruptible one that is
        (or by its schedule will be) EXECUTING then."""
        sequence_id = self._selected(profile_id, container_id, "S2-PPBC-018")
        problems = self._plan(profile_id).judge_interruption("interrupt", container_id, sequence_id, at, now)
        return self._issue(
            PPBCStartInterruptionInstruction,
            problems,
            profile_id,
            container_id,
            sequence_id,
            at,
            abnormal,
            instruction_id,
            record,
            now,
        )

    def resume(
        self,
        profile_id: str,
        container_id: str,
        at: datetime,
        now: datetime,
        *,
        abnormal: bool = False,
        instruction_id: str | None = None,
        record: bool = True,
    ) -> PPBCEndInterruptionInstruction:
        """Resume the container's sequence at ``at``: only one that is INTERRUPTED then."""
        sequence_id = self._selected(profile_id, container_id, "S2-PPBC-019")
        problems = self._plan(profile_id).judge_interruption("resume", container_id, sequence_id, at, now)
        return self._issue(
            PPBCEndInterruptionInstruction,
            problems,
            profile_id,
            container_id,
            sequence_id,
            at,
            abnormal,
            instruction_id,
            record,
            now,
        )

    def _issue(
        self,
        cls: type[_Instr],
        problems: list[Finding],
        profile_id: str,
        container_id: str,
        sequence_id: str,
        execution_time: datetime,
        abnormal: bool,
        instruction_id: str | None,
        record: bool,
        now: datetime,
    ) -> _Instr:
        """Refuse with the first problem, or build the instruction (and remember it when asked)."""
        if problems:
            raise problems[0].refusal()
        message = cls(
            message_id=new_id(),
            id=instruction_id or new_id(),
            power_profile_id=profile_id,
            sequence_container_id=container_id,
            power_sequence_id=sequence_id,
            execution_time=execution_time,
            abnormal_condition=abnormal,
        )
        if record:
            self._record(message, now)
        return message

    def _selected(self, profile_id: str, container_id: str, rule: str) -> str:
        plan = self._plan(profile_id)
        i = plan.index.get(container_id)
        if i is None:
            reason = f"{container_id} is not a container of {profile_id}"
            raise InstructionRefused("S2-PPBC-012", "/sequence_container_id", reason)
        selected = plan.slots[i].selected
        if selected is None:
            raise InstructionRefused(rule, "/power_sequence_id", f"container {container_id} has no selected sequence")
        return selected.id


# --- the RM's building block ------------------------------------------------------------------------


class PPBCDevice:
    """The RM side of PPBC for one task: publish the definition, follow the CEM's choices.

    Instructions are judged by the same model a :class:`PPBCView` builds with. Accepted
    ScheduleInstructions start their sequence at execution_time (STARTED) and SUCCEED when it
    finishes; a sequence whose start comes while the container before it still runs (it was
    interrupted) waits for it. Interruption instructions take effect at their execution_time
    (STARTED, SUCCEEDED), or are ABORTED when the sequence is then not in the state they need.
    Every change of a container produces a PowerProfileStatus covering all containers.

    Revoking a schedule before it starts returns the container to NOT_SCHEDULED; a sequence
    already running keeps running (the device decides; stopping a wash halfway helps no one),
    only the instruction is reported REVOKED.
    """

    def __init__(self, definition: PPBCPowerProfileDefinition, *, strict_ids: bool = False) -> None:
        _ensure_valid(definition)
        self.strict_ids = strict_ids
        """Answer instructions naming unknown ids with INVALID_CONTENT (raise from :meth:`handle`)
        rather than ReceptionStatus OK plus REJECTED."""
        self.plan = _Plan(definition)
        self.scheduler: InstructionScheduler[PPBCInstruction] = InstructionScheduler(self._check)
        self._received: dict[str, datetime] = {}
        self._active = False

    @property
    def definition(self) -> PPBCPowerProfileDefinition:
        return self.plan.definition

    # --- publishing -----------------------------------------------------------------------------

    def activate(self, now: datetime) -> list[S2Message]:
        """PPBC was selected: the definition, then the status of every container."""
        self._active = True
        return [self.definition, self.status(now)]

    def status(self, now: datetime) -> PPBCPowerProfileStatus:
        """The PowerProfileStatus of every container as of ``now``."""
        return PPBCPowerProfileStatus(message_id=new_id(), sequence_container_status=self.plan.status_values(now))

    def replace(self, definition: PPBCPowerProfileDefinition, now: datetime) -> list[S2Message]:
        """A new task (or a changed one): open instructions are ABORTED, the old definition is
        revoked and the new one published with its status."""
        _ensure_valid(definition)
        out: list[S2Message] = []
        for instruction in self.scheduler.open():
            out.extend(self.scheduler.abort(instruction.id, now, "the power profile was replaced"))
        old = self.definition
        self.plan = _Plan(definition)
        if self._active:
            if old.id != definition.id:
                out.append(
                    RevokeObject(
                        message_id=new_id(),
                        object_type=RevokableObjects.PPBC_PowerProfileDefinition,
                        object_id=old.id,
                    )
                )
            out.extend([definition, self.status(now)])
        return out

    # --- instructions ---------------------------------------------------------------------------

    def _check(self, instruction: PPBCInstruction, now: datetime) -> None:
        if instruction.power_profile_id != self.definition.id:
            reason = (
                f"PowerProfileDefinition {instruction.power_profile_id} is not the one in force ({self.definition.id})"
            )
            raise InstructionRefused("S2-PPBC-011", "/power_profile_id", reason)
        problems = _judge(self.plan, instruction, now)
        if problems:
            raise problems[0].refusal()

    def handle(self, message: S2Message, now: datetime) -> list[S2Message]:
        """React to a message from the CEM: SelectControlType, a PPBC instruction, its revocation.

        An accepted ScheduleInstruction is followed by the PowerProfileStatus it changes. Raises
        :class:`InvalidContent` where the ReceptionStatus should say so: revoking an unknown
        instruction and, with ``strict_ids``, an instruction naming unknown ids.
        """
        if isinstance(message, SelectControlType):
            out: list[S2Message] = self.deactivate(now) if self._active else []
            if message.control_type is ControlType.POWER_PROFILE_BASED_CONTROL:
                out.extend(self.activate(now))
            return out
        if isinstance(message, _INSTRUCTIONS):
            decision = self.receive(message, now)
            if self.strict_ids and not decision.accepted and not decision.rejectable and not decision.duplicate:
                raise decision.as_invalid_content()
            out = [*decision.messages, *self.tick(now)]
            scheduled = isinstance(message, PPBCScheduleInstruction) and decision.accepted and not decision.duplicate
            if scheduled and not any(isinstance(m, PPBCPowerProfileStatus) for m in out):
                out.append(self.status(now))
            return out
        if (
            isinstance(message, RevokeObject)
            and message.object_type.value.startswith("PPBC.")
            and (message.object_type is not RevokableObjects.PPBC_PowerProfileDefinition)
        ):
            return self.revoke(message.object_id, now)
        return []

    def receive(self, instruction: PPBCInstruction, now: datetime) -> Decision:
        """Judge an instruction; an accepted schedule makes its container SCHEDULED, an accepted
        interruption waits for its execution_time (see :meth:`tick`)."""
        decision = self.scheduler.submit(instruction, now)
        if decision.duplicate or not decision.accepted:
            return decision
        self._received[instruction.id] = now
        slot = self.plan.slots[self.plan.index[instruction.sequence_container_id]]
        if isinstance(instruction, PPBCScheduleInstruction):
            sequence = slot.sequence(instruction.power_sequence_id)
            slot.reset()
            slot.status, slot.selected = _S.SCHEDULED, sequence
            slot.start, slot.schedule_id = max(instruction.execution_time, now), instruction.id
        else:
            kind: Kind = "interrupt" if isinstance(instruction, PPBCStartInterruptionInstruction) else "resume"
            slot.pending.append(_Pending(instruction.id, kind, max(instruction.execution_time, now)))
        return decision

    def revoke(self, instruction_id: str, now: datetime) -> list[S2Message]:
        """The CEM revoked one of its instructions: REVOKED; an unstarted schedule is undone (with
        the new status), a pending interruption dropped."""
        out: list[S2Message] = [*self.scheduler.revoke(instruction_id, now)]
        slot = self.plan.slot_of(instruction_id)
        if slot is not None and slot.status is _S.SCHEDULED:
            slot.reset()
            out.append(self.status(now))
        found = self.plan.pending_of(instruction_id)
        if found is not None:
            found[0].pending.remove(found[1])
        return out

    def abort(self, now: datetime, reason: str = "") -> list[S2Message]:
        """The device cannot finish the task (door opened, fault): every container with a
        selected sequence that has not finished becomes ABORTED, so do their instructions."""
        out: list[S2Message] = []
        for slot in self.plan.slots:
            if slot.status not in _OPEN:
                continue
            if slot.status is _S.EXECUTING:
                slot.progress_ms = slot.run_ms(now)
            slot.since = now if slot.status in _STARTED else None
            slot.status, slot.waiting = _S.ABORTED, False
            for pending in slot.pending:
                out.extend(self.scheduler.abort(pending.instruction_id, now, reason))
            slot.pending.clear()
            if slot.schedule_id is not None and self.scheduler.status(slot.schedule_id) in (
                InstructionStatus.ACCEPTED,
                InstructionStatus.STARTED,
            ):
                out.extend(self.scheduler.abort(slot.schedule_id, now, reason))
        out.append(self.status(now))
        return out

    def deactivate(self, now: datetime) -> list[S2Message]:
        """PPBC was deselected: open instructions are ABORTED. A sequence that has not started is
        unscheduled; one that has keeps running (resuming if paused: no CEM will resume it)."""
        self._active = False
        for slot in self.plan.slots:
            slot.pending.clear()
            if slot.status is _S.SCHEDULED:
                slot.reset()
            elif slot.status is _S.INTERRUPTED:
                slot.status, slot.since = _S.EXECUTING, now
        return list(self.scheduler.deactivate(now))

    # --- time ------------------------------------------------------------------------------------

    def next_wakeup(self) -> datetime | None:
        """When :meth:`tick` has something to do next: an execution time or a sequence's end."""
        times: list[datetime] = []
        for slot in self.plan.slots:
            if slot.status is _S.EXECUTING and slot.since is not None:
                end = slot.end(slot.since)
                if end is not None:
                    times.append(end)
        due = self.scheduler.next_wakeup()
        if due is not None:
            times.append(due)
        return min(times, default=None)

    def tick(self, now: datetime) -> list[S2Message]:
        """Advance to ``now``, event by event in time order: sequences start, pause, resume and
        finish; each instruction's updates are stamped with the moment they happened, and one
        PowerProfileStatus (as of ``now``) follows when any container changed."""
        out: list[S2Message] = []
        before = [(slot.status, slot.selected) for slot in self.plan.slots]
        while True:
            ending = [
                (end, i)
                for i, slot in enumerate(self.plan.slots)
                if slot.status is _S.EXECUTING and (end := slot.end(now)) is not None
            ]
            first_end = min(ending, default=None)
            due = self.scheduler.next_wakeup()
            if first_end is not None and first_end[0] <= now and (due is None or first_end[0] <= due):
                out.extend(self._finish(first_end[1], first_end[0]))
            elif due is not None and due <= now:
                for instruction in self.scheduler.due(due):
                    at = max(instruction.execution_time, self._received.pop(instruction.id, instruction.execution_time))
                    out.extend(self._execute(instruction, at))
            else:
                break
        if before != [(slot.status, slot.selected) for slot in self.plan.slots]:
            out.append(self.status(now))
        return out

    def _execute(self, instruction: PPBCInstruction, at: datetime) -> list[S2Message]:
        i = self.plan.index[instruction.sequence_container_id]
        slot = self.plan.slots[i]
        if isinstance(instruction, PPBCScheduleInstruction):
            if slot.schedule_id != instruction.id or slot.status is not _S.SCHEDULED:
                return list(self.scheduler.abort(instruction.id, at, "the container changed before it started"))
            before = self.plan.slots[i - 1] if i > 0 else None
            if before is None or before.status is _S.FINISHED:
                return self._start(slot, at)
            if before.status in _OPEN:
                slot.waiting = True
                return []
            reason = f"container {before.container.id} is {before.status.value}, so {slot.container.id} cannot run"
            slot.status = _S.ABORTED if before.status is _S.ABORTED else _S.NOT_SCHEDULED
            if slot.status is _S.NOT_SCHEDULED:
                slot.reset()
            return list(self.scheduler.abort(instruction.id, at, reason))
        pending = next((p for p in slot.pending if p.instruction_id == instruction.id), None)
        if pending is not None:
            slot.pending.remove(pending)
        wanted = _S.EXECUTING if isinstance(instruction, PPBCStartInterruptionInstruction) else _S.INTERRUPTED
        selected = slot.selected.id if slot.selected is not None else None
        if slot.status is not wanted or selected != instruction.power_sequence_id:
            reason = f"sequence {instruction.power_sequence_id} was {slot.status.value} at {_iso(at)}"
            return list(self.scheduler.abort(instruction.id, at, reason))
        if wanted is _S.EXECUTING:
            slot.progress_ms = slot.run_ms(at)
            slot.status, slot.since = _S.INTERRUPTED, at
        else:
            slot.status, slot.since = _S.EXECUTING, at
        return [*self.scheduler.start(instruction.id, at), *self.scheduler.succeed(instruction.id, at)]

    def _start(self, slot: _Slot, at: datetime) -> list[S2Message]:
        slot.status, slot.start, slot.since, slot.progress_ms, slot.waiting = _S.EXECUTING, at, at, 0.0, False
        assert slot.schedule_id is not None
        return list(self.scheduler.start(slot.schedule_id, at))

    def _finish(self, i: int, at: datetime) -> list[S2Message]:
        slot = self.plan.slots[i]
        assert slot.selected is not None
        slot.status, slot.since = _S.FINISHED, at
        slot.progress_ms = float(sequence_duration_ms(slot.selected))
        out: list[S2Message] = []
        if slot.schedule_id is not None and self.scheduler.status(slot.schedule_id) is InstructionStatus.STARTED:
            out.extend(self.scheduler.succeed(slot.schedule_id, at))
        following = self.plan.slots[i + 1] if i + 1 < len(self.plan.slots) else None
        if following is not None and following.waiting:
            out.extend(self._start(following, at))
        return out

    # --- what the device must do ---------------------------------------------------------------------

    def running(self, now: datetime) -> tuple[str, str, int] | None:
        """(container id, sequence id, progress in ms) of the sequence EXECUTING now, if any."""
        for slot in self.plan.slots:
            if slot.status is _S.EXECUTING and slot.selected is not None:
                return slot.container.id, slot.selected.id, round(slot.run_ms(now))
        return None

    def expected_power(self, quantity: CommodityQuantity, now: datetime) -> float:
        """The expected value of ``quantity`` now by the running sequence's element (0 when idle)."""
        found = self.running(now)
        if found is None:
            return 0.0
        slot = self.plan.slots[self.plan.index[found[0]]]
        assert slot.selected is not None
        t = 0
        for element in slot.selected.elements:
            t += element.duration
            if found[2] < t:
                return next((v.value_expected for v in element.power_values if v.commodity_quantity is quantity), 0.0)
        return 0.0


def _ensure_valid(message: S2Message) -> None:
    """Refuse a description the single-message rules reject (a device-author bug)."""
    for item in check_message(message):
        if item.severity == "error":
            raise item.error()
