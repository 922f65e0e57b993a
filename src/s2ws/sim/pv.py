"""A rooftop PV inverter under PEBC: production follows the sun, the CEM may cap it.

:class:`PVSim` is the sun and the inverter's message builders (driven by the application's
simulated RM); :class:`PVDeviceSim` runs them on the PEBC building block as a
:class:`~s2ws.sim.base.DeviceSim`, or without control (NOT_CONTROLABLE).

Power is negative (production). The CEM bounds it with an envelope's lower limit; the upper
limit is always 0 because an inverter never consumes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from ..control import PEBCDevice, limit_ranges
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
from ..messages.base import S2Message
from ..messages.timeline import later
from .base import IdFactory, SimBase

__all__ = ["PVDeviceSim", "PVParams", "PVSim"]

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
                end = later(start, element.duration)
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
            available_control_types=[ControlType.POWER_ENVELOPE_BASED_CONTROL],
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

    def forecast(
        self,
        now: datetime,
        *,
        elements: int = 96,
        step: timedelta = timedelta(minutes=15),
        curve: Callable[[datetime], float] | None = None,
    ) -> PowerForecast:
        """``elements`` steps from now (to the minute), each the production at its middle;
        ``curve`` replaces :meth:`available_w` (a derated inverter)."""
        start = now.replace(second=0, microsecond=0)
        power = curve or self.available_w
        values = [
            PowerForecastElement(
                duration=int(step.total_seconds() * 1000),
                power_values=[
                    PowerForecastValue(
                        value_expected=round(power(start + i * step + step / 2), 1), commodity_quantity=L1
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


class PVDeviceSim(SimBase):
    """The inverter as a DeviceSim: production from :class:`PVSim`'s sun, bounded by the
    envelope a :class:`~s2ws.control.PEBCDevice` holds in force.

    ``controllable=False`` makes it an inverter that only reports (NOT_CONTROLABLE). A
    PowerForecast of the next day goes out with the first measurement and every
    ``forecast_every`` after. :meth:`derate` lowers the peak (a hot inverter) from a moment on,
    with new PowerConstraints that take over then.
    """

    roles = ((RoleType.ENERGY_PRODUCER, Commodity.ELECTRICITY),)
    measured: ClassVar[tuple[CommodityQuantity, ...]] = (L1,)
    model: ClassVar[str] = "simulated inverter"
    provides_forecast: ClassVar[bool] = True
    processing_delay: ClassVar[timedelta] = timedelta(seconds=1)

    def __init__(
        self,
        params: PVParams | None = None,
        *,
        now: datetime,
        ids: IdFactory | None = None,
        interval: timedelta = timedelta(minutes=1),
        controllable: bool = True,
        sun: PVSim | None = None,
        forecast_every: timedelta = timedelta(hours=1),
    ) -> None:
        self.pv = sun or PVSim(params)
        super().__init__(now=now, name=self.pv.params.name, ids=ids, interval=interval)
        self.pv.resource_id = self.resource_id
        self.control_types = (
            (ControlType.POWER_ENVELOPE_BASED_CONTROL,) if controllable else (ControlType.NOT_CONTROLABLE,)
        )
        self.device = PEBCDevice(self._ranges(self.pv.params.peak_w))
        self.forecast_every = forecast_every
        self.produced_wh = 0.0
        self.curtailed_wh = 0.0
        self._peaks: list[tuple[datetime, float]] = [(now, self.pv.params.peak_w)]
        self._next_forecast = now
        self._active = False

    @staticmethod
    def _ranges(peak_w: float) -> list[PEBCAllowedLimitRange]:
        return limit_ranges(L1, upper=[(0.0, 0.0)], lower=[(-peak_w, 0.0)])

    def peak_at(self, at: datetime) -> float:
        """The peak the inverter may deliver at ``at`` (derating included)."""
        peak = self._peaks[0][1]
        for start, value in self._peaks:
            if start <= at:
                peak = value
        return peak

    def available_w(self, at: datetime) -> float:
        """What the panels could deliver at ``at`` (negative), the inverter's derating included."""
        return max(self.pv.available_w(at), -self.peak_at(at))

    def power(self, at: datetime) -> dict[CommodityQuantity, float]:
        available = self.available_w(at)
        return {L1: self.device.clamp(L1, available, at) if self._active else available}

    def derate(self, peak_w: float, now: datetime, *, valid_from: datetime | None = None) -> list[S2Message]:
        """From ``valid_from`` (default now) on, the inverter delivers at most ``peak_w``: new
        PowerConstraints (sent now when PEBC is active) supersede the old ones then."""
        out = self._run_until(now)
        start = valid_from or now
        self._peaks = [(t, peak) for t, peak in self._peaks if t < start] + [(start, peak_w)]
        return [*out, *self.device.update_limits(self._ranges(peak_w), now, valid_from=start)]

    def forecast(self, now: datetime) -> PowerForecast:
        return self.pv.forecast(now, curve=self.available_w)

    # --- the loop --------------------------------------------------------------------------------

    def _step(self, start: datetime, end: datetime) -> list[S2Message]:
        hours = (end - start).total_seconds() / 3600
        produced = self.power(start)[L1]
        self.produced_wh -= produced * hours
        self.curtailed_wh += (produced - self.available_w(start)) * hours
        return []

    def _boundaries(self, start: datetime, end: datetime) -> list[datetime]:
        return [t for t, _ in self._peaks if start < t < end]

    def _select(self, control_type: ControlType, now: datetime) -> list[S2Message]:
        out: list[S2Message] = []
        if self._active:
            out.extend(self.device.deactivate(now))
        self._active = control_type is ControlType.POWER_ENVELOPE_BASED_CONTROL
        if self._active:
            out.extend(self.device.activate(now))
        return out

    def _handle(self, message: S2Message, now: datetime) -> list[S2Message]:
        return self.device.handle(message, now)

    def _control_wakeup(self) -> datetime | None:
        return self.device.next_wakeup()

    def _on_due(self, moment: datetime) -> list[S2Message]:
        return self.device.tick(moment)

    def _report(self, now: datetime) -> list[S2Message]:
        if now < self._next_forecast:
            return []
        self._next_forecast = now + self.forecast_every
        return [self.forecast(now)]
