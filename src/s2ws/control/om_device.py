"""The RM's building block for operation-mode devices: :class:`OperationModeDevice` judges the
CEM's instructions on its own descriptions, changes modes, runs timers and reports."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from ..errors import InstructionRefused
from ..messages import (
    ControlType,
    InstructionStatus,
    RevokableObjects,
    RevokeObject,
    SelectControlType,
    Transition,
    new_id,
)
from ..messages.base import S2Message
from .om_machine import D, Ins, ModeStatus, OMInstruction, Step, check_outgoing, machines_of, target_of
from .om_state import OperationModeState
from .scheduler import Decision, InstructionScheduler

__all__ = ["DEVICE_POLICY", "Executor", "ModeChange", "OperationModeDevice", "Policy", "series_element"]

# --- the RM's building block -----------------------------------------------------------------

DEVICE_POLICY = "device-policy"
"""The ``rule`` of a refusal that came from the device's own ``accept`` policy, not the catalogue."""


@dataclass(frozen=True, slots=True)
class ModeChange:
    """A change of mode or factor the device is asked to make (or makes on its own)."""

    actuator_id: str
    """"" for OMBC."""
    mode_id: str
    factor: float
    previous_mode_id: str | None
    transition: Transition | None
    """The transition it follows; None for a factor change or a change without transition."""
    at: datetime
    instruction: OMInstruction | None = None
    """The instruction that asks for it; None when the RM changes on its own."""


Executor = Callable[[ModeChange], None]
"""Carries a change out on the device; raising aborts the instruction (ABORTED, with the message)."""
Policy = Callable[[ModeChange], str | None]
"""The device's own judgement of an instruction beyond the rules: a reason to reject it, or None."""


