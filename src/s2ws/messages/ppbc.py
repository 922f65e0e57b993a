"""Power Profile Based Control: a task with alternative power sequences the CEM schedules."""

from __future__ import annotations

from typing import Annotated

from msgspec import UNSET, Meta, UnsetType

from .base import ID, Duration, S2Message, S2Object, Timestamp
from .common import PowerForecastValue
from .enums import PPBCPowerSequenceStatus

__all__ = [
    "PPBCEndInterruptionInstruction",
    "PPBCPowerProfileDefinition",
    "PPBCPowerProfileStatus",
    "PPBCPowerSequence",
    "PPBCPowerSequenceContainer",
    "PPBCPowerSequenceContainerStatus",
    "PPBCPowerSequenceElement",
    "PPBCScheduleInstruction",
    "PPBCStartInterruptionInstruction",
]


class PPBCPowerSequence(S2Object, kw_only=True, frozen=True):
    id: ID
    elements: Annotated[list[PPBCPowerSequenceElement], Meta(min_length=1, max_length=288)]
    is_interruptible: bool
    max_pause_before: Duration | UnsetType = UNSET
    abnormal_condition_only: bool


class PPBCPowerSequenceContainer(S2Object, kw_only=True, frozen=True):
    id: ID
    power_sequences: Annotated[list[PPBCPowerSequence], Meta(min_length=1, max_length=288)]


class PPBCPowerSequenceContainerStatus(S2Object, kw_only=True, frozen=True):
    power_profile_id: ID
    sequence_container_id: ID
    selected_sequence_id: ID | UnsetType = UNSET
    progress: Duration | UnsetType = UNSET
    status: PPBCPowerSequenceStatus


class PPBCPowerSequenceElement(S2Object, kw_only=True, frozen=True):
    duration: Duration
    power_values: Annotated[list[PowerForecastValue], Meta(min_length=1, max_length=10)]


class PPBCEndInterruptionInstruction(S2Message, tag="PPBC.EndInterruptionInstruction", kw_only=True, frozen=True):
    message_id: ID
    id: ID
    power_profile_id: ID
    sequence_container_id: ID
    power_sequence_id: ID
    execution_time: Timestamp
    abnormal_condition: bool


class PPBCPowerProfileDefinition(S2Message, tag="PPBC.PowerProfileDefinition", kw_only=True, frozen=True):
    message_id: ID
    id: ID
    start_time: Timestamp
    end_time: Timestamp
    power_sequences_containers: Annotated[list[PPBCPowerSequenceContainer], Meta(min_length=1, max_length=1000)]


class PPBCPowerProfileStatus(S2Message, tag="PPBC.PowerProfileStatus", kw_only=True, frozen=True):
    message_id: ID
    sequence_container_status: Annotated[list[PPBCPowerSequenceContainerStatus], Meta(min_length=1, max_length=1000)]


class PPBCScheduleInstruction(S2Message, tag="PPBC.ScheduleInstruction", kw_only=True, frozen=True):
    message_id: ID
    id: ID
    power_profile_id: ID
    sequence_container_id: ID
    power_sequence_id: ID
    execution_time: Timestamp
    abnormal_condition: bool


class PPBCStartInterruptionInstruction(S2Message, tag="PPBC.StartInterruptionInstruction", kw_only=True, frozen=True):
    message_id: ID
    id: ID
    power_profile_id: ID
    sequence_container_id: ID
    power_sequence_id: ID
    execution_time: Timestamp
    abnormal_condition: bool
