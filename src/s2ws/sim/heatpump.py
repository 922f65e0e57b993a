"""A heat pump heating a domestic hot-water tank, under FRBC: the fill level is the tank in °C.

The tank is kept between 45 and 55 °C. It loses heat to the room (``FRBC.LeakageBehaviour``,
more when hotter) and to showers at fixed times of day (``FRBC.UsageForecast``, which here is
exact). The compressor modulates from 500 to 2000 W; its COP falls as the water gets hotter, so
the running mode has two elements. Minimum on and off times protect the compressor: each
transition starts one timer and is blocked by the other.

The device's own thermostat overrides everything, the timers included: at 45.5 °C it switches
on (hot water first), at 55 °C it switches off (the compressor's cut-out). It also refuses to
be switched off below 46 °C. Below 45 °C a backup element keeps the tank at 45 °C, and the
compressor never heats it past 55 °C.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import ClassVar

from ..control import FRBCDevice, ModeChange
from ..messages import (
    Commodity,
    CommodityQuantity,
    ControlType,
    FRBCActuatorDescription,
    FRBCLeakageBehaviourElement,
    FRBCOperationMode,
    FRBCOperationModeElement,
    FRBCStorageDescription,
    FRBCSystemDescription,
    FRBCUsageForecastElement,
    PowerRange,
    RoleType,
    new_id,
)
from ..messages.base import S2Message
from .base import IdFactory, number_range, timer, transition
from .daily import floor_to, in_window
from .storage import StorageSim

__all__ = ["HeatPumpParams", "HeatPumpSim"]

L1 = CommodityQuantity.ELECTRIC_POWER_L1
WATER_J_PER_LITRE_K = 4186.0
_SLOT = timedelta(minutes=15)
_MS = timedelta(milliseconds=1)
_EPS = 1e-9


@dataclass(frozen=True)
class HeatPumpParams:
    """A 200 l tank heated by a 2 kW (electric) heat pump; showers in the morning and evening."""

    tank_litres: float = 200.0
    min_c: float = 45.0
    max_c: float = 55.0
    split_c: float = 50.0
    """The COP (and the leakage) changes at this temperature: the modes have two elements."""
    initial_c: float = 50.0
    min_w: float = 500.0
    max_w: float = 2000.0
    cop_cool: float = 3.5
    """COP below ``split_c``."""
    cop_hot: float = 3.0
    leak_cool: float = 0.00004
    """°C per second lost below ``split_c``."""
    leak_hot: float = 0.00006
    min_on: timedelta = timedelta(minutes=15)
    min_off: timedelta = timedelta(minutes=15)
    switch_on_c: float = 45.5
    """The thermostat switches the compressor on at or below this temperature."""
    comfort_c: float = 46.0
    """Below this temperature the device refuses to be switched off."""
    usage: tuple[tuple[time, time, float], ...] = (
        (time(6, 30), time(7, 30), 0.0025),
        (time(19, 0), time(20, 0), 0.0015),
    )
    """(from, until, °C per second): hot water drawn at those times of day."""
    forecast_slots: int = 96
    """Length of the usage forecast in 15-minute slots (one day)."""
    name: str = "Heat pump hot-water tank"


class HeatPumpSim(StorageSim[HeatPumpParams]):
    """The tank and its heat pump: one actuator ``heat-pump`` with modes ``off`` and ``on``."""

    control_types = (ControlType.FILL_RATE_BASED_CONTROL,)
    roles = ((RoleType.ENERGY_CONSUMER, Commodity.ELECTRICITY),)
    measured: ClassVar[tuple[CommodityQuantity, ...]] = (L1,)
    model: ClassVar[str] = "simulated heat pump"

    def __init__(
        self,
        params: HeatPumpParams | None = None,
        *,
        now: datetime,
        ids: IdFactory | None = None,
        interval: timedelta = timedelta(minutes=1),
    ) -> None:
        p = params or HeatPumpParams()
        super().__init__(p, now=now, name=p.name, ids=ids, interval=interval, level=p.initial_c)
        self.actuator_id = self.id("heat-pump")
        self.off_id, self.on_id = self.id("off"), self.id("on")
        self.min_on_id, self.min_off_id = self.id("min-on"), self.id("min-off")
        self.used_wh = 0.0
        """Electric energy used so far."""
        self.device = FRBCDevice(
            self.describe(p, now), {self.actuator_id: (self.off_id, 0.0)}, fill_level=p.initial_c, accept=self._accept
        )
        self.device.set_leakage(self._leakage_elements(p), now)
        self._forecast_from = floor_to(now, _SLOT)
        self.device.set_usage_forecast(self._forecast_from, self._usage_elements(self._forecast_from), now)

    # --- description -----------------------------------------------------------------------------

    def _rate(self, watts: float, cop: float, p: HeatPumpParams) -> float:
        return watts * cop / (p.tank_litres * WATER_J_PER_LITRE_K)

    def _element(self, low: float, high: float, cop: float, p: HeatPumpParams, on: bool) -> FRBCOperationModeElement:
        lo_w, hi_w = (p.min_w, p.max_w) if on else (0.0, 0.0)
        return FRBCOperationModeElement(
            fill_level_range=number_range(low, high),
            fill_rate=number_range(self._rate(lo_w, cop, p), self._rate(hi_w, cop, p)),
            power_ranges=[PowerRange(start_of_range=lo_w, end_of_range=hi_w, commodity_quantity=L1)],
        )

    def describe(self, params: HeatPumpParams, valid_from: datetime) -> FRBCSystemDescription:
        p = params
        modes = [
            FRBCOperationMode(
                id=self.off_id,
                diagnostic_label="Off",
                elements=[self._element(p.min_c, p.max_c, p.cop_cool, p, on=False)],
                abnormal_condition_only=False,
            ),
            FRBCOperationMode(
                id=self.on_id,
                diagnostic_label="Heating",
                elements=[
                    self._element(p.min_c, p.split_c, p.cop_cool, p, on=True),
                    self._element(p.split_c, p.max_c, p.cop_hot, p, on=True),
                ],
                abnormal_condition_only=False,
            ),
        ]
        actuator = FRBCActuatorDescription(
            id=self.actuator_id,
            diagnostic_label="Heat pump",
            supported_commodities=[Commodity.ELECTRICITY],
            operation_modes=modes,
            transitions=[
                transition(
                    self.id("start"), self.off_id, self.on_id, start=[self.min_on_id], blocking=[self.min_off_id]
                ),
                transition(
                    self.id("stop"), self.on_id, self.off_id, start=[self.min_off_id], blocking=[self.min_on_id]
                ),
            ],
            timers=[
                timer(self.min_on_id, "Minimum run time", p.min_on),
                timer(self.min_off_id, "Minimum off time", p.min_off),
            ],
        )
        storage = FRBCStorageDescription(
            diagnostic_label="Hot-water tank",
            fill_level_label="°C",
            provides_leakage_behaviour=True,
            provides_fill_level_target_profile=False,
            provides_usage_forecast=True,
            fill_level_range=number_range(p.min_c, p.max_c),
        )
        return FRBCSystemDescription(message_id=new_id(), valid_from=valid_from, actuators=[actuator], storage=storage)

    def _leakage_elements(self, p: HeatPumpParams) -> list[FRBCLeakageBehaviourElement]:
        return [
            FRBCLeakageBehaviourElement(fill_level_range=number_range(p.min_c, p.split_c), leakage_rate=p.leak_cool),
            FRBCLeakageBehaviourElement(fill_level_range=number_range(p.split_c, p.max_c), leakage_rate=p.leak_hot),
        ]

    def _usage_elements(self, start: datetime) -> list[FRBCUsageForecastElement]:
        """The average usage of each slot, sampled every minute (the windows are whole minutes)."""
        out: list[FRBCUsageForecastElement] = []
        for i in range(self.params.forecast_slots):
            slot = start + i * _SLOT
            samples = [self.usage(slot + timedelta(minutes=m)) for m in range(15)]
            out.append(FRBCUsageForecastElement(duration=round(_SLOT / _MS), usage_rate_expected=sum(samples) / 15))
        return out

    # --- physics ---------------------------------------------------------------------------------

    def leakage(self, level: float) -> float:
        p = self.params
        return p.leak_cool if level < p.split_c else p.leak_hot

    def usage(self, at: datetime) -> float:
        return sum(rate for start, end, rate in self.params.usage if in_window(at, start, end))

    @property
    def heating(self) -> bool:
        return self.mode(self.actuator_id)[0] == self.on_id

    def _accept(self, change: ModeChange) -> str | None:
        if change.mode_id == self.off_id and self.level < self.params.comfort_c:
            return f"the tank is at {self.level:.1f} °C: below {self.params.comfort_c:g} °C hot water comes first"
        return None

    def thresholds(self) -> tuple[float, ...]:
        return (self.params.switch_on_c, self.params.max_c)

    def _step(self, start: datetime, end: datetime) -> list[S2Message]:
        self.used_wh += self.power(start)[L1] * (end - start).total_seconds() / 3600
        return super()._step(start, end)

    def _react(self, at: datetime) -> list[S2Message]:
        p = self.params
        if not self.heating and self.level <= p.switch_on_c + _EPS:
            return self.device.set_mode(self.actuator_id, self.on_id, 1.0, at)
        if self.heating and self.level >= p.max_c - _EPS:
            return self.device.set_mode(self.actuator_id, self.off_id, 0.0, at)
        return []

    def _report(self, now: datetime) -> list[S2Message]:
        out = super()._report(now)
        horizon = self._forecast_from + self.params.forecast_slots * _SLOT
        if now >= self._forecast_from + (horizon - self._forecast_from) / 2:
            self._forecast_from = floor_to(now, _SLOT)
            out.extend(
                self.device.set_usage_forecast(self._forecast_from, self._usage_elements(self._forecast_from), now)
            )
        return out
