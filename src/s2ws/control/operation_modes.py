"""What OMBC, FRBC and DDBC share: state machines of operation modes, and instructions over them.

Both sides of a session reason the same way about an operation-mode instruction (protocol §4.0):
the description in force at its execution time, the mode expected to be active then (the last
status, followed by the instructions still pending before it), the timers running then, and the
transition between the two modes. :class:`OperationModeState` holds that picture and answers the
questions; the CEM views (``OMBCView``, ``FRBCView``, ``DDBCView``) feed it from received messages,
the RM devices (``OMBCDevice``, ...) from their own state. A refusal names the catalogue rule of
``s2ws.rules`` it breaks, so what a CEM refuses to build is what an RM rejects, under one id.

OMBC has a single machine; it is stored under the actuator id ``""`` so the machinery is shared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic

from ..errors import ResolutionError
from ..messages import (
    CommodityQuantity,
    InstructionStatus,
    InstructionStatusUpdate,
    RevokableObjects,
    RevokeObject,
    new_id,
)
from ..messages.base import UNSET, S2Message
from ..rules.single import judge_factor
from .om_device import DEVICE_POLICY, Executor, ModeChange, OperationModeDevice, Policy, series_element
from .om_machine import (
    D,
    DescriptionBook,
    Expected,
    Ins,
    Machine,
    ModeStatus,
    OMDescription,
    OMInstruction,
    OperationMode,
    Reach,
    Reachability,
    Step,
    check_outgoing,
    element_for,
    iso,
    machines_of,
    mode_id_of,
    renewed,
    target_of,
)
from .om_state import OperationModeState

__all__ = [
    "DEVICE_POLICY",
    "DescriptionBook",
    "Executor",
    "Expected",
    "Machine",
    "ModeChange",
    "ModeStatus",
    "OMDescription",
    "OMInstruction",
    "OperationMode",
    "OperationModeDevice",
    "OperationModeState",
    "OperationModeView",
    "Policy",
    "Reach",
    "Reachability",
    "Step",
    "check_outgoing",
    "element_for",
    "iso",
    "machines_of",
    "mode_id_of",
    "renewed",
    "series_element",
    "target_of",
]

# --- the CEM's view ----------------------------------------------------------------------------

_FAILED = frozenset({InstructionStatus.REJECTED, InstructionStatus.REVOKED, InstructionStatus.ABORTED})


@dataclass(eq=False)
class _Sent:
    """An instruction the view built: it counts as pending until it fails or a status overtakes it."""

    instruction: OMInstruction
    actuator_id: str
    step: Step
    seq: int
    status: InstructionStatus | None = None
    revoked: bool = False

    @property
    def live(self) -> bool:
        return not self.revoked and self.status not in _FAILED


class OperationModeView(OperationModeState[D], Generic[D, Ins]):
    """The CEM's picture of one RM under an operation-mode control type, fed with ``apply``.

    Instructions built by ``instruct`` are remembered as pending, so the next one is judged from
    the mode they will leave behind; an InstructionStatusUpdate REJECTED/REVOKED/ABORTED, a
    revocation or :meth:`forget` takes one out again, and a status received after it took
    effect supersedes it.
    """

    status_types: ClassVar[tuple[type[Any], ...]]
    timer_type: ClassVar[type[Any]]
    description_types: ClassVar[tuple[type[Any], ...]]
    instruction_object: ClassVar[RevokableObjects]
    history: ClassVar[int] = 256

    def __init__(self) -> None:
        super().__init__()
        self._sent: dict[str, _Sent] = {}
        self._seq = 0

    # --- feeding ------------------------------------------------------------------------------

    def apply(self, message: S2Message, now: datetime) -> bool:
        """Take in a message received from the RM (or sent to it); False when it means nothing here."""
        self._seen(now)
        if isinstance(message, self.description_types):
            self.descriptions.add(message, now)
            return True
        if isinstance(message, self.status_types):
            actuator = getattr(message, "actuator_id", "")
            previous = message.previous_operation_mode_id
            stamp = message.transition_timestamp
            self.statuses[actuator] = ModeStatus(
                message.active_operation_mode_id,
                message.operation_mode_factor,
                None if previous is UNSET else previous,
                None if stamp is UNSET else stamp,
                now,
            )
            return True
        if isinstance(message, self.timer_type):
            self.timers.set(getattr(message, "actuator_id", ""), message.timer_id, message.finished_at)
            return True
        if isinstance(message, InstructionStatusUpdate):
            sent = self._sent.get(message.instruction_id)
            if sent is None:
                return False
            sent.status = message.status_type
            return True
        if isinstance(message, RevokeObject):
            if message.object_type.value == f"{self.area}.SystemDescription":
                return self.descriptions.revoke(message.object_id)
            return False
        return self._apply_more(message, now)

    def _apply_more(self, message: S2Message, now: datetime) -> bool:
        return False

    def clear(self) -> None:
        """Forget everything (the control type was deselected or the session ended)."""
        self.descriptions.clear()
        self.statuses.clear()
        self.timers.clear()
        self.fill_level = None
        self._sent.clear()

    # --- pending instructions -----------------------------------------------------------------

    def _steps(self, actuator_id: str, moment: datetime, exclude: str | None) -> list[Step]:
        status = self.statuses.get(actuator_id)
        since = None if status is None else status.since
        chosen = [
            s
            for s in self._sent.values()
            if s.actuator_id == actuator_id
            and s.live
            and s.instruction.id != exclude
            and s.step.at <= moment
            and (since is None or s.step.at >= since)
        ]
        chosen.sort(key=lambda s: (s.step.at, s.seq))
        return [s.step for s in chosen]

    def _record(self, instruction: Ins, actuator_id: str, step: Step) -> None:
        self._seq += 1
        self._sent[instruction.id] = _Sent(instruction, actuator_id, step, self._seq)
        if len(self._sent) > self.history:
            for key in [k for k, s in self._sent.items() if not s.live][: len(self._sent) - self.history]:
                del self._sent[key]
            if len(self._sent) > self.history:
                del self._sent[next(iter(self._sent))]

    def pending_instructions(self, actuator_id: str | None = None) -> list[Ins]:
        """Instructions built here that still count (not failed, revoked or forgotten), in order."""
        chosen = [s for s in self._sent.values() if s.live and (actuator_id is None or s.actuator_id == actuator_id)]
        chosen.sort(key=lambda s: (s.step.at, s.seq))
        return [s.instruction for s in chosen]  # type: ignore[misc]

    def instruction_status(self, instruction_id: str) -> InstructionStatus | None:
        """The last status the RM reported for an instruction built here."""
        sent = self._sent.get(instruction_id)
        return None if sent is None else sent.status

    def forget(self, instruction_id: str) -> None:
        """Drop an instruction that was built but never sent (or whose send failed)."""
        self._sent.pop(instruction_id, None)

    def revoke(self, instruction_id: str, now: datetime) -> RevokeObject:
        """The RevokeObject for an instruction built here; from now on it no longer counts."""
        self._seen(now)
        sent = self._sent.get(instruction_id)
        if sent is not None:
            sent.revoked = True
        return RevokeObject(message_id=new_id(), object_type=self.instruction_object, object_id=instruction_id)

    # --- building -----------------------------------------------------------------------------

    def _build(self, actuator_id: str, mode_id: str, factor: float, execution_time: datetime, abnormal: bool) -> Ins:
        raise NotImplementedError

    def _instruct(
        self,
        actuator_id: str,
        mode_id: str,
        factor: float,
        execution_time: datetime,
        now: datetime,
        abnormal: bool,
        fill_level: float | None,
        record: bool,
    ) -> Ins:
        self._seen(now)
        moment = max(execution_time, now)
        self.check(actuator_id, mode_id, factor, abnormal, moment, fill_level=fill_level)
        instruction = self._build(actuator_id, mode_id, factor, execution_time, abnormal)
        if record:
            self._record(instruction, actuator_id, Step(moment, mode_id, factor))
        return instruction

    def _instruct_power(
        self,
        actuator_id: str,
        mode_id: str,
        quantity: CommodityQuantity,
        value: float,
        execution_time: datetime,
        now: datetime,
        abnormal: bool,
        fill_level: float | None,
        record: bool,
    ) -> Ins:
        self._seen(now)
        moment = max(execution_time, now)
        machine = self.machine(actuator_id, moment)
        try:
            factor = self._factor_for_power(actuator_id, mode_id, quantity, value, fill_level=fill_level, at=moment)
        except ResolutionError as error:
            wrong = judge_factor(self.area, math.nan, why=f"operation mode {machine.name(mode_id)}: {error}")
            assert wrong is not None
            raise wrong.refusal() from error
        return self._instruct(actuator_id, mode_id, factor, execution_time, now, abnormal, fill_level, record)
