"""FRBC storage physics shared by the battery, the EV and the heat pump.

The fill level follows exactly the equation a CEM is asked to simulate (protocol §4.4):
d(level)/dt = Σ fill_rate(active mode, factor, level) − leakage(level) − usage(t), read from
the description in force, so the simulator cannot disagree with what it published. Subclasses
add the leakage and usage they describe, and what the device does on its own at the edges of
its storage (a full battery stops, a thermostat switches on).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar, TypeVar

from ..control import FRBCDevice
from ..control.operation_modes import element_for
from ..control.quantities import value_at
from ..errors import InstructionRefused
from ..messages import (
    CommodityQuantity,
    ControlType,
    FRBCOperationMode,
    FRBCOperationModeElement,
    FRBCSystemDescription,
)
from ..messages.base import S2Message
from .base import IdFactory, OperationModeSim

__all__ = ["StorageSim"]

P = TypeVar("P")
_EPS = timedelta(milliseconds=1)
_SECOND = timedelta(seconds=1)
_TINY = 1e-9


class StorageSim(OperationModeSim[FRBCSystemDescription, P]):
    """An FRBC device: a storage with a fill level and actuators that move it."""

    control_type: ClassVar[ControlType] = ControlType.FILL_RATE_BASED_CONTROL
    device: FRBCDevice
    digits: ClassVar[int] = 4
    """Reported fill levels are rounded to this many decimals."""
    report_delta: ClassVar[float] = 0.02
    """A change of this fraction of the storage's range is reported at once (a StorageStatus),
    not only with the next periodic measurement."""

    def __init__(
        self, params: P, *, now: datetime, name: str, ids: IdFactory | None, interval: timedelta, level: float
    ) -> None:
        super().__init__(params, now=now, name=name, ids=ids, interval=interval)
        self.level = level
        """The fill level now (SoC in %, tank temperature in °C)."""
        self._reported: float | None = None

    # --- physics -----------------------------------------------------------------------------------

    def leakage(self, level: float) -> float:
        """Leakage rate at ``level`` (>0 lowers it), per second."""
        return 0.0

    def usage(self, at: datetime) -> float:
        """The real usage rate at ``at`` (>0 lowers the level), per second."""
        return 0.0

    def _elements(self, at: datetime) -> list[tuple[FRBCOperationModeElement, float]]:
        """(element for the present level, factor) of every actuator's active mode."""
        machines = self.device.descriptions.machines_at(at)
        if machines is None:
            return []
        out: list[tuple[FRBCOperationModeElement, float]] = []
        for actuator_id, status in self.device.statuses.items():
            machine = machines.get(actuator_id)
            mode = None if machine is None else machine.modes.get(status.mode_id)
            if not isinstance(mode, FRBCOperationMode):
                continue
            try:
                out.append((element_for(mode, self.level), status.factor))
            except InstructionRefused:
                continue  # no element for this level: the mode does nothing here
        return out

    def fill_rate(self, at: datetime) -> float:
        """What the actuators add per second now, by the description in force."""
        return sum(value_at(element.fill_rate, factor) for element, factor in self._elements(at))

    def net_rate(self, at: datetime) -> float:
        return self.fill_rate(at) - self.leakage(self.level) - self.usage(at)

    def power(self, at: datetime) -> dict[CommodityQuantity, float]:
        totals = dict.fromkeys(self.measured, 0.0)
        for element, factor in self._elements(at):
            for power_range in element.power_ranges:
                cq = power_range.commodity_quantity
                totals[cq] = totals.get(cq, 0.0) + value_at(power_range, factor)
        return totals

    def bounds(self, at: datetime) -> tuple[float, float]:
        """The storage's fill-level range: the level never leaves it."""
        description = self.device.descriptions.at(at) or self.device.description()
        assert description is not None
        level = description.storage.fill_level_range
        return level.start_of_range, level.end_of_range

    def _step(self, start: datetime, end: datetime) -> list[S2Message]:
        low, high = self.bounds(start)
        level = self.level + self.net_rate(start) * (end - start).total_seconds()
        self.level = min(max(level, low), high)
        self.device.fill_level = round(self.level, self.digits)
        out = self._react(end)
        if self._reported is not None and abs(self.level - self._reported) >= self._delta(end) - _TINY:
            out.extend(self._report_level(end))
        return out

    def _delta(self, at: datetime) -> float:
        low, high = self.bounds(at)
        return (high - low) * self.report_delta

    def thresholds(self) -> tuple[float, ...]:
        """Fill levels at which the device acts on its own (its bounds, a thermostat's switch points)."""
        return ()

    def _physics_wakeup(self) -> datetime | None:
        levels = list(self.thresholds())
        if self._reported is not None:
            delta = self._delta(self.time)
            levels += [self._reported - delta, self._reported + delta]
        waits = [t for level in levels if (t := self.time_to(level, self.time)) is not None and t > _EPS]
        return None if not waits else self.time + max(min(waits), _SECOND)

    def _react(self, at: datetime) -> list[S2Message]:
        """What the device does on its own at ``at`` (stop when full, ...): the statuses to send."""
        return []

    def time_to(self, level: float, at: datetime) -> timedelta | None:
        """How long until the fill level reaches ``level`` at the present net rate (None: never)."""
        rate = self.net_rate(at)
        gap = level - self.level
        if rate == 0.0 or gap * rate < 0:
            return None if gap else timedelta(0)
        seconds = gap / rate
        return None if seconds > 1e9 else timedelta(seconds=seconds)  # a trickle never gets there

    # --- reporting ---------------------------------------------------------------------------------

    def _select(self, control_type: ControlType, now: datetime) -> list[S2Message]:
        out = super()._select(control_type, now)
        self._reported = self.device.fill_level if self.device.active else None  # activation sent it
        return out

    def _report(self, now: datetime) -> list[S2Message]:
        return self._report_level(now)

    def _report_level(self, now: datetime) -> list[S2Message]:
        level = round(self.level, self.digits)
        if not self.device.active or level == self._reported:
            return []
        self._reported = level
        return self.device.set_fill_level(level, now)
