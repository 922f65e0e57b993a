"""A diesel generator under OMBC: off, low and high output, with transitions and timers.

Production is negative power; ranges are written low..high (-3000..-2000 W: full output at
factor 0) because s2-python refuses a PowerRange whose start exceeds its end. Starting takes two
minutes (the transition's duration, delivering nothing yet) and costs wear; once running it must
run 30 minutes, once stopped it must cool down 15 minutes before it starts again. There is no
transition from high straight to off: a hot engine comes down through low. Between 22:00 and
07:00 the device refuses high output (noise). Running costs are per second in EUR.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import ClassVar

from ..control import ModeChange, OMBCDevice
from ..control.quantities import value_at
from ..messages import (
    Commodity,
    CommodityQuantity,
    ControlType,
    Currency,
    OMBCOperationMode,
    OMBCSystemDescription,
    PowerRange,
    RoleType,
    new_id,
)
from ..messages.base import UNSET, S2Message
from .base import IdFactory, OperationModeSim, number_range, timer, transition
from .daily import in_window

__all__ = ["GeneratorParams", "GeneratorSim"]

PHASE = CommodityQuantity.ELECTRIC_POWER_3_PHASE_SYMMETRIC


@dataclass(frozen=True)
class GeneratorParams:
    """A 6 kW generator: low 2-3 kW, high 4-6 kW."""

    low_w: tuple[float, float] = (2_000.0, 3_000.0)
    high_w: tuple[float, float] = (4_000.0, 6_000.0)
    low_costs: tuple[float, float] = (0.00045, 0.00055)
    """EUR per second while running low (the range is the uncertainty)."""
    high_costs: tuple[float, float] = (0.0009, 0.0011)
    start_costs: float = 0.10
    start_up: timedelta = timedelta(minutes=2)
    min_run: timedelta = timedelta(minutes=30)
    cool_down: timedelta = timedelta(minutes=15)
    quiet: tuple[time, time] = (time(22, 0), time(7, 0))
    """High output is refused in this window of the day."""
    litres_per_kwh: float = 0.3
    name: str = "Backup generator"


class GeneratorSim(OperationModeSim[OMBCSystemDescription, GeneratorParams]):
    """The generator: modes ``off``, ``low``, ``high``; timers ``min-run`` and ``cool-down``."""

    control_type: ClassVar[ControlType] = ControlType.OPERATION_MODE_BASED_CONTROL
    control_types = (ControlType.OPERATION_MODE_BASED_CONTROL,)
    roles = ((RoleType.ENERGY_PRODUCER, Commodity.ELECTRICITY),)
    measured: ClassVar[tuple[CommodityQuantity, ...]] = (PHASE,)
    model: ClassVar[str] = "simulated generator"
    currency: ClassVar[Currency | None] = Currency.EUR
    device: OMBCDevice

    def __init__(
        self,
        params: GeneratorParams | None = None,
        *,
        now: datetime,
        ids: IdFactory | None = None,
        interval: timedelta = timedelta(minutes=1),
    ) -> None:
        p = params or GeneratorParams()
        super().__init__(p, now=now, name=p.name, ids=ids, interval=interval)
        self.off_id, self.low_id, self.high_id = self.id("off"), self.id("low"), self.id("high")
        self.min_run_id, self.cool_down_id = self.id("min-run"), self.id("cool-down")
        self.produced_wh = 0.0
        self.fuel_litres = 0.0
        self.costs = 0.0
        """EUR spent: running costs (the middle of each range) and start costs."""
        self.device = OMBCDevice(self.describe(p, now), self.off_id, on_change=self._carry_out, accept=self._accept)

    def describe(self, params: GeneratorParams, valid_from: datetime) -> OMBCSystemDescription:
        p = params

        def mode(
            mode_id: str, label: str, watts: tuple[float, float], costs: tuple[float, float] | None
        ) -> OMBCOperationMode:
            return OMBCOperationMode(
                id=mode_id,
                diagnostic_label=label,
                power_ranges=[PowerRange(start_of_range=-watts[1], end_of_range=-watts[0], commodity_quantity=PHASE)],
                running_costs=UNSET if costs is None else number_range(*costs),
                abnormal_condition_only=False,
            )

        return OMBCSystemDescription(
            message_id=new_id(),
            valid_from=valid_from,
            operation_modes=[
                mode(self.off_id, "Off", (0.0, 0.0), None),
                mode(self.low_id, "Low output", p.low_w, p.low_costs),
                mode(self.high_id, "High output", p.high_w, p.high_costs),
            ],
            transitions=[
                transition(
                    self.id("start"),
                    self.off_id,
                    self.low_id,
                    start=[self.min_run_id],
                    blocking=[self.cool_down_id],
                    duration=p.start_up,
                    costs=p.start_costs,
                ),
                transition(self.id("up"), self.low_id, self.high_id),
                transition(self.id("down"), self.high_id, self.low_id),
                transition(
                    self.id("stop"), self.low_id, self.off_id, start=[self.cool_down_id], blocking=[self.min_run_id]
                ),
            ],
            timers=[
                timer(self.min_run_id, "Minimum run time", p.min_run),
                timer(self.cool_down_id, "Cool-down time", p.cool_down),
            ],
        )

    # --- behaviour -------------------------------------------------------------------------------

    def _accept(self, change: ModeChange) -> str | None:
        if change.mode_id == self.high_id and in_window(change.at, *self.params.quiet):
            start, end = self.params.quiet
            return f"high output is not allowed between {start:%H:%M} and {end:%H:%M}"
        return None

    def _carry_out(self, change: ModeChange) -> None:
        if change.transition is not None and change.transition.transition_costs is not UNSET:
            self.costs += change.transition.transition_costs

    def starting(self, at: datetime) -> bool:
        """Still inside the start-up of a transition: nothing is delivered yet."""
        status = self.device.status
        machine = self.device.machine("", at)
        return status.previous_mode_id == self.off_id and status.transitioning(machine, at)

    def active_mode(self, at: datetime) -> OMBCOperationMode:
        mode = self.device.machine("", at).mode(self.mode()[0])
        assert isinstance(mode, OMBCOperationMode)
        return mode

    def power(self, at: datetime) -> dict[CommodityQuantity, float]:
        if self.starting(at):
            return {PHASE: 0.0}
        factor = self.mode()[1]
        return {PHASE: sum(value_at(r, factor) for r in self.active_mode(at).power_ranges)}

    def _step(self, start: datetime, end: datetime) -> list[S2Message]:
        seconds = (end - start).total_seconds()
        produced = -self.power(start)[PHASE] * seconds / 3600
        self.produced_wh += produced
        self.fuel_litres += produced / 1000 * self.params.litres_per_kwh
        mode = self.active_mode(start)
        if mode.running_costs is not UNSET:
            self.costs += (mode.running_costs.start_of_range + mode.running_costs.end_of_range) / 2 * seconds
        return []
