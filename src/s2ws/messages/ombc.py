"""Operation Mode Based Control: one state machine of operation modes, transitions and timers."""

from __future__ import annotations

from typing import Annotated

from msgspec import UNSET, Meta, UnsetType

from .base import ID, S2Message, S2Object, Timestamp
from .common import NumberRange, PowerRange, Timer, Transition

__all__ = [
    "OMBCInstruction",
    "OMBCOperationMode",
    "OMBCStatus",
    "OMBCSystemDescription",
    "OMBCTimerStatus",
]


class OMBCOperationMode(S2Object, kw_only=True, frozen=True):
    id: ID
    diagnostic_label: str | UnsetType = UNSET
    power_ranges: Annotated[list[PowerRange], Meta(min_length=1, max_length=10)]
    running_costs: NumberRange | UnsetType = UNSET
    abnormal_condition_only: bool


class OMBCInstruction(S2Message, tag="OMBC.Instruction", kw_only=True, frozen=True):
    message_id: ID
    id: ID
    execution_time: Timestamp
    operation_mode_id: ID
    operation_mode_factor: float
    abnormal_condition: bool


class OMBCStatus(S2Message, tag="OMBC.Status", kw_only=True, frozen=True):
    message_id: ID
    active_operation_mode_id: ID
    operation_mode_factor: float
    previous_operation_mode_id: ID | UnsetType = UNSET
    transition_timestamp: Timestamp | UnsetType = UNSET


class OMBCSystemDescription(S2Message, tag="OMBC.SystemDescription", kw_only=True, frozen=True):
    message_id: ID
    valid_from: Timestamp
    operation_modes: Annotated[list[OMBCOperationMode], Meta(min_length=1, max_length=100)]
    transitions: Annotated[list[Transition], Meta(max_length=1000)]
    timers: Annotated[list[Timer], Meta(max_length=1000)]


class OMBCTimerStatus(S2Message, tag="OMBC.TimerStatus", kw_only=True, frozen=True):
    message_id: ID
    timer_id: ID
    finished_at: Timestamp
