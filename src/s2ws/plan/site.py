"""The site a plan is made for: grid connection, tariff, base load, objective, planning grid.

Everything is a plain immutable value so a planner can run in a worker thread on a snapshot.
Series are step functions: each point holds from its start until the next point's start; the
last holds as long as the one before it did and then the series' ``default`` applies (for a
price curve: its last price, so a plan never falls off the end of a tariff).
"""

from __future__ import annotations

import itertools
import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Final

__all__ = [
    "OBJECTIVE_KINDS",
    "Objective",
    "Penalties",
    "PriceCurve",
    "Series",
    "Site",
]

OBJECTIVE_KINDS: Final = ("cost", "peak", "self-consumption", "weighted")


@dataclass(frozen=True)
class Series:
    """A step function of time: ``points`` are (start, value), sorted, each lasting to the next."""

    points: tuple[tuple[datetime, float], ...] = ()
    default: float = 0.0
    """The value before the first point and after the last one has run out."""

    def __post_init__(self) -> None:
        starts = [p[0] for p in self.points]
        if any(b <= a for a, b in itertools.pairwise(starts)):
            raise ValueError("series points must have strictly increasing start times")

    @classmethod
    def constant(cls, value: float) -> Series:
        return cls((), value)

    @property
    def end(self) -> datetime | None:
        """When the last point stops holding (it lasts as long as the one before it)."""
        if not self.points:
            return None
        if len(self.points) == 1:
            return None
        last, before = self.points[-1][0], self.points[-2][0]
        return last + (last - before)

    def at(self, moment: datetime) -> float:
        if not self.points:
            return self.default
        index = bisect_right([p[0] for p in self.points], moment) - 1
        if index < 0:
            return self.default
        end = self.end
        if index == len(self.points) - 1 and end is not None and moment >= end:
            return self.default
        return self.points[index][1]

    def mean(self, start: datetime, end: datetime) -> float:
        """The time-weighted mean over [start, end)."""
        span = (end - start).total_seconds()
        if span <= 0:
            return self.at(start)
        cuts = sorted({start, end, *(p[0] for p in self.points if start < p[0] < end)})
        last_end = self.end
        if last_end is not None and start < last_end < end:
            cuts = sorted({*cuts, last_end})
        total = 0.0
        for a, b in itertools.pairwise(cuts):
            total += self.at(a) * (b - a).total_seconds()
        return total / span


@dataclass(frozen=True)
class PriceCurve:
    """Import and export prices per kWh; after the last row the last prices hold."""

    rows: tuple[tuple[datetime, float, float], ...]

    def __post_init__(self) -> None:
        if not self.rows:
            raise ValueError("a price curve needs at least one row")
        starts = [r[0] for r in self.rows]
        if any(b <= a for a, b in itertools.pairwise(starts)):
            raise ValueError("price rows must have strictly increasing start times")

    @classmethod
    def flat(cls, start: datetime, import_price: float, export_price: float = 0.0) -> PriceCurve:
        return cls(((start, import_price, export_price),))

    @property
    def import_series(self) -> Series:
        return Series(tuple((r[0], r[1]) for r in self.rows), self.rows[-1][1])

    @property
    def export_series(self) -> Series:
        return Series(tuple((r[0], r[2]) for r in self.rows), self.rows[-1][2])

    def import_at(self, moment: datetime) -> float:
        return self.import_series.at(moment)

    def export_at(self, moment: datetime) -> float:
        return self.export_series.at(moment)


@dataclass(frozen=True)
class Objective:
    """What the plan minimises.

    - ``cost``: energy cost (import minus export revenue) plus device costs;
    - ``peak``: the highest import in the horizon (kW), energy cost as a tie-break;
    - ``self-consumption``: imported energy (kWh), energy cost as a tie-break;
    - ``weighted``: ``weights["cost"]`` x cost + ``weights["peak"]`` x peak kW +
      ``weights["self-consumption"]`` x imported kWh.

    Device costs (transitions, running costs) and penalties count in every kind.
    """

    kind: str = "cost"
    weights: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if self.kind not in OBJECTIVE_KINDS:
            raise ValueError(f"objective kind {self.kind!r} is not one of {', '.join(OBJECTIVE_KINDS)}")
        for key in self.weights:
            if key not in ("cost", "peak", "self-consumption"):
                raise ValueError(f"objective weight {key!r} is not one of cost, peak, self-consumption")

    def weight(self, term: str) -> float:
        """The weight of a term (cost, peak, self-consumption) in this objective."""
        if self.kind == "weighted":
            return float(self.weights.get(term, 1.0 if term == "cost" else 0.0))
        if self.kind == term:
            return 1.0
        return 1e-3 if term == "cost" else 0.0


