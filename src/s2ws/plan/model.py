"""Immutable snapshots of what a control-type view knows, in the terms the optimiser uses.

:func:`~s2ws.plan.device_model` runs on the thread that owns the view and copies out everything a plan
needs (modes, transitions, timers, the state now, forecasts), so the solve can run elsewhere.
Powers are in W: the electric quantities of a range are added up (``3_PHASE_SYMMETRIC`` is the
total of the three phases); natural gas (l/s) is kept apart so the site's gas price applies.
Abnormal-condition modes and transitions are left out: a plan never needs them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from ..errors import InstructionRefused
from ..messages import (
    CommodityQuantity,
    DDBCOperationMode,
    FRBCOperationMode,
    NumberRange,
    OMBCOperationMode,
    PowerForecastValue,
    PowerRange,
)
from ..messages.base import UNSET
from ..messages.timeline import later

__all__ = [
    "ELECTRIC",
    "ActuatorModel",
    "ContainerModel",
    "DeviceModel",
    "ModeModel",
    "ModeUnit",
    "OMModel",
    "PEBCModel",
    "PPBCModel",
    "ProfileModel",
    "SequenceModel",
    "StorageModel",
    "TransitionModel",
    "electric_range",
    "electric_total",
    "gas_range",
]

ELECTRIC = frozenset(
    {
        CommodityQuantity.ELECTRIC_POWER_L1,
        CommodityQuantity.ELECTRIC_POWER_L2,
        CommodityQuantity.ELECTRIC_POWER_L3,
        CommodityQuantity.ELECTRIC_POWER_3_PHASE_SYMMETRIC,
    }
)


def electric_range(ranges: Iterable[PowerRange]) -> tuple[float, float]:
    """Total electric power (W) at factor 0 and at factor 1."""
    low = high = 0.0
    for r in ranges:
        if r.commodity_quantity in ELECTRIC:
            low += r.start_of_range
            high += r.end_of_range
    return low, high


def electric_total(values: Iterable[PowerForecastValue]) -> float:
    """Total expected electric power (W) of forecast values."""
    return sum(v.value_expected for v in values if v.commodity_quantity in ELECTRIC)


def gas_range(ranges: Iterable[PowerRange]) -> tuple[float, float]:
    """Natural gas flow (l/s) at factor 0 and at factor 1."""
    low = high = 0.0
    for r in ranges:
        if r.commodity_quantity is CommodityQuantity.NATURAL_GAS_FLOW_RATE:
            low += r.start_of_range
            high += r.end_of_range
    return low, high


@dataclass(frozen=True, slots=True)
class ModeUnit:
    """One piece of a mode that is linear in the factor: an FRBC element (valid on a fill-level
    range), or a whole OMBC/DDBC mode (``fill`` None: valid at every level)."""

    power_w: tuple[float, float]
    """Electric power at factor 0 and 1."""
    rate: tuple[float, float] = (0.0, 0.0)
    """FRBC: fill rate (units/s); DDBC: supply rate (demand units); OMBC: unused."""
    gas_l_s: tuple[float, float] = (0.0, 0.0)
    running_cost: tuple[float, float] = (0.0, 0.0)
    """Per second, at factor 0 and 1 (OMBC/DDBC running_costs)."""
    fill: tuple[float, float] | None = None


@dataclass(frozen=True, slots=True)
class ModeModel:
    id: str
    label: str
    units: tuple[ModeUnit, ...]


@dataclass(frozen=True, slots=True)
class TransitionModel:
    id: str
    source: str
    target: str
    cost: float
    start_timers: tuple[str, ...]
    blocking_timers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ActuatorModel:
    """One state machine (OMBC's under the id ""), with where it stands now."""

    id: str
    modes: tuple[ModeModel, ...]
    transitions: tuple[TransitionModel, ...]
    timers: tuple[tuple[str, float], ...]
    """(timer id, duration in seconds)."""
    mode_id: str | None
    """The mode expected now (after pending instructions); None when unknown."""
    factor: float | None
    timer_finish: tuple[tuple[str, datetime], ...] = ()
    """Timers still running now, with their finish times."""

    def mode(self, mode_id: str) -> ModeModel:
        for mode in self.modes:
            if mode.id == mode_id:
                return mode
        raise KeyError(mode_id)


@dataclass(frozen=True, slots=True)
class StorageModel:
    """The FRBC storage: its range, level now, leakage, usage and targets."""

    low: float
    high: float
    level: float
    leak: tuple[float, float] = (0.0, 0.0)
    """Leakage ``a + b * level`` (units/s), a least-squares line through the leakage elements."""
    usage: tuple[tuple[datetime, datetime, float], ...] = ()
    """(start, end, usage rate in units/s; > 0 lowers the level)."""
    targets: tuple[tuple[datetime, datetime, float, float], ...] = ()
    """(start, end, low, high): the level should lie in [low, high] during [start, end)."""
    label: str = ""

    def usage_mean(self, start: datetime, end: datetime) -> float:
        return _mean(self.usage, start, end)

    def targets_at(self, moment: datetime) -> tuple[float, float] | None:
        """The target band at a moment (the intersection if several overlap)."""
        low, high, found = -float("inf"), float("inf"), False
        for start, end, lo, hi in self.targets:
            if start <= moment < end or (moment == end and start < end):
                low, high, found = max(low, lo), min(high, hi), True
        return (low, high) if found else None


def _mean(rows: Sequence[tuple[datetime, datetime, float]], start: datetime, end: datetime) -> float:
    span = (end - start).total_seconds()
    if span <= 0:
        return 0.0
    total = 0.0
    for a, b, value in rows:
        lo, hi = max(a, start), min(b, end)
        if hi > lo:
            total += value * (hi - lo).total_seconds()
    return total / span


@dataclass(frozen=True, slots=True)
class OMModel:
    """An FRBC, OMBC or DDBC device: its state machines, and (FRBC) its storage or (DDBC) its demand."""

    resource_id: str
    kind: str
    """"FRBC", "OMBC" or "DDBC"."""
    actuators: tuple[ActuatorModel, ...]
    storage: StorageModel | None = None
    demand: tuple[tuple[datetime, datetime, float], ...] = ()
    """DDBC: (start, end, demand rate) to be supplied."""
    demand_default: float = 0.0
    """DDBC: the demand after the forecast runs out (the middle of the present demand)."""
    demand_now: float = 0.0
    """DDBC: the least the present demand may be; the first step supplies at least this."""

    def demand_mean(self, start: datetime, end: datetime) -> float:
        covered = _mean(self.demand, start, end)
        span = (end - start).total_seconds()
        if span <= 0:
            return self.demand_default
        inside = sum(max(0.0, (min(b, end) - max(a, start)).total_seconds()) for a, b, _ in self.demand)
        return covered + self.demand_default * max(0.0, span - inside) / span


@dataclass(frozen=True, slots=True)
class SequenceModel:
    """One power sequence: (duration s, electric W) elements, and when it may start."""

    id: str
    elements: tuple[tuple[float, float], ...]
    earliest: datetime
    latest: datetime
    max_pause_s: float | None

    @property
    def duration_s(self) -> float:
        return sum(d for d, _ in self.elements)

    @property
    def energy_wh(self) -> float:
        return sum(d * w for d, w in self.elements) / 3600.0


@dataclass(frozen=True, slots=True)
class ContainerModel:
    """A container still to be scheduled (``options``), or one whose sequence is fixed
    (``fixed``: its expected power as (start, end, W) rows)."""

    id: str
    options: tuple[SequenceModel, ...] = ()
    fixed: tuple[tuple[datetime, datetime, float], ...] | None = None


@dataclass(frozen=True, slots=True)
class ProfileModel:
    id: str
    start: datetime
    end: datetime
    containers: tuple[ContainerModel, ...]


@dataclass(frozen=True, slots=True)
class PPBCModel:
    resource_id: str
    profiles: tuple[ProfileModel, ...]
    kind: str = "PPBC"


@dataclass(frozen=True, slots=True)
class PEBCModel:
    """A device whose power follows its forecast inside the envelope the CEM sets."""

    resource_id: str
    quantity: CommodityQuantity
    forecast: tuple[tuple[datetime, datetime, float], ...]
    """(start, end, expected electric W; < 0 produces)."""
    lower: tuple[float, float] | None
    """The span of the allowed lower limits now (None: none allowed, nothing to curtail)."""
    upper: tuple[float, float] | None
    kind: str = "PEBC"

    def forecast_mean(self, start: datetime, end: datetime) -> float:
        return _mean(self.forecast, start, end)


DeviceModel = OMModel | PPBCModel | PEBCModel
"""Every plannable device."""


# --- extraction helpers -----------------------------------------------------------------------


def _label(value: object) -> str:
    return value if isinstance(value, str) else ""


def _running(mode: OMBCOperationMode | DDBCOperationMode) -> tuple[float, float]:
    costs = mode.running_costs
    if costs is UNSET or not isinstance(costs, NumberRange):
        return (0.0, 0.0)
    return (costs.start_of_range, costs.end_of_range)


def mode_model(mode: FRBCOperationMode | OMBCOperationMode | DDBCOperationMode) -> ModeModel:
    if isinstance(mode, FRBCOperationMode):
        units = tuple(
            ModeUnit(
                power_w=electric_range(e.power_ranges),
                rate=(e.fill_rate.start_of_range, e.fill_rate.end_of_range),
                gas_l_s=gas_range(e.power_ranges),
                fill=(e.fill_level_range.start_of_range, e.fill_level_range.end_of_range),
            )
            for e in mode.elements
        )
        return ModeModel(mode.id, _label(mode.diagnostic_label), units)
    if isinstance(mode, DDBCOperationMode):
        unit = ModeUnit(
            power_w=electric_range(mode.power_ranges),
            rate=(mode.supply_range.start_of_range, mode.supply_range.end_of_range),
            gas_l_s=gas_range(mode.power_ranges),
            running_cost=_running(mode),
        )
        return ModeModel(mode.Id, _label(mode.diagnostic_label), (unit,))
    unit = ModeUnit(
        power_w=electric_range(mode.power_ranges), gas_l_s=gas_range(mode.power_ranges), running_cost=_running(mode)
    )
    return ModeModel(mode.id, _label(mode.diagnostic_label), (unit,))


def actuator_model(view: object, actuator_id: str, now: datetime) -> ActuatorModel | None:
    """The machine of one actuator of an operation-mode view, with its expected state now."""
    try:
        machine = view.machine(actuator_id, now)  # type: ignore[attr-defined]
        expected = view.expected(actuator_id, now)  # type: ignore[attr-defined]
    except InstructionRefused:
        return None
    modes = tuple(mode_model(m) for m in machine.modes.values() if not m.abnormal_condition_only)
    kept = {m.id for m in modes}
    transitions = tuple(
        TransitionModel(
            t.id,
            t.from_,
            t.to,
            0.0 if t.transition_costs is UNSET else float(t.transition_costs),
            tuple(t.start_timers),
            tuple(t.blocking_timers),
        )
        for t in machine.transitions.values()
        if not t.abnormal_condition_only and t.from_ in kept and t.to in kept and t.from_ != t.to
    )
    timers = tuple((t.id, t.duration / 1000.0) for t in machine.timers.values())
    running = tuple(sorted((name, until) for name, until in expected.timers.items() if until > now))
    mode_id = expected.mode_id
    return ActuatorModel(
        actuator_id,
        modes,
        transitions,
        timers,
        mode_id,
        expected.factor,
        running,
    )


def leak_line(elements: Sequence[tuple[float, float, float]]) -> tuple[float, float]:
    """A least-squares line ``a + b * level`` through (low, high, rate) leakage elements, weighted
    by the width of each; one element (or equal midpoints) gives a constant."""
    if not elements:
        return (0.0, 0.0)
    weights = [max(hi - lo, 1e-9) for lo, hi, _ in elements]
    mids = [(lo + hi) / 2 for lo, hi, _ in elements]
    rates = [rate for _, _, rate in elements]
    total = sum(weights)
    mx = sum(w * x for w, x in zip(weights, mids, strict=True)) / total
    my = sum(w * y for w, y in zip(weights, rates, strict=True)) / total
    var = sum(w * (x - mx) ** 2 for w, x in zip(weights, mids, strict=True))
    if var <= 1e-12:
        return (my, 0.0)
    slope = sum(w * (x - mx) * (y - my) for w, x, y in zip(weights, mids, rates, strict=True)) / var
    return (my - slope * mx, slope)


def ms_rows(
    start: datetime, durations: Sequence[int], values: Sequence[float]
) -> tuple[tuple[datetime, datetime, float], ...]:
    out: list[tuple[datetime, datetime, float]] = []
    moment = start
    for duration, value in zip(durations, values, strict=True):
        end = later(moment, duration)
        out.append((moment, end, value))
        moment = end
    return tuple(out)
