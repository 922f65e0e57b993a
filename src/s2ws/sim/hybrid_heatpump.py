"""A hybrid heat pump under DDBC: a house's heat demand, met by a heat pump and a gas boiler.

The demand (W of heat) follows the outdoor temperature, coldest at 04:00. It is published per
hour as the present demand rate (a band around the expected value) and a day ahead as the
average demand rate forecast. The heat pump (2-8 kW of heat at a COP of 3.2, with minimum on
and off times) is cheap but small; the boiler (4-24 kW, burning natural gas) covers the rest.
Supply and demand are both in W of heat.

The device refuses an instruction that would leave the present demand unmet, whatever the
other actuator does. Without a CEM in control it runs itself: the heat pump alone while it
can, the boiler (at least at its minimum) for the rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from ..control import DDBCDevice, ModeChange
from ..control.quantities import value_at
from ..messages import (
    Commodity,
    CommodityQuantity,
    ControlType,
    DDBCActuatorDescription,
    DDBCAverageDemandRateForecastElement,
    DDBCOperationMode,
    DDBCSystemDescription,
    DDBCSystemDescriptionV1,
    NumberRange,
    PowerRange,
    RoleType,
    new_id,
)
from ..messages.base import S2Message
from .base import IdFactory, OperationModeSim, number_range, timer, transition
from .daily import floor_to, hour_of

__all__ = ["HybridHeatPumpParams", "HybridHeatPumpSim"]

PHASE = CommodityQuantity.ELECTRIC_POWER_3_PHASE_SYMMETRIC
GAS = CommodityQuantity.NATURAL_GAS_FLOW_RATE
HOUR = timedelta(hours=1)
_MS = timedelta(milliseconds=1)
Description = DDBCSystemDescription | DDBCSystemDescriptionV1


@dataclass(frozen=True)
class HybridHeatPumpParams:
    """A house losing 450 W per kelvin, 20 °C inside, -2..8 °C outside."""

    loss_w_per_k: float = 450.0
    indoor_c: float = 20.0
    outdoor_mean_c: float = 3.0
    outdoor_swing_c: float = 5.0
    coldest_hour: float = 4.0
    hp_min_heat_w: float = 2_000.0
    hp_max_heat_w: float = 8_000.0
    hp_cop: float = 3.2
    boiler_min_heat_w: float = 4_000.0
    boiler_max_heat_w: float = 24_000.0
    boiler_efficiency: float = 0.9
    gas_wh_per_litre: float = 9.77
    hp_min_on: timedelta = timedelta(minutes=20)
    hp_min_off: timedelta = timedelta(minutes=10)
    demand_band: float = 0.05
    """The present demand rate is published as expected ± this fraction."""
    profile: str = "0.0.2-beta"
    """1.0.0 publishes the demand in DDBC.PresentDemandStatus instead of the description."""
    name: str = "Hybrid heat pump"


class HybridHeatPumpSim(OperationModeSim[Description, HybridHeatPumpParams]):
    """Actuators ``heat-pump`` (electric) and ``gas-boiler``, each with modes off and on."""

    control_type: ClassVar[ControlType] = ControlType.DEMAND_DRIVEN_BASED_CONTROL
    control_types = (ControlType.DEMAND_DRIVEN_BASED_CONTROL,)
    roles = ((RoleType.ENERGY_CONSUMER, Commodity.ELECTRICITY), (RoleType.ENERGY_CONSUMER, Commodity.GAS))
    measured: ClassVar[tuple[CommodityQuantity, ...]] = (PHASE, GAS)
    model: ClassVar[str] = "simulated hybrid heat pump"
    device: DDBCDevice

    def __init__(
        self,
        params: HybridHeatPumpParams | None = None,
        *,
        now: datetime,
        ids: IdFactory | None = None,
        interval: timedelta = timedelta(minutes=1),
    ) -> None:
        p = params or HybridHeatPumpParams()
        super().__init__(p, now=now, name=p.name, ids=ids, interval=interval)
        self.hp_id, self.boiler_id = self.id("heat-pump"), self.id("gas-boiler")
        self.hp_off, self.hp_on = self.id("heat-pump-off"), self.id("heat-pump-on")
        self.boiler_off, self.boiler_on = self.id("gas-boiler-off"), self.id("gas-boiler-on")
        self.hp_min_on, self.hp_min_off = self.id("heat-pump-min-on"), self.id("heat-pump-min-off")
        self.heat_wh = 0.0
        """Heat delivered to the house so far (at most the demand)."""
        self.unmet_wh = 0.0
        """Heat the house wanted and did not get."""
        self.electric_wh = 0.0
        self.gas_litres = 0.0
        self.demand_rate = self.present_demand(now)
        self._next_demand = floor_to(now, HOUR) + HOUR
        hp, boiler = self._plan(self.demand_rate.end_of_range)
        self.device = DDBCDevice(
            self.describe(p, now),
            {self.hp_id: hp, self.boiler_id: boiler},
            demand_rate=self.demand_rate,
            accept=self._accept,
        )
        self._forecast_from = floor_to(now, HOUR)
        self.device.set_demand_forecast(self._forecast_from, self._forecast(self._forecast_from), now)

    # --- the house -------------------------------------------------------------------------------

    def demand(self, at: datetime) -> float:
        """The heat the house needs at ``at``, in W."""
        p = self.params
        phase = 2 * math.pi * (hour_of(at) - p.coldest_hour) / 24
        outdoor = p.outdoor_mean_c - p.outdoor_swing_c * math.cos(phase)
        return max(0.0, p.loss_w_per_k * (p.indoor_c - outdoor))

    def present_demand(self, at: datetime) -> NumberRange:
        """The band published for the hour of ``at``: its mid-hour demand ± ``demand_band``."""
        expected = self.demand(floor_to(at, HOUR) + HOUR / 2)
        band = self.params.demand_band
        return number_range(round(expected * (1 - band), 1), round(expected * (1 + band), 1))

    def _forecast(self, start: datetime) -> list[DDBCAverageDemandRateForecastElement]:
        out: list[DDBCAverageDemandRateForecastElement] = []
        band = self.params.demand_band
        for i in range(24):
            expected = self.demand(start + i * HOUR + HOUR / 2)
            out.append(
                DDBCAverageDemandRateForecastElement(
                    duration=round(HOUR / _MS),
                    demand_rate_upper_68PPR=round(expected * (1 + band), 1),
                    demand_rate_expected=round(expected, 1),
                    demand_rate_lower_68PPR=round(expected * (1 - band), 1),
                )
            )
        return out

    # --- description -----------------------------------------------------------------------------

    def _mode(
        self, mode_id: str, label: str, cq: CommodityQuantity, power: tuple[float, float], supply: tuple[float, float]
    ) -> DDBCOperationMode:
        return DDBCOperationMode(
            Id=mode_id,
            diagnostic_label=label,
            power_ranges=[PowerRange(start_of_range=power[0], end_of_range=power[1], commodity_quantity=cq)],
            supply_range=number_range(*supply),
            abnormal_condition_only=False,
        )

    def describe(self, params: HybridHeatPumpParams, valid_from: datetime) -> Description:
        p = params
        gas = 1 / p.boiler_efficiency / p.gas_wh_per_litre / 3600  # litres per second per W of heat
        heat_pump = DDBCActuatorDescription(
            id=self.hp_id,
            diagnostic_label="Heat pump",
            supported_commodites=[Commodity.ELECTRICITY],
            operation_modes=[
                self._mode(self.hp_off, "Off", PHASE, (0, 0), (0, 0)),
                self._mode(
                    self.hp_on,
                    "Heating",
                    PHASE,
                    (p.hp_min_heat_w / p.hp_cop, p.hp_max_heat_w / p.hp_cop),
                    (p.hp_min_heat_w, p.hp_max_heat_w),
                ),
            ],
            transitions=[
                transition(
                    self.id("heat-pump-start"),
                    self.hp_off,
                    self.hp_on,
                    start=[self.hp_min_on],
                    blocking=[self.hp_min_off],
                ),
                transition(
                    self.id("heat-pump-stop"),
                    self.hp_on,
                    self.hp_off,
                    start=[self.hp_min_off],
                    blocking=[self.hp_min_on],
                ),
            ],
            timers=[
                timer(self.hp_min_on, "Minimum run time", p.hp_min_on),
                timer(self.hp_min_off, "Minimum off time", p.hp_min_off),
            ],
        )
        boiler = DDBCActuatorDescription(
            id=self.boiler_id,
            diagnostic_label="Gas boiler",
            supported_commodites=[Commodity.GAS],
            operation_modes=[
                self._mode(self.boiler_off, "Off", GAS, (0, 0), (0, 0)),
                self._mode(
                    self.boiler_on,
                    "Burning",
                    GAS,
                    (p.boiler_min_heat_w * gas, p.boiler_max_heat_w * gas),
                    (p.boiler_min_heat_w, p.boiler_max_heat_w),
                ),
            ],
            transitions=[
                transition(self.id("gas-boiler-start"), self.boiler_off, self.boiler_on),
                transition(self.id("gas-boiler-stop"), self.boiler_on, self.boiler_off),
            ],
            timers=[],
        )
        actuators = [heat_pump, boiler]
        if p.profile == "1.0.0":
            return DDBCSystemDescriptionV1(
                message_id=new_id(),
                valid_from=valid_from,
                actuators=actuators,
                provides_average_demand_rate_forecast=True,
            )
        return DDBCSystemDescription(
            message_id=new_id(),
            valid_from=valid_from,
            actuators=actuators,
            present_demand_rate=self.demand_rate,
            provides_average_demand_rate_forecast=True,
        )

    # --- behaviour -------------------------------------------------------------------------------

    def _plan(self, demand: float) -> tuple[tuple[str, float], tuple[str, float]]:
        """How the device meets ``demand`` on its own: ((heat-pump mode, factor), (boiler mode, factor))."""
        p = self.params

        def factor(heat: float, low: float, high: float) -> float:
            return min(max((heat - low) / (high - low), 0.0), 1.0)

        if demand <= 0:
            return (self.hp_off, 0.0), (self.boiler_off, 0.0)
        if demand <= p.hp_max_heat_w:
            return (self.hp_on, factor(demand, p.hp_min_heat_w, p.hp_max_heat_w)), (self.boiler_off, 0.0)
        boiler = min(max(demand - p.hp_max_heat_w, p.boiler_min_heat_w), p.boiler_max_heat_w)
        heat_pump = min(max(demand - boiler, p.hp_min_heat_w), p.hp_max_heat_w)
        return (
            (self.hp_on, factor(heat_pump, p.hp_min_heat_w, p.hp_max_heat_w)),
            (self.boiler_on, factor(boiler, p.boiler_min_heat_w, p.boiler_max_heat_w)),
        )

    def _run_itself(self, now: datetime) -> list[S2Message]:
        hp, boiler = self._plan(self.demand_rate.end_of_range)
        out: list[S2Message] = []
        for actuator_id, (mode_id, factor) in ((self.hp_id, hp), (self.boiler_id, boiler)):
            if self.mode(actuator_id) != (mode_id, factor):
                out.extend(self.device.set_mode(actuator_id, mode_id, factor, now))
        return out

    def operation_mode(self, actuator_id: str, mode_id: str, at: datetime | None = None) -> DDBCOperationMode:
        mode = self.device.machine(actuator_id, at or self.time).mode(mode_id)
        assert isinstance(mode, DDBCOperationMode)
        return mode

    def supply_range(self, actuator_id: str, mode_id: str, at: datetime | None = None) -> NumberRange:
        return self.operation_mode(actuator_id, mode_id, at).supply_range

    def supply(self, at: datetime) -> float:
        """The heat supplied now, in W."""
        total = 0.0
        for actuator_id, status in self.device.statuses.items():
            total += value_at(self.supply_range(actuator_id, status.mode_id, at), status.factor)
        return total

    def _accept(self, change: ModeChange) -> str | None:
        most = max(self.supply_range(change.actuator_id, change.mode_id, change.at).end_of_range, 0.0)
        for actuator_id in self.device.statuses:
            if actuator_id != change.actuator_id:
                other = self.device.expected(actuator_id, change.at).mode_id
                if other is not None:
                    most += max(self.supply_range(actuator_id, other, change.at).end_of_range, 0.0)
        need = self.demand_rate.start_of_range
        if most < need:
            return f"that would leave the heat demand unmet: at most {most:.0f} W for {need:.0f} W"
        return None

    def power(self, at: datetime) -> dict[CommodityQuantity, float]:
        totals = dict.fromkeys(self.measured, 0.0)
        for actuator_id, status in self.device.statuses.items():
            for power_range in self.operation_mode(actuator_id, status.mode_id, at).power_ranges:
                totals[power_range.commodity_quantity] += value_at(power_range, status.factor)
        return totals

    def _step(self, start: datetime, end: datetime) -> list[S2Message]:
        hours = (end - start).total_seconds() / 3600
        supply, demand = self.supply(start), self.demand(start)
        self.heat_wh += min(supply, demand) * hours
        self.unmet_wh += max(demand - supply, 0.0) * hours
        power = self.power(start)
        self.electric_wh += power[PHASE] * hours
        self.gas_litres += power[GAS] * hours * 3600
        return []

    # --- the hourly demand -----------------------------------------------------------------------

    def _event_wakeup(self) -> datetime | None:
        return self._next_demand

    def _on_due(self, moment: datetime) -> list[S2Message]:
        out = super()._on_due(moment)
        if moment >= self._next_demand:
            self._next_demand = floor_to(moment, HOUR) + HOUR
            rate = self.present_demand(moment)
            if rate != self.demand_rate:
                self.demand_rate = rate
                out.extend(self.device.set_demand_rate(rate, moment))
            if not self.device.active:
                out.extend(self._run_itself(moment))
        return out

    def _select(self, control_type: ControlType, now: datetime) -> list[S2Message]:
        out = super()._select(control_type, now)
        if not self.device.active:
            out.extend(self._run_itself(now))
        return out

    def _report(self, now: datetime) -> list[S2Message]:
        if now < self._forecast_from + 12 * HOUR:
            return []
        self._forecast_from = floor_to(now, HOUR)
        return self.device.set_demand_forecast(self._forecast_from, self._forecast(self._forecast_from), now)
