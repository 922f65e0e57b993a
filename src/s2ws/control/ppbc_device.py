"""The RM's building block for PPBC: :class:`PPBCDevice` publishes a device's power profile,
judges the CEM's instructions on the same model as the CEM's view, runs the chosen sequences
and reports their lifecycle."""

from __future__ import annotations

from datetime import datetime

from ..messages import (
    CommodityQuantity,
    ControlType,
    InstructionStatus,
    PPBCPowerProfileDefinition,
    PPBCPowerProfileStatus,
    PPBCScheduleInstruction,
    PPBCStartInterruptionInstruction,
    RevokableObjects,
    RevokeObject,
    SelectControlType,
    new_id,
)
from ..messages.base import S2Message
from ..rules import check_message
from ..rules.ppbc_rules import unknown_profile
from ..rules.single import sequence_duration_ms
from .ppbc_plan import (
    _INSTRUCTIONS,
    _OPEN,
    _S,
    _STARTED,
    Kind,
    PPBCInstruction,
    _iso,
    _judge,
    _Pending,
    _Plan,
    _Slot,
)
from .scheduler import Decision, InstructionScheduler

__all__ = ["PPBCDevice"]

# --- the RM's building block ------------------------------------------------------------------------


class PPBCDevice:
    """The RM side of PPBC for one task: publish the definition, follow the CEM's choices.

    Instructions are judged by the same model a :class:`~s2ws.control.ppbc.PPBCView` builds with. Accepted
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
            why = f"is not the one in force ({self.definition.id})"
            raise unknown_profile(instruction.power_profile_id, why).refusal()
        problems = _judge(self.plan, instruction, now)
        if problems:
            raise problems[0].refusal()

    def handle(self, message: S2Message, now: datetime) -> list[S2Message]:
        """React to a message from the CEM: SelectControlType, a PPBC instruction, its revocation.

        An accepted ScheduleInstruction is followed by the PowerProfileStatus it changes. Raises
        :class:`~s2ws.errors.InvalidContent` where the ReceptionStatus should say so: revoking an unknown
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
