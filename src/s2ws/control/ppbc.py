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

from datetime import datetime

from ..findings import Finding
from ..messages import (
    ControlType,
    InstructionStatus,
    InstructionStatusUpdate,
    PPBCEndInterruptionInstruction,
    PPBCPowerProfileDefinition,
    PPBCPowerProfileStatus,
    PPBCPowerSequenceContainerStatus,
    PPBCScheduleInstruction,
    PPBCStartInterruptionInstruction,
    RevokableObjects,
    RevokeObject,
    SelectControlType,
    new_id,
)
from ..messages.base import UNSET, S2Message
from ..messages.timeline import earlier
from ..rules.ppbc_rules import no_container, no_selected_sequence, unknown_profile
from ..rules.single import sequence_duration_ms
from .ppbc_device import PPBCDevice
from .ppbc_plan import (
    _INSTRUCTIONS,
    _MAX_REVOKED,
    _OPEN,
    _S,
    _STARTED,
    ContainerOptions,
    Kind,
    PPBCInstruction,
    SequenceOption,
    _Instr,
    _Pending,
    _Plan,
    energy_of,
    power_sequence,
)

__all__ = [
    "ContainerOptions",
    "PPBCDevice",
    "PPBCView",
    "SequenceOption",
    "energy_of",
    "power_sequence",
]

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
                slot.start = earlier(now, progress)
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
        """The PowerProfileDefinition received with this id (None when unknown or revoked)."""
        plan = self._plans.get(profile_id)
        return None if plan is None else plan.definition

    def _plan(self, profile_id: str) -> _Plan:
        plan = self._plans.get(profile_id)
        if plan is None:
            why = "was revoked" if profile_id in self._revoked else "is not known"
            raise unknown_profile(profile_id, why).refusal()
        return plan

    def feasible_schedules(self, profile_id: str, now: datetime, *, abnormal: bool = False) -> list[ContainerOptions]:
        """For each container in order: its state and the sequences that may still be scheduled,
        each with its earliest and latest start. Abnormal-only sequences are offered only when
        ``abnormal`` is true. Raises :class:`~s2ws.errors.InstructionRefused` (S2-PPBC-011) for an unknown profile.
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
        """A ScheduleInstruction starting the sequence at ``start``, or :class:`~s2ws.errors.InstructionRefused`
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
        sequence_id = self._selected(profile_id, container_id, "interrupt")
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
        sequence_id = self._selected(profile_id, container_id, "resume")
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

    def _selected(self, profile_id: str, container_id: str, kind: Kind) -> str:
        plan = self._plan(profile_id)
        i = plan.index.get(container_id)
        if i is None:
            raise no_container(profile_id, container_id).refusal()
        selected = plan.slots[i].selected
        if selected is None:
            raise no_selected_sequence(kind, container_id).refusal()
        return selected.id
