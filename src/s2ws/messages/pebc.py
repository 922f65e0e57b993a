"""Power Envelope Based Control: the RM says which power limits it accepts, the CEM sets envelopes."""

from __future__ import annotations

from typing import Annotated

from msgspec import UNSET, Meta, UnsetType

from .base import ID, Duration, S2Message, S2Object, Timestamp
from .common import NumberRange
from .enums import CommodityQuantity, PEBCPowerEnvelopeConsequenceType, PEBCPowerEnvelopeLimitType

__all__ = [
    "PEBCAllowedLimitRange",
    "PEBCEnergyConstraint",
    "PEBCInstruction",
    "PEBCPowerConstraints",
    "PEBCPowerEnvelope",
    "PEBCPowerEnvelopeElement",
]


class PEBCAllowedLimitRange(S2Object, kw_only=True, frozen=True):
    commodity_quantity: CommodityQuantity
    limit_type: PEBCPowerEnvelopeLimitType
    range_boundary: NumberRange
    abnormal_condition_only: bool


class PEBCPowerEnvelope(S2Object, kw_only=True, frozen=True):
    id: ID
    commodity_quantity: CommodityQuantity
    power_envelope_elements: Annotated[list[PEBCPowerEnvelopeElement], Meta(min_length=1, max_length=288)]


class PEBCPowerEnvelopeElement(S2Object, kw_only=True, frozen=True):
    duration: Duration
    upper_limit: float
    lower_limit: float


class PEBCEnergyConstraint(S2Message, tag="PEBC.EnergyConstraint", kw_only=True, frozen=True):
    message_id: ID
    id: ID
    valid_from: Timestamp
    valid_until: Timestamp
    upper_average_power: float
    lower_average_power: float
    commodity_quantity: CommodityQuantity


class PEBCInstruction(S2Message, tag="PEBC.Instruction", kw_only=True, frozen=True):
    message_id: ID
    id: ID
    execution_time: Timestamp
    abnormal_condition: bool
    power_constraints_id: ID
    power_envelopes: Annotated[list[PEBCPowerEnvelope], Meta(min_length=1, max_length=10)]


class PEBCPowerConstraints(S2Message, tag="PEBC.PowerConstraints", kw_only=True, frozen=True):
    message_id: ID
    id: ID
    valid_from: Timestamp
    valid_until: Timestamp | UnsetType = UNSET
    consequence_type: PEBCPowerEnvelopeConsequenceType
    allowed_limit_ranges: Annotated[list[PEBCAllowedLimitRange], Meta(min_length=2, max_length=100)]