@dataclass(frozen=True)
class Penalties:
    """Prices of breaking a soft constraint; far above any energy price so they bind only when
    nothing else helps. A plan that pays one names it as a relaxation."""

    fill_target: float = 5.0
    """Per fill-level unit missed, per hour (a fill-level target profile)."""
    fill_range: float = 50.0
    """Per fill-level unit outside the storage's range, per hour."""
    grid_limit: float = 20.0
    """Per kWh above the import or export limit."""
    demand: float = 5.0
    """Per demand-rate unit not supplied, per hour (DDBC)."""
    ppbc_skip: float = 100.0
    """Per power sequence container that cannot be placed in the horizon."""
    curtail: float = 1e-3
    """Per kWh curtailed or held back (PEBC): only enough to curtail when nothing else is at stake."""
    switch: float = 1e-4
    """Per mode switch without transition costs: keeps plans from switching for nothing."""


@dataclass(frozen=True)
class Site:
    """The grid connection and what the plan optimises; ``None`` limits are unlimited."""

    import_limit_w: float | None = None
    export_limit_w: float | None = None
    prices: PriceCurve = field(default_factory=lambda: PriceCurve(((datetime(2000, 1, 1).astimezone(), 0.25, 0.05),)))
    base_load_w: Series = field(default_factory=lambda: Series.constant(0.0))
    objective: Objective = field(default_factory=Objective)
    capacity_price: float | None = None
    """Per kW of the highest import in the horizon."""
    horizon: timedelta = timedelta(hours=24)
    step: timedelta = timedelta(minutes=15)
    time_limit_s: float = 3.5
    """The solver's time limit per plan, for a site of up to ``time_limit_s / time_limit_per_device_s`` devices."""
    time_limit_per_device_s: float = 0.4
    """A larger site gets this much per modelled device (see :meth:`time_limit_for`); 0 turns the scaling off."""
    time_limit_cap_s: float = 45.0
    """The scaled limit stops here (a plan of 200 devices within a minute, building included)."""
    mip_gap: float = 0.001
    """Relative optimality gap at which a solve stops (or ``mip_abs_gap``, whichever comes first)."""
    mip_abs_gap: float = 0.01
    """Absolute gap in the objective's money (a cent by default)."""
    decompose: bool = True
    """Start from a device-by-device pass (see :meth:`~s2ws.plan.Planner.plan`)."""
    gas_price: float = 0.0
    """Per m³ of natural gas (l/s flows of hybrid appliances)."""
    penalties: Penalties = field(default_factory=Penalties)

    def __post_init__(self) -> None:
        if self.step <= timedelta(0):
            raise ValueError("plan step must be positive")
        if self.horizon < self.step:
            raise ValueError("plan horizon must be at least one step")
        for name in ("import_limit_w", "export_limit_w"):
            value = getattr(self, name)
            if value is not None and (value < 0 or not math.isfinite(value)):
                raise ValueError(f"{name} must be a finite number >= 0")
        if self.time_limit_s <= 0:
            raise ValueError("time_limit_s must be positive")
        if self.time_limit_per_device_s < 0 or self.time_limit_cap_s <= 0:
            raise ValueError("time_limit_per_device_s must be >= 0 and time_limit_cap_s positive")

    def time_limit_for(self, devices: int) -> float:
        """The time limit of a plan over ``devices`` modelled devices.

        A device needs 0.1-0.3 s of HiGHS for a first good plan of its own, so a fixed limit that
        suits a home leaves most of a fleet holding its modes. The limit is therefore
        ``max(time_limit_s, min(devices * time_limit_per_device_s, time_limit_cap_s))``: the home's
        limit up to 8 devices, 20 s for 50, 45 s for 200 and more. A plan that finishes early
        stops early; the limit only bounds the worst case.
        """
        scaled = min(devices * self.time_limit_per_device_s, self.time_limit_cap_s)
        return max(self.time_limit_s, scaled)

    def grid(self, now: datetime) -> tuple[tuple[datetime, ...], tuple[float, ...]]:
        """Step starts and step lengths (s) from ``now``: a first partial step up to the next
        multiple of ``step`` (merged into the next when shorter than a third of a step), then
        whole steps aligned to the clock, ending at the last boundary within the horizon."""
        step_s = self.step.total_seconds()
        epoch = now.timestamp()
        boundary = math.ceil(epoch / step_s - 1e-9) * step_s
        first = boundary - epoch
        if first < step_s / 3:
            boundary += step_s
        end = epoch + self.horizon.total_seconds()
        edges = [epoch]
        moment = boundary
        while moment <= end + 1e-6:
            edges.append(moment)
            moment += step_s
        if len(edges) == 1:
            edges.append(end)
        starts = tuple(now + timedelta(seconds=e - epoch) for e in edges[:-1])
        lengths = tuple(b - a for a, b in itertools.pairwise(edges))
        return starts, lengths


def series_from(rows: Sequence[tuple[datetime, float]], default: float | None = None) -> Series:
    """A series from (start, value) rows; the default is the last value."""
    points = tuple(rows)
    return Series(points, points[-1][1] if default is None and points else (default or 0.0))
