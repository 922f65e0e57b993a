"""An electric car on a home charger under FRBC: the fill level is the state of charge.

The car comes home in the evening and leaves in the morning. While it is plugged in, the RM
publishes a fill-level target profile: keep at least the reserve, and have the target state of
charge at departure. The charger modulates between 1.4 and 11 kW; above 80 % the car accepts
less (a second element of the charging mode says so). Without a CEM in control the car charges
at full power up to its target as soon as it is plugged in, as any car does.
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
    FRBCFillLevelTargetProfileElement,
    FRBCOperationMode,
    FRBCOperationModeElement,
    FRBCStorageDescription,
    FRBCSystemDescription,
    PowerRange,
    RoleType,
    new_id,
)
from ..messages.base import S2Message
from .base import IdFactory, number_range, transition
from .daily import next_at
from .storage import StorageSim

__all__ = ["EVParams", "EVSim"]

PHASE = CommodityQuantity.ELECTRIC_POWER_3_PHASE_SYMMETRIC
_MS = timedelta(milliseconds=1)
_FULL = 100.0 - 1e-9


@dataclass(frozen=True)
class EVParams:
    """A 60 kWh car that is home from 18:00 to 07:30 and wants 80 % when it leaves."""

    capacity_wh: float = 60_000.0
    min_charge_w: float = 1_400.0
    max_charge_w: float = 11_000.0
    taper_soc: float = 80.0
    """Above this state of charge the car accepts at most ``taper_w``."""
    taper_w: float = 7_400.0
    efficiency: float = 0.92
    initial_soc: float = 30.0
    target_soc: float = 80.0
    reserve_soc: float = 20.0
    departure: time = time(7, 30)
    arrival: time = time(18, 0)
    arrival_soc: float = 40.0
    """The state of charge the car comes home with."""
    target_hold: timedelta = timedelta(minutes=15)
    """How long the last element of the target profile (the target band) lasts after departure."""
    name: str = "Electric vehicle"


class EVSim(StorageSim[EVParams]):
    """The car and its charger: one actuator ``charger`` with modes ``off`` and ``charging``."""

    control_types = (ControlType.FILL_RATE_BASED_CONTROL,)
    roles = ((RoleType.ENERGY_CONSUMER, Commodity.ELECTRICITY),)
    measured: ClassVar[tuple[CommodityQuantity, ...]] = (PHASE,)
    model: ClassVar[str] = "simulated EV charger"

    def __init__(
        self,
        params: EVParams | None = None,
        *,
        now: datetime,
        ids: IdFactory | None = None,
        interval: timedelta = timedelta(minutes=1),
    ) -> None:
        p = params or EVParams()
        super().__init__(p, now=now, name=p.name, ids=ids, interval=interval, level=p.initial_soc)
        self.actuator_id = self.id("charger")
        self.off_id, self.charging_id = self.id("off"), self.id("charging")
        self.plugged = next_at(now, p.departure) < next_at(now, p.arrival)
        """The car is at home and connected."""
        self.departure = next_at(now, p.departure)
        self.arrival = next_at(now, p.arrival)
        self.charged_wh = 0.0
        """Energy taken from the grid so far."""
        self.device = FRBCDevice(
            self.describe(p, now),
            {self.actuator_id: (self.off_id, 0.0)},
            fill_level=p.initial_soc,
            on_change=self._carry_out,
            accept=self._accept,
        )
        if self.plugged:
            self.device.set_fill_level_target(now, self._target_elements(now), now)

    # --- description -----------------------------------------------------------------------------

    def _rate(self, watts: float, p: EVParams) -> float:
        return watts * p.efficiency / p.capacity_wh / 3600.0 * 100.0

    def _element(self, low: float, high: float, top_w: float, p: EVParams) -> FRBCOperationModeElement:
        return FRBCOperationModeElement(
            fill_level_range=number_range(low, high),
            fill_rate=number_range(self._rate(p.min_charge_w, p), self._rate(top_w, p)),
            power_ranges=[PowerRange(start_of_range=p.min_charge_w, end_of_range=top_w, commodity_quantity=PHASE)],
        )

    def describe(self, params: EVParams, valid_from: datetime) -> FRBCSystemDescription:
        p = params
        idle = FRBCOperationModeElement(
            fill_level_range=number_range(0, 100),
            fill_rate=number_range(0, 0),
            power_ranges=[PowerRange(start_of_range=0.0, end_of_range=0.0, commodity_quantity=PHASE)],
        )
        modes = [
            FRBCOperationMode(id=self.off_id, diagnostic_label="Off", elements=[idle], abnormal_condition_only=False),
            FRBCOperationMode(
                id=self.charging_id,
                diagnostic_label="Charging",
                elements=[
                    self._element(0, p.taper_soc, p.max_charge_w, p),
                    self._element(p.taper_soc, 100, min(p.taper_w, p.max_charge_w), p),
                ],
                abnormal_condition_only=False,
            ),
        ]
        charger = FRBCActuatorDescription(
            id=self.actuator_id,
            diagnostic_label="Charger",
            supported_commodities=[Commodity.ELECTRICITY],
            operation_modes=modes,
            transitions=[
                transition(self.id("start"), self.off_id, self.charging_id),
                transition(self.id("stop"), self.charging_id, self.off_id),
            ],
            timers=[],
        )
        storage = FRBCStorageDescription(
            diagnostic_label="Car battery",
            fill_level_label="%",
            provides_leakage_behaviour=False,
            provides_fill_level_target_profile=True,
            provides_usage_forecast=False,
            fill_level_range=number_range(0, 100),
        )
        return FRBCSystemDescription(message_id=new_id(), valid_from=valid_from, actuators=[charger], storage=storage)

    def _target_elements(self, now: datetime) -> list[FRBCFillLevelTargetProfileElement]:
        """Keep the reserve until departure, then be at the target."""
        p = self.params
        return [
            FRBCFillLevelTargetProfileElement(
                duration=round((self.departure - now) / _MS), fill_level_range=number_range(p.reserve_soc, 100)
            ),
            FRBCFillLevelTargetProfileElement(
                duration=round(p.target_hold / _MS), fill_level_range=number_range(p.target_soc, 100)
            ),
        ]

    # --- behaviour -------------------------------------------------------------------------------

    @property
    def charging(self) -> bool:
        return self.mode(self.actuator_id)[0] == self.charging_id

    def connected_at(self, moment: datetime) -> bool:
        """Whether the car will be (or is) plugged in at ``moment``, by its daily routine."""
        p = self.params
        return next_at(moment, p.departure) < next_at(moment, p.arrival)

    def _accept(self, change: ModeChange) -> str | None:
        if change.mode_id != self.charging_id:
            return None
        if not self.connected_at(change.at):
            return "no car is connected then"
        if self.level >= _FULL:
            return "the car is full"
        return None

    def _carry_out(self, change: ModeChange) -> None:
        if change.mode_id == self.charging_id and not self.plugged:
            raise RuntimeError("the car has left")

    def thresholds(self) -> tuple[float, ...]:
        return (self.params.target_soc, 100.0)

    def _step(self, start: datetime, end: datetime) -> list[S2Message]:
        self.charged_wh += self.power(start)[PHASE] * (end - start).total_seconds() / 3600
        return super()._step(start, end)

    def _react(self, at: datetime) -> list[S2Message]:
        charging = self.charging
        if charging and (not self.plugged or self.level >= _FULL):
            return self.device.set_mode(self.actuator_id, self.off_id, 0.0, at)
        if self.device.active or not self.plugged:
            return []
        # Nobody steers the charger: charge at full power up to the target.
        if not charging and self.level < self.params.target_soc:
            return self.device.set_mode(self.actuator_id, self.charging_id, 1.0, at)
        if charging and self.level >= self.params.target_soc:
            return self.device.set_mode(self.actuator_id, self.off_id, 0.0, at)
        return []

    # --- the daily routine -----------------------------------------------------------------------

    def _event_wakeup(self) -> datetime | None:
        return self.departure if self.plugged else self.arrival

    def _on_due(self, moment: datetime) -> list[S2Message]:
        out = super()._on_due(moment)
        if self.plugged and moment >= self.departure:
            self.plugged = False
            self.departure = next_at(moment, self.params.departure)
            out.extend(self._react(moment))
        elif not self.plugged and moment >= self.arrival:
            self.plugged = True
            self.arrival = next_at(moment, self.params.arrival)
            self.level = self.params.arrival_soc
            level = round(self.level, self.digits)
            out.extend(self.device.set_fill_level(level, moment))
            if self.device.active:
                self._reported = level
            out.extend(self.device.set_fill_level_target(moment, self._target_elements(moment), moment))
            out.extend(self._react(moment))
        return out
