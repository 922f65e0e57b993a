"""A rooftop PV inverter under PEBC: production follows the sun, the CEM may cap it.

Power is negative (production). The CEM bounds it with an envelope's lower limit; the upper
limit is always 0 because an inverter never consumes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..messages import (
    Commodity,
    CommodityQuantity,
    ControlType,
    NumberRange,
    PEBCAllowedLimitRange,
    PEBCInstruction,
    PEBCPowerConstraints,
    PEBCPowerEnvelopeConsequenceType,
    PEBCPowerEnvelopeLimitType,
    PowerForecast,
    PowerForecastElement,
    PowerForecastValue,
    PowerMeasurement,
    PowerValue,
    ResourceManagerDetails,
    Role,
    RoleType,
    new_id,
)

__all__ = ["PVParams", "PVSim"]

L1 = CommodityQuantity.ELECTRIC_POWER_L1


@dataclass(frozen=True)
class PVParams:
    """A 4 kWp single-phase installation with daylight from 06:00 to 20:00 (UTC)."""

    peak_w: float = 4_000.0
    sunrise_h: float = 6.0
    sunset_h: float = 20.0
    name: str = "Solar panels on roof"


class PVSim:
    """Available production from a sine-shaped day, capped by the active envelope."""

    def __init__(self, params: PVParams | None = None) -> None:
        self.params = params or PVParams()
        self.resource_id = new_id()
        self.constraints_id = new_id()
        self._envelope: list[tuple[datetime, datetime, float]] = []

    def available_w(self, when: datetime) -> float:
        """What the panels could deliver at ``when`` (a negative number, or 0 at night)."""
        p = self.params
        hour = when.hour + when.minute / 60 + when.second / 3600
        if not p.sunrise_h < hour < p.sunset_h:
            return 0.0
        return -p.peak_w * math.sin(math.pi * (hour - p.sunrise_h) / (p.sunset_h - p.sunrise_h))

    def lower_limit(self, when: datetime) -> float | None:
        for start, end, limit in self._envelope:
            if start <= when < end:
                return limit
        return None

    def power_w(self, when: datetime) -> float:
        limit = self.lower_limit(when)
        available = self.available_w(when)
        return available if limit is None else max(available, limit)

    def apply(self, instruction: PEBCInstruction, now: datetime) -> str | None:
        """Adopt the envelope's lower limits; returns a refusal reason, or None."""
        if instruction.power_constraints_id != self.constraints_id:
            return f"unknown power constraints {instruction.power_constraints_id}"
        spans: list[tuple[datetime, datetime, float]] = []
        for envelope in instruction.power_envelopes:
            if envelope.commodity_quantity != L1:
                return f"{envelope.commodity_quantity.value} is not controllable here"
            start = instruction.execution_time
            for element in envelope.power_envelope_elements:
                if not -self.params.peak_w <= element.lower_limit <= 0.0:
                    return f"lower limit {element.lower_limit} is outside [-{self.params.peak_w:g}, 0]"
                end = start + timedelta(milliseconds=element.duration)
                spans.append((start, end, element.lower_limit))
                start = end
        self._envelope = spans
        return None

    # --- S2 messages -------------------------------------------------------------------------

    def details(self) -> ResourceManagerDetails:
        return ResourceManagerDetails(
            message_id=new_id(),
            resource_id=self.resource_id,
            name=self.params.name,
            roles=[Role(role=RoleType.ENERGY_PRODUCER, commodity=Commodity.ELECTRICITY)],
            manufacturer="s2ws",
            model="simulated inverter",
            instruction_processing_delay=1000,
            available_control_types=[ControlType.POWER_ENVELOPE_BASED_CONTROL, ControlType.NOT_CONTROLABLE],
            provides_forecast=True,
            provides_power_measurement_types=[L1],
        )

    def power_constraints(self, now: datetime) -> PEBCPowerConstraints:
        def allowed(limit: PEBCPowerEnvelopeLimitType, low: float, high: float) -> PEBCAllowedLimitRange:
            return PEBCAllowedLimitRange(
                commodity_quantity=L1,
                limit_type=limit,
                range_boundary=NumberRange(start_of_range=low, end_of_range=high),
                abnormal_condition_only=False,
            )

        return PEBCPowerConstraints(
            message_id=new_id(),
            id=self.constraints_id,
            valid_from=now,
            consequence_type=PEBCPowerEnvelopeConsequenceType.VANISH,
            allowed_limit_ranges=[
                allowed(PEBCPowerEnvelopeLimitType.LOWER_LIMIT, -self.params.peak_w, 0.0),
                allowed(PEBCPowerEnvelopeLimitType.UPPER_LIMIT, 0.0, 0.0),
            ],
        )

    def forecast(self, now: datetime, *, elements: int = 96, step: timedelta = timedelta(minutes=15)) -> PowerForecast:
        start = now.replace(second=0, microsecond=0)
        values = [
            PowerForecastElement(
                duration=int(step.total_seconds() * 1000),
                power_values=[
                    PowerForecastValue(
                        value_expected=round(self.available_w(start + i * step + step / 2), 1), commodity_quantity=L1
                    )
                ],
            )
            for i in range(elements)
        ]
        return PowerForecast(message_id=new_id(), start_time=start, elements=values)

    def measurement(self, now: datetime) -> PowerMeasurement:
        return PowerMeasurement(
            message_id=new_id(),
            measurement_timestamp=now,
            values=[PowerValue(commodity_quantity=L1, value=round(self.power_w(now), 3))],
        )
