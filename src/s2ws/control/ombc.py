"""OMBC: one state machine of operation modes (a generator, a simple modulating device).

:class:`OMBCView` is the CEM's picture of an RM under OMBC; :class:`OMBCDevice` the RM's building
block. The single machine has no actuator id; the shared machinery files it under "".
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from ..messages import (
    CommodityQuantity,
    ControlType,
    OMBCInstruction,
    OMBCStatus,
    OMBCSystemDescription,
    OMBCTimerStatus,
    RevokableObjects,
    new_id,
)
from ..messages.base import UNSET, S2Message
from .operation_modes import (
    Executor,
    ModeStatus,
    OperationModeDevice,
    OperationModeView,
    Policy,
    Reachability,
)
from .quantities import QuantityValue
from .timers import Area

__all__ = ["OMBCDevice", "OMBCView"]


class OMBCView(OperationModeView[OMBCSystemDescription, OMBCInstruction]):
    """What the CEM knows of an OMBC RM, and the instructions it may send it.

    Feed every received OMBC message (and InstructionStatusUpdate, RevokeObject) to ``apply``.
    ``at`` defaults to the latest ``now`` given to ``apply`` or a builder.
    """

    area: ClassVar[Area] = "OMBC"
    status_types = (OMBCStatus,)
    timer_type = OMBCTimerStatus
    description_types = (OMBCSystemDescription,)
    instruction_object = RevokableObjects.OMBC_Instruction

    @property
    def status(self) -> ModeStatus | None:
        """The last reported OMBC.Status."""
        return self.statuses.get("")

    def reachable_modes(self, at: datetime | None = None, *, abnormal: bool = False) -> list[Reachability]:
        """Every mode: active, reachable now, reachable later (from when) or never, and why."""
        return self._reachable_modes("", at, abnormal=abnormal)

    def power_at(
        self, mode_id: str, factor: float, *, at: datetime | None = None
    ) -> dict[CommodityQuantity, QuantityValue]:
        """The mode's value of every commodity quantity at ``factor``."""
        return self._power_at("", mode_id, factor, at=at)

    def factor_for_power(
        self, mode_id: str, quantity: CommodityQuantity, value: float, *, at: datetime | None = None
    ) -> float:
        """The factor at which the mode's ``quantity`` reaches ``value`` (ResolutionError when it never does)."""
        return self._factor_for_power("", mode_id, quantity, value, at=at)

    def instruct(
        self,
        mode_id: str,
        factor: float,
        execution_time: datetime,
        now: datetime,
        abnormal: bool = False,
        *,
        record: bool = True,
    ) -> OMBCInstruction:
        """An OMBC.Instruction valid at ``execution_time``, or :class:`~s2ws.errors.InstructionRefused` saying why not.

        ``record`` keeps it as pending, so later instructions are judged from the mode it leaves.
        """
        return self._instruct("", mode_id, factor, execution_time, now, abnormal, None, record)

    def instruct_power(
        self,
        mode_id: str,
        quantity: CommodityQuantity,
        value: float,
        execution_time: datetime,
        now: datetime,
        abnormal: bool = False,
        *,
        record: bool = True,
    ) -> OMBCInstruction:
        """:meth:`instruct` with the factor at which ``quantity`` reaches ``value``."""
        return self._instruct_power("", mode_id, quantity, value, execution_time, now, abnormal, None, record)

    def _build(
        self, actuator_id: str, mode_id: str, factor: float, execution_time: datetime, abnormal: bool
    ) -> OMBCInstruction:
        return OMBCInstruction(
            message_id=new_id(),
            id=new_id(),
            execution_time=execution_time,
            operation_mode_id=mode_id,
            operation_mode_factor=factor,
            abnormal_condition=abnormal,
        )


class OMBCDevice(OperationModeDevice[OMBCSystemDescription, OMBCInstruction]):
    """The RM side of OMBC: give it the description and the mode the device is in."""

    area: ClassVar[Area] = "OMBC"
    control_type = ControlType.OPERATION_MODE_BASED_CONTROL
    instruction_type = OMBCInstruction
    instruction_object = RevokableObjects.OMBC_Instruction

    def __init__(
        self,
        description: OMBCSystemDescription,
        mode_id: str,
        factor: float = 0.0,
        *,
        on_change: Executor | None = None,
        accept: Policy | None = None,
        strict_ids: bool = False,
    ) -> None:
        super().__init__(
            description, {"": (mode_id, factor)}, on_change=on_change, accept=accept, strict_ids=strict_ids
        )

    @property
    def status(self) -> ModeStatus:
        return self.statuses[""]

    def set_mode(self, mode_id: str, factor: float, now: datetime) -> list[S2Message]:
        """The device changed mode or factor on its own: the status (and timers) to send."""
        return self._set_mode("", mode_id, factor, now)

    def _status_message(self, actuator_id: str, status: ModeStatus) -> S2Message:
        return OMBCStatus(
            message_id=new_id(),
            active_operation_mode_id=status.mode_id,
            operation_mode_factor=status.factor,
            previous_operation_mode_id=UNSET if status.previous_mode_id is None else status.previous_mode_id,
            transition_timestamp=UNSET if status.transition_timestamp is None else status.transition_timestamp,
        )
