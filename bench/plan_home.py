"""The reference home of the planning benchmark: seven simulated devices, a base load, a dynamic tariff.

A simulated day runs from 18:00 to 18:00 the next day: the car has just come home and wants 80 % by
07:30, the washer has just been loaded and must be done by 10:00 the next morning, and the day-ahead
prices (published at 13:00) already cover the whole window. So at the first moment everything a
perfect-foresight planner needs is known, and a car plugged in at the end of the window does not put
its charge (or its saving) outside the window.

Three seasons change the sun, the outdoor temperature (the hybrid heat pump's heat demand), the base
load and the shape of the day-ahead price; everything is deterministic except the forecast noise,
which is seeded.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Final

from s2ws.messages import ControlType
from s2ws.sim import (
    BatteryDeviceSim,
    BatteryParams,
    DeviceSim,
    EVParams,
    EVSim,
    GeneratorParams,
    GeneratorSim,
    HeatPumpParams,
    HeatPumpSim,
    HybridHeatPumpParams,
    HybridHeatPumpSim,
    PVDeviceSim,
    PVParams,
    WasherParams,
    WasherSim,
)
from s2ws.sim.daily import hour_of

__all__ = [
    "DAY",
    "GAS_EUR_PER_LITRE",
    "KINDS",
    "SEASONS",
    "STEP",
    "Device",
    "Season",
    "Tariff",
    "base_load_w",
    "fleet",
    "home",
    "tariff",
]

DAY: Final = timedelta(days=1)
STEP: Final = timedelta(minutes=15)
"""The planning step and the tariff's resolution."""
GAS_EUR_PER_LITRE: Final = 0.0013
"""Natural gas at 1.30 EUR per m³ (the hybrid heat pump reports litres)."""

FRBC = ControlType.FILL_RATE_BASED_CONTROL
PEBC = ControlType.POWER_ENVELOPE_BASED_CONTROL
PPBC = ControlType.POWER_PROFILE_BASED_CONTROL
DDBC = ControlType.DEMAND_DRIVEN_BASED_CONTROL
OMBC = ControlType.OPERATION_MODE_BASED_CONTROL

KINDS: Final = ("battery", "ev", "heatpump", "pv", "washer", "hybrid-heatpump", "generator")
"""The seven device kinds, in the order the home lists them."""


@dataclass(frozen=True)
class Season:
    """One simulated day: its date (the window starts at 18:00 on it) and what the weather and market do."""

    name: str
    date: datetime
    pv_peak_w: float
    sunrise_h: float
    sunset_h: float
    outdoor_mean_c: float
    outdoor_swing_c: float
    base_w: float
    """The night-time floor of the base load; mornings and evenings add to it."""
    spot: tuple[float, ...]
    """Day-ahead price per hour of the day 00..23, EUR/kWh."""


def _spot(night: float, morning: float, midday: float, evening: float, spike: float = 0.0) -> tuple[float, ...]:
    """A day-ahead curve: cheap nights, a morning ramp, a solar dip at midday, an evening peak."""
    out: list[float] = []
    for h in range(24):
        if h < 6:
            price = night
        elif h < 9:
            price = morning
        elif h < 16:
            price = midday + (morning - midday) * abs(h - 12.5) / 4
        elif h < 22:
            price = evening + (spike if h == 18 else 0.0)
        else:
            price = (evening + night) / 2
        out.append(round(price, 4))
    return tuple(out)


SEASONS: Final = (
    Season(
        "winter",
        datetime(2026, 1, 14, tzinfo=UTC),
        pv_peak_w=1_800.0,
        sunrise_h=8.5,
        sunset_h=16.5,
        outdoor_mean_c=1.0,
        outdoor_swing_c=4.0,
        base_w=350.0,
        spot=_spot(0.09, 0.18, 0.14, 0.26, spike=0.40),
    ),
    Season(
        "spring",
        datetime(2026, 4, 15, tzinfo=UTC),
        pv_peak_w=3_400.0,
        sunrise_h=6.0,
        sunset_h=19.5,
        outdoor_mean_c=10.0,
        outdoor_swing_c=6.0,
        base_w=300.0,
        spot=_spot(0.07, 0.14, 0.02, 0.20),
    ),
    Season(
        "summer",
        datetime(2026, 7, 15, tzinfo=UTC),
        pv_peak_w=4_000.0,
        sunrise_h=5.0,
        sunset_h=21.0,
        outdoor_mean_c=19.0,
        outdoor_swing_c=6.0,
        base_w=280.0,
        spot=_spot(0.08, 0.12, -0.04, 0.17),
    ),
)
"""At least three simulated days of different seasons (the issue's minimum)."""


