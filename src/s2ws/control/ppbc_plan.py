"""The model both PPBC roles judge by: one PowerProfileDefinition and the state of its
containers (what is scheduled, running, interrupted), the windows in which each sequence may
still start, and the judgement of schedule and interruption instructions against it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, TypeVar

from ..findings import Finding
from ..messages import (
    CommodityQuantity,
    PowerForecastValue,
    PPBCEndInterruptionInstruction,
    PPBCPowerProfileDefinition,
    PPBCPowerSequence,
    PPBCPowerSequenceContainer,
    PPBCPowerSequenceContainerStatus,
    PPBCPowerSequenceElement,
    PPBCPowerSequenceStatus,
    PPBCScheduleInstruction,
    PPBCStartInterruptionInstruction,
)
from ..messages.base import UNSET
from ..messages.timeline import MAX_DURATION_MS, earlier, later, span
from ..rules.pebc_rules import amount_of
from ..rules.ppbc_rules import (
    Kind,
    after_aborted,
    container_taken,
    find_sequence,
    judge_after_previous,
    judge_before_next,
    judge_window,
    not_interruptible,
    not_selected,
    outside_profile,
    sequence_abnormal,
    wrong_state,
)
from ..rules.single import sequence_duration_ms

__all__ = ["ContainerOptions", "Kind", "PPBCInstruction", "SequenceOption", "energy_of", "power_sequence"]

_Instr = TypeVar("_Instr", PPBCScheduleInstruction, PPBCStartInterruptionInstruction, PPBCEndInterruptionInstruction)

_S = PPBCPowerSequenceStatus
_MS: Final = timedelta(milliseconds=1)
_MAX_REVOKED: Final = 256
_STARTED: Final = frozenset({_S.EXECUTING, _S.INTERRUPTED, _S.FINISHED})
_OPEN: Final = frozenset({_S.SCHEDULED, _S.EXECUTING, _S.INTERRUPTED})

PPBCInstruction = PPBCScheduleInstruction | PPBCStartInterruptionInstruction | PPBCEndInterruptionInstruction
"""Any of the three instructions a CEM sends under PPBC."""
_INSTRUCTIONS: Final = (PPBCScheduleInstruction, PPBCStartInterruptionInstruction, PPBCEndInterruptionInstruction)


# --- helpers -------------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _duration(sequence: PPBCPowerSequence) -> timedelta:
    return span(sequence_duration_ms(sequence))


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
            return later(self.start or now, total)
        since = self.since or now
        if self.status is _S.EXECUTING:
            return later(since, total - self.progress_ms)
        if self.status is _S.INTERRUPTED:
            return later(max(now, since), total - self.progress_ms)
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
        found = find_sequence(self.definition, container_id, sequence_id)
        if isinstance(found, Finding):
            out.append(found)
            return None
        i, sequence = found
        return i, self.slots[i], sequence

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
                latest_end[i] = earlier(latest_end[i + 1], min(_duration(s) for s in choices[i + 1]))
        result: list[list[_Window]] = []
        early: datetime = begin
        late: datetime | None = None
        feasible = True
        for i, slot in enumerate(self.slots):
            taken = fixed[i]
            if taken is not None:
                result.append([])
                early, late, feasible = taken[1], taken[1], slot.status is not _S.ABORTED
                continue
            if not feasible:
                result.append([])
                continue
            after = fixed[i + 1] if i + 1 < n else None
            following = self.slots[i + 1].selected if i + 1 < n else None
            next_pause = None
            if after is not None and following is not None and following.max_pause_before is not UNSET:
                next_pause = span(following.max_pause_before)
            windows: list[_Window] = []
            for sequence in choices[i]:
                length = _duration(sequence)
                first = max(early, now, begin)
                if after is not None and next_pause is not None:
                    first = max(first, earlier(earlier(after[0], next_pause), length))
                last = earlier(latest_end[i], length)
                capped = False
                if late is not None and i > 0 and sequence.max_pause_before is not UNSET:
                    bound = later(late, sequence.max_pause_before)
                    if bound < last:
                        last, capped = bound, True
                if first <= last:
                    windows.append(_Window(sequence, first, last, capped))
            result.append(windows)
            if windows:
                early = min(later(w.earliest, _duration(w.sequence)) for w in windows)
                late = max(later(w.latest, _duration(w.sequence)) for w in windows)
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
                    else span(w.sequence.max_pause_before),
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
            schedule_id = slot.schedule_id if slot.status is _S.SCHEDULED else None
            out.append(container_taken(container_id, slot.status.value, slot.selected.id, schedule_id))
            return out
        aborted = next((s for s in self.slots[:i] if s.status is _S.ABORTED), None)
        if aborted is not None:
            out.append(after_aborted(aborted.container.id))
            return out
        start = max(execution_time, now)
        end = later(start, _duration(sequence))
        profile = self.definition
        before = self.slots[i - 1] if i > 0 else None
        before_end = None if before is None else before.end(now)
        after = self.slots[i + 1] if i + 1 < len(self.slots) else None
        checks = [sequence_abnormal(sequence, abnormal), outside_profile(profile, start, end)]
        if before is not None and before_end is not None:
            checks.append(judge_after_previous(start, before_end, before.container.id, sequence))
        if after is not None and after.selected is not None:
            pause = after.selected.max_pause_before
            checks.append(judge_before_next(end, after.start or now, after.container.id, pause))
        out.extend(f for f in checks if f is not None)
        if out:
            return out
        window = next((w for w in self.windows(now, abnormal)[i] if w.sequence.id == sequence.id), None)
        bounds = None if window is None else (window.earliest, window.latest, window.pause_bound)
        wrong = judge_window(profile, container_id, sequence, start, bounds)
        return [] if wrong is None else [wrong]

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
        if kind == "interrupt" and (wrong := not_interruptible(sequence)) is not None:
            return [wrong]
        if slot.selected is None or slot.selected.id != sequence.id:
            held = None if slot.selected is None else slot.selected.id
            return [not_selected(kind, sequence.id, container_id, held)]
        at = max(execution_time, now)
        state = self.expected(slot, at, now)
        wanted = _S.EXECUTING if kind == "interrupt" else _S.INTERRUPTED
        return [] if state is wanted else [wrong_state(kind, sequence.id, state, at)]

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
                    progress=min(round(slot.run_ms(now)), MAX_DURATION_MS) if started else UNSET,
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