class OperationModeDevice(OperationModeState[D], Generic[D, Ins]):
    """An RM's side of an operation-mode control type, without I/O.

    The device author supplies the description, the mode each machine starts in, and callbacks:
    ``on_change`` carries a change out, ``accept`` may reject an instruction for reasons of its
    own (comfort, safety). Everything else follows the standard: instructions are checked against
    the rules and the device's own state, scheduled for their execution time, reported through
    their lifecycle, timers are started on transitions and published, and deselection aborts what
    is pending. Every method returns the messages to send, in order; while the control type is
    not selected, changes are kept but nothing is sent.
    """

    control_type: ClassVar[ControlType]
    instruction_type: ClassVar[type[Any]]
    instruction_object: ClassVar[RevokableObjects]

    def __init__(
        self,
        description: D,
        initial: Mapping[str, tuple[str, float]],
        *,
        on_change: Executor | None = None,
        accept: Policy | None = None,
        strict_ids: bool = False,
    ) -> None:
        super().__init__()
        check_outgoing(description, description.valid_from)
        self.descriptions.add(description, description.valid_from)
        machines = machines_of(description)
        for actuator_id in machines:
            if actuator_id not in initial:
                raise ValueError(f"no initial operation mode for {machines[actuator_id].owner}")
        for actuator_id, (mode_id, factor) in initial.items():
            machine = machines.get(actuator_id)
            if machine is None:
                raise ValueError(f"{actuator_id!r} is not an actuator of the description")
            if mode_id not in machine.modes or not 0.0 <= factor <= 1.0:
                raise ValueError(f"{mode_id!r} at factor {factor} is not a valid state of {machine.owner}")
            self.statuses[actuator_id] = ModeStatus(mode_id, factor)
        self.on_change = on_change
        """Carries out the :class:`ModeChange` of an instruction on the device when the instruction
        starts; raising aborts it (ABORTED). Changes the device makes itself go through ``set_mode``."""
        self.accept = accept
        """The device's own veto: called with the :class:`ModeChange` an instruction asks for, after
        the S2 rules passed; a returned reason rejects it (REJECTED, rule ``device-policy``)."""
        self.strict_ids = strict_ids
        """Answer instructions with unknown ids or a factor outside [0, 1] with INVALID_CONTENT
        (raise from ``handle``) rather than ReceptionStatus OK plus REJECTED."""
        self.active = False
        self._activated = False
        self._aliases: dict[str, str] = {}
        """message_id a description was published with -> the one it was last sent with."""
        self.scheduler: InstructionScheduler[Ins] = InstructionScheduler(self._judge)

    # --- the session's messages ---------------------------------------------------------------

    def handle(self, message: S2Message, now: datetime) -> list[S2Message]:
        """React to a message from the CEM: SelectControlType, an instruction, or its revocation.

        Raises :class:`~s2ws.errors.InvalidContent` where the ReceptionStatus should say so (revoking an
        unknown instruction; with ``strict_ids``, an instruction naming unknown ids).
        """
        self._seen(now)
        if isinstance(message, SelectControlType):
            out: list[S2Message] = []
            if self.active:
                out.extend(self.deactivate(now))
            if message.control_type is self.control_type:
                out.extend(self.activate(now))
            return out
        if isinstance(message, self.instruction_type):
            decision = self.receive(message, now)
            if self.strict_ids and not decision.accepted and not decision.rejectable and not decision.duplicate:
                raise decision.as_invalid_content()
            return [*decision.messages, *self.tick(now)]
        if isinstance(message, RevokeObject) and message.object_type is self.instruction_object:
            return [*self.revoke(message.object_id, now)]
        return []

    def activate(self, now: datetime) -> list[S2Message]:
        """The control type was selected: description(s), statuses, extras, running timers."""
        self._seen(now)
        self.active = True
        out: list[S2Message] = []
        if self._activated:  # sent before: the same message ids again would read as duplicates
            for old, renewed in self.descriptions.renew(now):
                self._aliases.update({k: renewed.message_id for k, v in self._aliases.items() if v == old})
                self._aliases[old] = renewed.message_id
        self._activated = True
        current = self.descriptions.at(now)
        if current is not None:
            out.append(current)
        out.extend(self.descriptions.scheduled(now))
        out.extend(self.status_messages())
        out.extend(self._extra_messages(now))
        out.extend(self.timers.statuses(now))
        return out

    def deactivate(self, now: datetime) -> list[S2Message]:
        """Another control type (or none) was selected: every open instruction is ABORTED."""
        self._seen(now)
        out: list[S2Message] = [*self.scheduler.deactivate(now)]
        self.active = False
        return out

    def receive(self, instruction: Ins, now: datetime) -> Decision:
        """Judge and schedule an instruction (see :class:`InstructionScheduler`)."""
        self._seen(now)
        return self.scheduler.submit(instruction, now)

    def revoke(self, instruction_id: str, now: datetime) -> list[S2Message]:
        self._seen(now)
        return [*self.scheduler.revoke(instruction_id, now)]

    def next_wakeup(self) -> datetime | None:
        """When :meth:`tick` should run next (None: nothing is waiting)."""
        return self.scheduler.next_wakeup()

    def tick(self, now: datetime) -> list[S2Message]:
        """Carry out every instruction whose execution time has come."""
        self._seen(now)
        out: list[S2Message] = []
        for instruction in self.scheduler.due(now):
            out.extend(self.execute(instruction, now))
        return out

    # --- executing ----------------------------------------------------------------------------

    def take_due(self, now: datetime) -> list[Ins]:
        """The due instructions, for a driver that executes them itself (``begin`` … ``complete``)."""
        self._seen(now)
        return self.scheduler.due(now)

    def execute(self, instruction: Ins, now: datetime) -> list[S2Message]:
        """begin, ``on_change``, complete: SUCCEEDED, or ABORTED when the change is no longer
        valid or ``on_change`` raises."""
        out = self.begin(instruction, now)
        if self.scheduler.status(instruction.id) is not InstructionStatus.STARTED:
            return out
        if self.on_change is not None:
            try:
                self.on_change(self._change_for(instruction, now))
            except Exception as error:  # the device's failure is the instruction's ABORTED, not a crash
                return [*out, *self.scheduler.abort(instruction.id, now, reason=str(error) or type(error).__name__)]
        return [*out, *self.complete(instruction.id, now)]

    def begin(self, instruction: Ins, now: datetime) -> list[S2Message]:
        """Re-check the instruction against the state now, then STARTED (or ABORTED, with the reason)."""
        self._seen(now)
        actuator_id, mode_id = target_of(instruction)
        try:
            self.check(
                actuator_id,
                mode_id,
                instruction.operation_mode_factor,
                instruction.abnormal_condition,
                now,
                exclude=instruction.id,
            )
        except InstructionRefused as refusal:
            return [*self.scheduler.abort(instruction.id, now, reason=refusal.reason)]
        return [*self.scheduler.start(instruction.id, now)]

    def complete(self, instruction_id: str, now: datetime, *, ok: bool = True, reason: str = "") -> list[S2Message]:
        """The device finished (``ok``) or failed: new status and timers, then SUCCEEDED or ABORTED."""
        self._seen(now)
        instruction = self.scheduler.get(instruction_id)
        if instruction is None or not ok:
            return [*self.scheduler.abort(instruction_id, now, reason=reason)]
        actuator_id, mode_id = target_of(instruction)
        changed = self._apply_change(actuator_id, mode_id, instruction.operation_mode_factor, now)
        return [*changed, *self.scheduler.succeed(instruction_id, now)]

    def _change_for(self, instruction: Ins, now: datetime) -> ModeChange:
        actuator_id, mode_id = target_of(instruction)
        current = self.statuses.get(actuator_id)
        previous = None if current is None else current.mode_id
        transition = None
        if previous is not None and previous != mode_id:
            transition = self.machine(actuator_id, now).transition(previous, mode_id)
        return ModeChange(
            actuator_id, mode_id, instruction.operation_mode_factor, previous, transition, now, instruction
        )

    def _judge(self, instruction: Ins, now: datetime) -> None:
        actuator_id, mode_id = target_of(instruction)
        moment = max(instruction.execution_time, now)
        self.check(actuator_id, mode_id, instruction.operation_mode_factor, instruction.abnormal_condition, moment)
        if self.accept is not None:
            expected = self.expected(actuator_id, moment)
            transition = None
            if expected.mode_id is not None and expected.mode_id != mode_id:
                transition = self.machine(actuator_id, moment).transition(expected.mode_id, mode_id)
            change = ModeChange(
                actuator_id,
                mode_id,
                instruction.operation_mode_factor,
                expected.mode_id,
                transition,
                moment,
                instruction,
            )
            reason = self.accept(change)
            if reason:
                raise InstructionRefused(DEVICE_POLICY, "", reason)

    def _steps(self, actuator_id: str, moment: datetime, exclude: str | None) -> list[Step]:
        out: list[Step] = []
        for instruction in self.scheduler.open():
            if instruction.id == exclude:
                break  # judged again when due: only the instructions before it count
            target = target_of(instruction)
            if target[0] == actuator_id and instruction.execution_time <= moment:
                at = instruction.execution_time if self.now is None else max(instruction.execution_time, self.now)
                out.append(Step(at, target[1], instruction.operation_mode_factor))
        return out

    # --- the device's own changes -------------------------------------------------------------

    def _apply_change(self, actuator_id: str, mode_id: str, factor: float, now: datetime) -> list[S2Message]:
        machine = self.machine(actuator_id, now)
        machine.mode(mode_id)
        current = self.statuses.get(actuator_id)
        out: list[S2Message] = []
        if current is None or current.mode_id != mode_id:
            transition = None if current is None else machine.transition(current.mode_id, mode_id)
            timers = [] if transition is None else self.timers.start(actuator_id, transition, machine.timers, now)
            previous = None if current is None else current.mode_id
            status = ModeStatus(mode_id, factor, previous, None if current is None else now, now)
            self.statuses[actuator_id] = status
            out.append(self._status_message(actuator_id, status))
            out.extend(timers)
        else:
            status = ModeStatus(mode_id, factor, current.previous_mode_id, current.transition_timestamp, now)
            self.statuses[actuator_id] = status
            out.append(self._status_message(actuator_id, status))
        return out if self.active else []

    def _set_mode(self, actuator_id: str, mode_id: str, factor: float, now: datetime) -> list[S2Message]:
        self._seen(now)
        if not 0.0 <= factor <= 1.0:
            raise ValueError(f"factor {factor} is outside [0, 1]")
        return self._apply_change(actuator_id, mode_id, factor, now)

    def publish_description(self, description: D, now: datetime) -> list[S2Message]:
        """A new description (valid from its ``valid_from``); it supersedes the older ones then."""
        self._seen(now)
        check_outgoing(description, now)
        self.descriptions.add(description, now)
        return [description] if self.active else []

    def revoke_description(self, message_id: str, now: datetime) -> list[S2Message]:
        """Withdraw a description by its message_id (the RevokeObject to send). The id it was
        published with works, also after a re-selection sent it again under a fresh one."""
        self._seen(now)
        message_id = self._aliases.get(message_id, message_id)
        if not self.descriptions.revoke(message_id):
            raise ValueError(f"no description with message_id {message_id} is kept")
        object_type = RevokableObjects(f"{self.area}.SystemDescription")
        revoke = RevokeObject(message_id=new_id(), object_type=object_type, object_id=message_id)
        return [revoke] if self.active else []

    # --- messages of the current state --------------------------------------------------------

    def status_messages(self) -> list[S2Message]:
        """The status of every machine, as the CEM should see it now."""
        return [self._status_message(actuator_id, status) for actuator_id, status in self.statuses.items()]

    def _status_message(self, actuator_id: str, status: ModeStatus) -> S2Message:
        raise NotImplementedError

    def _extra_messages(self, now: datetime) -> list[S2Message]:
        """What a control type sends after the statuses on activation (storage, forecasts, ...);
        kept messages are sent again under fresh message ids (:func:`~s2ws.control.om_machine.renewed`)."""
        return []


E = TypeVar("E")


def series_element(start_time: datetime, elements: Sequence[E], moment: datetime, durations: Sequence[int]) -> E | None:
    """The element of a consecutive series (forecast, target profile) that covers ``moment``;
    element i runs from start_time + the durations before it. None outside the series."""
    if moment < start_time:
        return None
    offset_ms = (moment - start_time).total_seconds() * 1000
    end = 0
    for element, duration in zip(elements, durations, strict=True):
        end += duration
        if offset_ms < end:
            return element
    return None
