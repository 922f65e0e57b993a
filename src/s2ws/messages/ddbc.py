"""Demand Driven Based Control: a demand several actuators can supply in different ways."""

from __future__ import annotations

from typing import Annotated

from msgspec import UNSET, Meta, UnsetType

from .base import ID, Duration, S2Message, S2Object, Timestamp
from .common import NumberRange, PowerRange, Timer, Transition
from .enums import Commodity

__all__ = [
    "DDBCActuatorDescription",
    "DDBCActuatorStatus",
    "DDBCAverageDemandRateForecast",
    "DDBCAverageDemandRateForecastElement",
    "DDBCInstruction",
    "DDBCOperationMode",
    "DDBCPresentDemandStatus",
    "DDBCSystemDescription",
    "DDBCSystemDescriptionV1",
    "DDBCTimerStatus",
]


class DDBCActuatorDescription(S2Object, kw_only=True, frozen=True):
    id: ID
    diagnostic_label: str | UnsetType = UNSET
    supported_commodites: Annotated[list[Commodity], Meta(min_length=1, max_length=4)]
    operation_modes: Annotated[list[DDBCOperationMode], Meta(min_length=1, max_length=100)]
    transitions: Annotated[list[Transition], Meta(max_length=1000)]
    timers: Annotated[list[Timer], Meta(max_length=1000)]


class DDBCAverageDemandRateForecastElement(S2Object, kw_only=True, frozen=True):
    duration: Duration
    demand_rate_upper_limit: float | UnsetType = UNSET
    demand_rate_upper_95PPR: float | UnsetType = UNSET
    demand_rate_upper_68PPR: float | UnsetType = UNSET
    demand_rate_expected: float
    demand_rate_lower_68PPR: float | UnsetType = UNSET
    demand_rate_lower_95PPR: float | UnsetType = UNSET
    demand_rate_lower_limit: float | UnsetType = UNSET


class DDBCOperationMode(S2Object, kw_only=True, frozen=True):
    Id: ID
    diagnostic_label: str | UnsetType = UNSET
    power_ranges: Annotated[list[PowerRange], Meta(min_length=1, max_length=10)]
    supply_range: NumberRange
    running_costs: NumberRange | UnsetType = UNSET
    abnormal_condition_only: bool


class DDBCActuatorStatus(S2Message, tag="DDBC.ActuatorStatus", kw_only=True, frozen=True):
    message_id: ID
    actuator_id: ID
    active_operation_mode_id: ID
    operation_mode_factor: float
    previous_operation_mode_id: ID | UnsetType = UNSET
    transition_timestamp: Timestamp | UnsetType = UNSET


class DDBCAverageDemandRateForecast(S2Message, tag="DDBC.AverageDemandRateForecast", kw_only=True, frozen=True):
    message_id: ID
    start_time: Timestamp
    elements: Annotated[list[DDBCAverageDemandRateForecastElement], Meta(min_length=1, max_length=288)]


class DDBCInstruction(S2Message, tag="DDBC.Instruction", kw_only=True, frozen=True):
    message_id: ID
    id: ID
    execution_time: Timestamp
    abnormal_condition: bool
    actuator_id: ID
    operation_mode_id: ID
    operation_mode_factor: float


class DDBCSystemDescription(S2Message, tag="DDBC.SystemDescription", kw_only=True, frozen=True):
    message_id: ID
    valid_from: Timestamp
    actuators: Annotated[list[DDBCActuatorDescription], Meta(min_length=1, max_length=10)]
    present_demand_rate: NumberRange
    provides_average_demand_rate_forecast: bool


class DDBCTimerStatus(S2Message, tag="DDBC.TimerStatus", kw_only=True, frozen=True):
    message_id: ID
    timer_id: ID
    actuator_id: ID
    finished_at: Timestamp


# --- profile 1.0.0 --------------------------------------------------------------------------
# 1.0.0 moves the demand rate out of the description into its own status message, so the
# description no longer has to be re-sent whenever the demand changes.


class DDBCSystemDescriptionV1(S2Message, tag="DDBC.SystemDescription", kw_only=True, frozen=True):
    message_id: ID
    valid_from: Timestamp
    actuators: Annotated[list[DDBCActuatorDescription], Meta(min_length=1, max_length=10)]
    provides_average_demand_rate_forecast: bool


class DDBCPresentDemandStatus(S2Message, tag="DDBC.PresentDemandStatus", kw_only=True, frozen=True):
    message_id: ID
    present_demand_rate: NumberRange
