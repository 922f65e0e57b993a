"""Objects and messages shared by every control type: handshake, details, measurements, forecasts, acknowledgements."""

from __future__ import annotations

from typing import Annotated

from msgspec import UNSET, Meta, UnsetType, field

from .base import ID, Duration, S2Message, S2Object, Timestamp
from .enums import (
    Commodity,
    CommodityQuantity,
    ControlType,
    Currency,
    EnergyManagementRole,
    InstructionStatus,
    ReceptionStatusValues,
    RevokableObjects,
    RoleType,
    SessionRequestType,
)

__all__ = [
    "Handshake",
    "HandshakeResponse",
    "InstructionStatusUpdate",
    "NumberRange",
    "PowerForecast",
    "PowerForecastElement",
    "PowerForecastValue",
    "PowerMeasurement",
    "PowerRange",
    "PowerValue",
    "ReceptionStatus",
    "ResourceManagerDetails",
    "RevokeObject",
    "Role",
    "SelectControlType",
    "SessionRequest",
    "Timer",
    "Transition",
]


class NumberRange(S2Object, kw_only=True, frozen=True):
    start_of_range: float
    end_of_range: float


class PowerForecastElement(S2Object, kw_only=True, frozen=True):
    duration: Duration
    power_values: Annotated[list[PowerForecastValue], Meta(min_length=1, max_length=10)]


class PowerForecastValue(S2Object, kw_only=True, frozen=True):
    value_upper_limit: float | UnsetType = UNSET
    value_upper_95PPR: float | UnsetType = UNSET
    value_upper_68PPR: float | UnsetType = UNSET
    value_expected: float
    value_lower_68PPR: float | UnsetType = UNSET
    value_lower_95PPR: float | UnsetType = UNSET
    value_lower_limit: float | UnsetType = UNSET
    commodity_quantity: CommodityQuantity


class PowerRange(S2Object, kw_only=True, frozen=True):
    start_of_range: float
    end_of_range: float
    commodity_quantity: CommodityQuantity


class PowerValue(S2Object, kw_only=True, frozen=True):
    commodity_quantity: CommodityQuantity
    value: float


class Role(S2Object, kw_only=True, frozen=True):
    role: RoleType
    commodity: Commodity


class Timer(S2Object, kw_only=True, frozen=True):
    id: ID
    diagnostic_label: str | UnsetType = UNSET
    duration: Duration


class Transition(S2Object, kw_only=True, frozen=True):
    id: ID
    from_: ID = field(name="from")
    to: ID
    start_timers: Annotated[list[ID], Meta(max_length=1000)]
    blocking_timers: Annotated[list[ID], Meta(max_length=1000)]
    transition_costs: float | UnsetType = UNSET
    transition_duration: Duration | UnsetType = UNSET
    abnormal_condition_only: bool


class Handshake(S2Message, tag="Handshake", kw_only=True, frozen=True):
    message_id: ID
    role: EnergyManagementRole
    supported_protocol_versions: Annotated[list[str], Meta(min_length=1)] | UnsetType = UNSET


class HandshakeResponse(S2Message, tag="HandshakeResponse", kw_only=True, frozen=True):
    message_id: ID
    selected_protocol_version: str


class InstructionStatusUpdate(S2Message, tag="InstructionStatusUpdate", kw_only=True, frozen=True):
    message_id: ID
    instruction_id: ID
    status_type: InstructionStatus
    timestamp: Timestamp


class PowerForecast(S2Message, tag="PowerForecast", kw_only=True, frozen=True):
    message_id: ID
    start_time: Timestamp
    elements: Annotated[list[PowerForecastElement], Meta(min_length=1, max_length=288)]


class PowerMeasurement(S2Message, tag="PowerMeasurement", kw_only=True, frozen=True):
    message_id: ID
    measurement_timestamp: Timestamp
    values: Annotated[list[PowerValue], Meta(min_length=1, max_length=10)]


class ReceptionStatus(S2Message, tag="ReceptionStatus", kw_only=True, frozen=True):
    subject_message_id: ID
    status: ReceptionStatusValues
    diagnostic_label: str | UnsetType = UNSET


class ResourceManagerDetails(S2Message, tag="ResourceManagerDetails", kw_only=True, frozen=True):
    message_id: ID
    resource_id: ID
    name: str | UnsetType = UNSET
    roles: Annotated[list[Role], Meta(min_length=1, max_length=3)]
    manufacturer: str | UnsetType = UNSET
    model: str | UnsetType = UNSET
    serial_number: str | UnsetType = UNSET
    firmware_version: str | UnsetType = UNSET
    instruction_processing_delay: Duration
    available_control_types: Annotated[list[ControlType], Meta(min_length=1, max_length=5)]
    currency: Currency | UnsetType = UNSET
    provides_forecast: bool
    provides_power_measurement_types: Annotated[list[CommodityQuantity], Meta(min_length=1, max_length=10)]


class RevokeObject(S2Message, tag="RevokeObject", kw_only=True, frozen=True):
    message_id: ID
    object_type: RevokableObjects
    object_id: ID


class SelectControlType(S2Message, tag="SelectControlType", kw_only=True, frozen=True):
    message_id: ID
    control_type: ControlType


class SessionRequest(S2Message, tag="SessionRequest", kw_only=True, frozen=True):
    message_id: ID
    request: SessionRequestType
    diagnostic_label: str | UnsetType = UNSET
