"""A home battery under FRBC: one actuator with idle, charge and discharge modes.

:class:`BatterySim` is the battery on its own (physics and message builders, driven by the
application's simulated RM); :class:`BatteryDeviceSim` puts its description on the FRBC
building block and is a :class:`~s2ws.sim.base.DeviceSim` like every other simulator.

The fill level is the state of charge in percent. Discharge ranges are written low..high
(full discharge at factor 0) because s2-python refuses a PowerRange whose start exceeds its
end, and a simulator should work with every peer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

import msgspec

from ..control import FRBCDevice, ModeChange
from ..messages import (
    Commodity,
    CommodityQuantity,
    ControlType,
    FRBCActuatorDescription,
    FRBCActuatorStatus,
    FRBCInstruction,
    FRBCOperationMode,
    FRBCOperationModeElement,
    FRBCStorageDescription,
    FRBCStorageStatus,
    FRBCSystemDescription,
    NumberRange,
    PowerMeasurement,
    PowerRange,
    PowerValue,
    ResourceManagerDetails,
    Role,
    RoleType,
    Transition,
    new_id,
)
from ..messages.base import S2Message
from .base import IdFactory
from .storage import StorageSim

__all__ = ["BatteryDeviceSim", "BatteryParams", "BatterySim"]

PHASE = CommodityQuantity.ELECTRIC_POWER_3_PHASE_SYMMETRIC


@dataclass(frozen=True)
class BatteryParams:
    """Physical parameters; the defaults describe a typical 10 kWh home battery."""

    capacity_wh: float = 10_000.0
    max_charge_w: float = 5_000.0
    max_discharge_w: float = 5_000.0
    efficiency: float = 0.95
    initial_soc: float = 50.0
    name: str = "Home battery"


class BatterySim:
    """State of charge integrated over time from the active mode and factor."""

    def __init__(self, params: BatteryParams | None = None, *, now: datetime) -> None:
        self.params = params or BatteryParams()
        self.soc = self.params.initial_soc
        self.resource_id = new_id()
        self.actuator_id = new_id()
        self.mode_ids = {"idle": new_id(), "charge": new_id(), "discharge": new_id()}
        self.mode = "idle"
        self.previous_mode: str | None = None
        self.factor = 0.0
        self.transition_at: datetime | None = None
        self._last = now

    # --- physics ---------------------------------------------------------------------------

    def _percent_per_second(self, watts: float) -> float:
        return watts / self.params.capacity_wh / 3600.0 * 100.0

    def power_w(self) -> float:
        """Grid power now: positive while charging, negative while discharging."""
        if self.mode == "charge":
            return self.factor * self.params.max_charge_w
        if self.mode == "discharge":
            return -(1.0 - self.factor) * self.params.max_discharge_w
        return 0.0

    def rate_at(self, watts: float) -> float:
        """Percent of capacity per second at a grid power; losses are taken both ways."""
        eff = self.params.efficiency
        return self._percent_per_second(watts * eff if watts >= 0 else watts / eff)

    def fill_rate(self) -> float:
        return self.rate_at(self.power_w())

    def advance(self, now: datetime) -> None:
        """Integrate the state of charge up to ``now``; a full or empty battery stops itself."""
        seconds = max(0.0, (now - self._last).total_seconds())
        self._last = max(self._last, now)
        self.soc = min(100.0, max(0.0, self.soc + self.fill_rate() * seconds))
        if (self.soc >= 100.0 and self.mode == "charge") or (self.soc <= 0.0 and self.mode == "discharge"):
            self._switch("idle", 0.0, now)

    def _switch(self, mode: str, factor: float, now: datetime) -> None:
        if mode != self.mode:
            self.previous_mode, self.transition_at = self.mode, now
        self.mode, self.factor = mode, factor

    def refusal(self, mode: str, factor: float) -> str | None:
        """Why the battery will not run ``mode`` ("idle", "charge", "discharge") at ``factor`` now."""
        if not 0.0 <= factor <= 1.0:
            return f"factor {factor} is outside [0, 1]"
        if mode == "charge" and self.soc >= 100.0:
            return "the battery is full"
        if mode == "discharge" and self.soc <= 0.0:
            return "the battery is empty"
        return None

    def apply(self, instruction: FRBCInstruction, now: datetime) -> str | None:
        """Carry out an instruction; returns a refusal reason, or None when obeyed."""
        self.advance(now)
        names = {v: k for k, v in self.mode_ids.items()}
        mode = names.get(instruction.operation_mode)
        if instruction.actuator_id != self.actuator_id or mode is None:
            return f"{instruction.operation_mode} is not an operation mode of actuator {instruction.actuator_id}"
        reason = self.refusal(mode, instruction.operation_mode_factor)
        if reason is not None:
            return reason
        self._switch(mode, instruction.operation_mode_factor, now)
        return None

    # --- S2 messages -------------------------------------------------------------------------

    def details(self) -> ResourceManagerDetails:
        return ResourceManagerDetails(
            message_id=new_id(),
            resource_id=self.resource_id,
            name=self.params.name,
            roles=[Role(role=RoleType.ENERGY_STORAGE, commodity=Commodity.ELECTRICITY)],
            manufacturer="s2ws",
            model="simulated battery",
            instruction_processing_delay=500,
            available_control_types=[ControlType.FILL_RATE_BASED_CONTROL],
            provides_forecast=False,
            provides_power_measurement_types=[PHASE],
        )

    def _mode(self, key: str, label: str, low_w: float, high_w: float, p: BatteryParams) -> FRBCOperationMode:
        def rate(watts: float) -> float:
            return (watts * p.efficiency if watts >= 0 else watts / p.efficiency) / p.capacity_wh / 3600.0 * 100.0

        element = FRBCOperationModeElement(
            fill_level_range=NumberRange(start_of_range=0.0, end_of_range=100.0),
            fill_rate=NumberRange(start_of_range=rate(low_w), end_of_range=rate(high_w)),
            power_ranges=[PowerRange(start_of_range=low_w, end_of_range=high_w, commodity_quantity=PHASE)],
        )
        return FRBCOperationMode(
            id=self.mode_ids[key], diagnostic_label=label, elements=[element], abnormal_condition_only=False
        )

    def system_description(self, now: datetime, *, params: BatteryParams | None = None) -> FRBCSystemDescription:
        """The description valid from ``now``; ``params`` describes the battery with other
        parameters (a derated inverter) without changing the simulated one."""
        p = params or self.params
        modes = [
            self._mode("idle", "Idle", 0.0, 0.0, p),
            self._mode("charge", "Charge", 0.0, p.max_charge_w, p),
            self._mode("discharge", "Discharge", -p.max_discharge_w, 0.0, p),
        ]
        ids = [m.id for m in modes]
        transitions = [
            Transition(id=new_id(), from_=a, to=b, start_timers=[], blocking_timers=[], abnormal_condition_only=False)
            for a in ids
            for b in ids
            if a != b
        ]
        actuator = FRBCActuatorDescription(
            id=self.actuator_id,
            diagnostic_label="Inverter",
            supported_commodities=[Commodity.ELECTRICITY],
            operation_modes=modes,
            transitions=transitions,
            timers=[],
        )
        storage = FRBCStorageDescription(
            diagnostic_label="Battery",
            fill_level_label="%",
            provides_leakage_behaviour=False,
            provides_fill_level_target_profile=False,
            provides_usage_forecast=False,
            fill_level_range=NumberRange(start_of_range=0.0, end_of_range=100.0),
        )
        return FRBCSystemDescription(message_id=new_id(), valid_from=now, actuators=[actuator], storage=storage)

    def actuator_status(self) -> FRBCActuatorStatus:
        if self.previous_mode is None or self.transition_at is None:
            return FRBCActuatorStatus(
                message_id=new_id(),
                actuator_id=self.actuator_id,
                active_operation_mode_id=self.mode_ids[self.mode],
                operation_mode_factor=self.factor,
            )
        return FRBCActuatorStatus(
            message_id=new_id(),
            actuator_id=self.actuator_id,
            active_operation_mode_id=self.mode_ids[self.mode],
            operation_mode_factor=self.factor,
            previous_operation_mode_id=self.mode_ids[self.previous_mode],
            transition_timestamp=self.transition_at,
        )

    def storage_status(self) -> FRBCStorageStatus:
        return FRBCStorageStatus(message_id=new_id(), present_fill_level=round(self.soc, 6))

    def measurement(self, now: datetime) -> PowerMeasurement:
        self.advance(now)
        return PowerMeasurement(
            message_id=new_id(),
            measurement_timestamp=now,
            values=[PowerValue(commodity_quantity=PHASE, value=round(self.power_w(), 3))],
        )


class BatteryDeviceSim(StorageSim[BatteryParams]):
    """The battery as a DeviceSim: :class:`BatterySim`'s description and details, run by an
    FRBC device. A full battery stops charging and an empty one discharging on its own, and
    instructions to charge a full (discharge an empty) battery are rejected. It offers FRBC
    alone: the catalogue (S2-RMD-005) frowns on NOT_CONTROLABLE beside a controlling type."""

    control_types = (ControlType.FILL_RATE_BASED_CONTROL,)
    measured: ClassVar[tuple[CommodityQuantity, ...]] = (PHASE,)

    def __init__(
        self,
        params: BatteryParams | None = None,
        *,
        now: datetime,
        ids: IdFactory | None = None,
        interval: timedelta = timedelta(minutes=1),
    ) -> None:
        p = params or BatteryParams()
        super().__init__(p, now=now, name=p.name, ids=ids, interval=interval, level=p.initial_soc)
        battery = self.battery = BatterySim(p, now=now)
        battery.resource_id = self.resource_id
        battery.actuator_id = self.actuator_id = self.id("inverter")
        battery.mode_ids = {name: self.id(f"mode-{name}") for name in battery.mode_ids}
        self._names = {mode_id: name for name, mode_id in battery.mode_ids.items()}
        self.device = FRBCDevice(
            self.describe(p, now),
            {self.actuator_id: (battery.mode_ids["idle"], 0.0)},
            fill_level=p.initial_soc,
            accept=self._accept,
        )

    @property
    def soc(self) -> float:
        return self.level

    @property
    def mode_name(self) -> str:
        """ "idle", "charge" or "discharge"."""
        return self._names[self.mode(self.actuator_id)[0]]

    def details(self) -> ResourceManagerDetails:
        return msgspec.structs.replace(self.battery.details(), available_control_types=list(self.control_types))

    def describe(self, params: BatteryParams, valid_from: datetime) -> FRBCSystemDescription:
        return self.battery.system_description(valid_from, params=params)

    def thresholds(self) -> tuple[float, ...]:
        return (0.0, 100.0)

    def _accept(self, change: ModeChange) -> str | None:
        self.battery.soc = self.level
        return self.battery.refusal(self._names[change.mode_id], change.factor)

    def _react(self, at: datetime) -> list[S2Message]:
        self.battery.soc = self.level
        name = self.mode_name
        if (name == "charge" and self.level >= 100.0) or (name == "discharge" and self.level <= 0.0):
            return self.device.set_mode(self.actuator_id, self.battery.mode_ids["idle"], 0.0, at)
        return []
