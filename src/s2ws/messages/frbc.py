"""Fill Rate Based Control: a storage whose fill level actuators raise or lower."""

from __future__ import annotations

from typing import Annotated

from msgspec import UNSET, Meta, UnsetType

from .base import ID, Duration, S2Message, S2Object, Timestamp
from .common import NumberRange, PowerRange, Timer, Transition
from .enums import Commodity

__all__ = [
    "FRBCActuatorDescription",
    "FRBCActuatorStatus",
    "FRBCFillLevelTargetProfile",
    "FRBCFillLevelTargetProfileElement",
    "FRBCInstruction",
    "FRBCLeakageBehaviour",
    "FRBCLeakageBehaviourElement",
    "FRBCOperationMode",
    "FRBCOperationModeElement",
    "FRBCStorageDescription",
    "FRBCStorageStatus",
    "FRBCSystemDescription",
    "FRBCTimerStatus",
    "FRBCUsageForecast",
    "FRBCUsageForecastElement",
]


class FRBCActuatorDescription(S2Object, kw_only=True, frozen=True):
    id: ID
    diagnostic_label: str | UnsetType = UNSET
    supported_commodities: Annotated[list[Commodity], Meta(min_length=1, max_length=4)]
    operation_modes: Annotated[list[FRBCOperationMode], Meta(min_length=1, max_length=100)]
    transitions: Annotated[list[Transition], Meta(max_length=1000)]
    timers: Annotated[list[Timer], Meta(max_length=1000)]


class FRBCFillLevelTargetProfileElement(S2Object, kw_only=True, frozen=True):
    duration: Duration
    fill_level_range: NumberRange


class FRBCLeakageBehaviourElement(S2Object, kw_only=True, frozen=True):
    fill_level_range: NumberRange
    leakage_rate: float


class FRBCOperationMode(S2Object, kw_only=True, frozen=True):
    id: ID
    diagnostic_label: str | UnsetType = UNSET
    elements: Annotated[list[FRBCOperationModeElement], Meta(min_length=1, max_length=100)]
    abnormal_condition_only: bool


class FRBCOperationModeElement(S2Object, kw_only=True, frozen=True):
    fill_level_range: NumberRange
    fill_rate: NumberRange
    power_ranges: Annotated[list[PowerRange], Meta(min_length=1, max_length=10)]
    running_costs: NumberRange | UnsetType = UNSET


class FRBCStorageDescription(S2Object, kw_only=True, frozen=True):
    diagnostic_label: str | UnsetType = UNSET
    fill_level_label: str | UnsetType = UNSET
    provides_leakage_behaviour: bool
    provides_fill_level_target_profile: bool
    provides_usage_forecast: bool
    fill_level_range: NumberRange


class FRBCUsageForecastElement(S2Object, kw_only=True, frozen=True):
    duration: Duration
    usage_rate_upper_limit: float | UnsetType = UNSET
    usage_rate_upper_95PPR: float | UnsetType = UNSET
    usage_rate_upper_68PPR: float | UnsetType = UNSET
    usage_rate_expected: float
    usage_rate_lower_68PPR: float | UnsetType = UNSET
    usage_rate_lower_95PPR: float | UnsetType = UNSET
    usage_rate_lower_limit: float | UnsetType = UNSET


class FRBCActuatorStatus(S2Message, tag="FRBC.ActuatorStatus", kw_only=True, frozen=True):
    message_id: ID
    actuator_id: ID
    active_operation_mode_id: ID
    operation_mode_factor: float
    previous_operation_mode_id: ID | UnsetType = UNSET
    transition_timestamp: Timestamp | UnsetType = UNSET


class FRBCFillLevelTargetProfile(S2Message, tag="FRBC.FillLevelTargetProfile", kw_only=True, frozen=True):
    message_id: ID
    start_time: Timestamp
    elements: Annotated[list[FRBCFillLevelTargetProfileElement], Meta(min_length=1, max_length=288)]


class FRBCInstruction(S2Message, tag="FRBC.Instruction", kw_only=True, frozen=True):
    message_id: ID
    id: ID
    actuator_id: ID
    operation_mode: ID
    operation_mode_factor: float
    execution_time: Timestamp
    abnormal_condition: bool


class FRBCLeakageBehaviour(S2Message, tag="FRBC.LeakageBehaviour", kw_only=True, frozen=True):
    message_id: ID
    valid_from: Timestamp
    elements: Annotated[list[FRBCLeakageBehaviourElement], Meta(min_length=1, max_length=288)]


class FRBCStorageStatus(S2Message, tag="FRBC.StorageStatus", kw_only=True, frozen=True):
    message_id: ID
    present_fill_level: float


class FRBCSystemDescription(S2Message, tag="FRBC.SystemDescription", kw_only=True, frozen=True):
    message_id: ID
    valid_from: Timestamp
    actuators: Annotated[list[FRBCActuatorDescription], Meta(min_length=1, max_length=10)]
    storage: FRBCStorageDescription


class FRBCTimerStatus(S2Message, tag="FRBC.TimerStatus", kw_only=True, frozen=True):
    message_id: ID
    timer_id: ID
    actuator_id: ID
    finished_at: Timestamp


class FRBCUsageForecast(S2Message, tag="FRBC.UsageForecast", kw_only=True, frozen=True):
    message_id: ID
    start_time: Timestamp
    elements: Annotated[list[FRBCUsageForecastElement], Meta(min_length=1, max_length=288)]