@dataclass(frozen=True)
class Tariff:
    """Import and export prices per quarter hour from ``start``, EUR/kWh (export: what a kWh sold earns)."""

    start: datetime
    import_eur: tuple[float, ...]
    export_eur: tuple[float, ...]

    def rows(self) -> list[tuple[datetime, float, float]]:
        """(start, import, export) per quarter hour: the ``[prices] csv`` layout."""
        return [
            (self.start + i * STEP, imp, exp)
            for i, (imp, exp) in enumerate(zip(self.import_eur, self.export_eur, strict=True))
        ]

    def index(self, at: datetime) -> int:
        return min(max(int((at - self.start) / STEP), 0), len(self.import_eur) - 1)

    def import_at(self, at: datetime) -> float:
        return self.import_eur[self.index(at)]

    def export_at(self, at: datetime) -> float:
        return self.export_eur[self.index(at)]

    @property
    def mean_import(self) -> float:
        return sum(self.import_eur) / len(self.import_eur)


def tariff(season: Season, start: datetime, length: timedelta = 2 * DAY) -> Tariff:
    """A dynamic contract: import = spot + 0.12 EUR/kWh of taxes and fees; export earns the spot price
    (negative at a sunny summer noon, so that curtailing pays)."""
    imports: list[float] = []
    exports: list[float] = []
    for i in range(int(length / STEP)):
        spot = season.spot[(start + i * STEP).hour]
        imports.append(round(spot + 0.12, 4))
        exports.append(spot)
    return Tariff(start, tuple(imports), tuple(exports))


def base_load_w(season: Season, at: datetime) -> float:
    """What the rest of the house draws: a floor, a breakfast bump and an evening hump (cooking, TV)."""
    h = hour_of(at)
    morning = 600.0 * math.exp(-(((h - 7.5) / 1.0) ** 2))
    evening = 900.0 * math.exp(-(((h - 19.0) / 1.8) ** 2))
    return season.base_w + morning + evening


@dataclass
class Device:
    """One simulator of the home and the control type the CEM selects for it."""

    kind: str
    sim: DeviceSim
    control_type: ControlType
    name: str = field(default="")

    def __post_init__(self) -> None:
        self.name = self.name or self.kind


def _sim(kind: str, season: Season, start: datetime, interval: timedelta, rng: random.Random | None) -> Device:
    """A simulator of ``kind`` for ``season`` starting at ``start``; ``rng`` varies it for a fleet."""

    def vary(value: float, spread: float = 0.2) -> float:
        return value if rng is None else value * rng.uniform(1 - spread, 1 + spread)

    if kind == "battery":
        battery = BatteryParams(capacity_wh=vary(10_000.0), initial_soc=50.0)
        return Device(kind, BatteryDeviceSim(battery, now=start, interval=interval), FRBC)
    if kind == "ev":
        ev = EVParams(initial_soc=40.0, arrival_soc=40.0, capacity_wh=vary(60_000.0))
        return Device(kind, EVSim(ev, now=start, interval=interval), FRBC)
    if kind == "heatpump":
        return Device(kind, HeatPumpSim(HeatPumpParams(), now=start, interval=interval), FRBC)
    if kind == "pv":
        pv = PVParams(peak_w=vary(season.pv_peak_w), sunrise_h=season.sunrise_h, sunset_h=season.sunset_h)
        return Device(kind, PVDeviceSim(pv, now=start, interval=interval), PEBC)
    if kind == "washer":
        return Device(
            kind, WasherSim(WasherParams(ready_within=timedelta(hours=16)), now=start, interval=interval), PPBC
        )
    if kind == "hybrid-heatpump":
        hybrid = HybridHeatPumpParams(
            loss_w_per_k=vary(300.0), outdoor_mean_c=season.outdoor_mean_c, outdoor_swing_c=season.outdoor_swing_c
        )
        return Device(kind, HybridHeatPumpSim(hybrid, now=start, interval=interval), DDBC)
    if kind == "generator":
        return Device(kind, GeneratorSim(GeneratorParams(), now=start, interval=interval), OMBC)
    raise ValueError(f"unknown device kind {kind!r}; the kinds are {', '.join(KINDS)}")


def home(
    season: Season, *, kinds: Sequence[str] = KINDS, interval: timedelta = timedelta(minutes=5)
) -> tuple[datetime, list[Device]]:
    """The reference home for ``season``: the window's start (18:00) and one device of each kind."""
    start = datetime.combine(season.date.date(), time(18), tzinfo=UTC)
    return start, [_sim(kind, season, start, interval, None) for kind in kinds]


def fleet(count: int, season: Season, *, seed: int = 1) -> tuple[datetime, list[Device]]:
    """``count`` devices of the seven kinds in turn, each a little different (seeded), for replan timing."""
    rng = random.Random(seed)
    start = datetime.combine(season.date.date(), time(18), tzinfo=UTC)
    out: list[Device] = []
    for i in range(count):
        device = _sim(KINDS[i % len(KINDS)], season, start, timedelta(minutes=5), rng)
        device.name = f"{device.kind}-{i}"
        out.append(device)
    return start, out
