"""The planner: one MILP per (re)plan over the site and its devices, and the plan it yields.

:meth:`Planner.plan` is pure apart from remembering the last solution for a warm start (under a
lock, so the CEM may run it in a worker thread). :meth:`Plan.instructions` turns the near term
of a plan into S2 instructions built through the device's view, so the view's preflight and the
rule catalogue judge each one before it exists, and the view counts it as pending.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import MappingProxyType

from ..errors import InstructionRefused, ResolutionError
from ..messages import CommodityQuantity
from ..messages.base import S2Message
from .milp import Grid, Handles, OMHandles, build
from .milp_envelopes import PEBCHandles
from .milp_profiles import PPBCHandles
from .model import ActuatorModel, DeviceModel, ModeUnit, OMModel, PPBCModel
from .site import Site

__all__ = ["DevicePlan", "ModeStep", "Plan", "Planner", "Relaxation", "SequenceStart"]

_TOL = 1e-6
_WHOLE_MODEL_INTEGERS = 4000
_FOLLOW_LAST_PLAN_UP_TO = 8
"""Sites of at most this many devices start each device of the pass from the last plan, larger
ones from holding the present modes. The last plan is the better start when there is time to
complete it (a home on its winter day: 99.6 % of the oracle's saving against 96.0 %); a fleet's
device has a fraction of a second, in which HiGHS often completed the last plan on the shifted
horizon too late and found nothing (50 devices: 13 held with it, none with the hold)."""
"""Above this many integer columns (the devices' own), the whole model is not tried after the pass: HiGHS
spends its time limit (and more) before finding anything better than the pass (50 fleet devices: 14 000)."""


@dataclass(frozen=True)
class Relaxation:
    """A soft constraint the plan could not (or found it too costly to) keep."""

    device: str | None
    """The resource id; None for the site."""
    constraint: str
    amount: float
    """The largest shortfall or excess over the steps concerned."""
    unit: str
    reason: str


@dataclass(frozen=True)
class ModeStep:
    """What one actuator does during one step."""

    mode_id: str
    factor: float


@dataclass(frozen=True)
class SequenceStart:
    """A PPBC sequence the plan starts."""

    profile_id: str
    container_id: str
    sequence_id: str
    start: datetime


@dataclass(frozen=True)
class DevicePlan:
    power_w: tuple[float, ...]
    """Planned electric power per step (W, > 0 consumes)."""
    modes: Mapping[str, tuple[ModeStep, ...]] | None = None
    """Actuator id ("" for OMBC) -> mode and factor per step (operation-mode devices)."""
    fill_level: tuple[float, ...] | None = None
    """FRBC: the level at the start of every step, and at the end of the horizon (steps + 1 values)."""
    rates: Mapping[str, tuple[float, ...]] | None = None
    """Operation-mode devices: the fill rate (FRBC) or supply (DDBC) each actuator gives per step."""
    rates_now: Mapping[str, float] | None = None
    """Operation-mode devices: the rate each actuator gives when the plan is made (before step 0)."""
    sequences: tuple[SequenceStart, ...] | None = None
    """PPBC: the sequences this plan starts, in order."""
    forecast_w: tuple[float, ...] | None = None
    """PEBC: the forecast power per step; where ``power_w`` differs the plan narrows the envelope."""
    quantity: CommodityQuantity | None = None
    """PEBC: the commodity quantity its envelopes are for."""

    def mode(self, actuator_id: str, step: int) -> ModeStep | None:
        if self.modes is None or actuator_id not in self.modes:
            return None
        return self.modes[actuator_id][step]


@dataclass(frozen=True)
class Plan:
    now: datetime
    steps: tuple[datetime, ...]
    """Start of every step; the first is ``now``, the others lie on multiples of the site's step."""
    step_seconds: tuple[float, ...]
    status: str
    """"optimal", "time_limit" (best found when time ran out), "no_solution" (devices hold their state)."""
    objective_value: float
    solve_seconds: float
    relaxations: tuple[Relaxation, ...]
    devices: Mapping[str, DevicePlan]
    site_import_w: tuple[float, ...]
    """Planned net import per step (negative: export)."""
    stats: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    """Model size: columns, rows, integers."""

    def step_index(self, moment: datetime) -> int | None:
        """The step that holds ``moment`` (None outside the horizon)."""
        for t in range(len(self.steps) - 1, -1, -1):
            if self.steps[t] <= moment:
                end = self.steps[t].timestamp() + self.step_seconds[t]
                return t if moment.timestamp() < end else None
        return None

    def instructions(self, resource_id: str, view: object, now: datetime, until: datetime) -> list[S2Message]:
        """The instructions that carry out this plan in [now, until), built through ``view``.

        One instruction per change of mode or factor, at the start of its step (the first at
        ``now``). Each is checked by the view before it exists; the first refusal for an actuator
        ends that actuator's list (what follows assumed it). Pending instructions the view still
        holds for later moments are the caller's to revoke before asking for new ones.
        """
        device = self.devices.get(resource_id)
        if device is None:
            return []
        if device.sequences is not None:
            return _schedule(device.sequences, view, now, until)
        if device.forecast_w is not None:
            return _envelopes(self, device, view, now, until)
        if device.modes is None:
            return []
        out: list[S2Message] = []
        stopped: set[str] = set()
        modes = device.modes
        rates = device.rates or {}
        rates_now = device.rates_now or {}

        def rising(actuator_id: str, t: int) -> float:
            """How much this actuator's rate rises at step t: rises go first, so a device that
            checks the sum of its actuators (a hybrid heat pump: the boiler on before the heat
            pump goes off) never sees a moment with too little."""
            rate = rates.get(actuator_id)
            if rate is None:
                return 0.0
            return rate[t] - (rate[t - 1] if t > 0 else rates_now.get(actuator_id, 0.0))

        for t, moment in enumerate(self.steps):
            if moment >= until or (t + 1 < len(self.steps) and self.steps[t + 1] <= now):
                continue
            start = max(moment, now)
            for actuator_id in sorted(modes, key=lambda a: -rising(a, t)):
                if actuator_id in stopped:
                    continue
                step = modes[actuator_id][t]
                try:
                    expected = view.expected(actuator_id, start)  # type: ignore[attr-defined]
                except InstructionRefused:
                    stopped.add(actuator_id)
                    continue
                if (
                    expected.mode_id == step.mode_id
                    and expected.factor is not None
                    and abs(expected.factor - step.factor) < 1e-4
                ):
                    continue
                level = None if device.fill_level is None or t == 0 else device.fill_level[t]
                try:
                    out.append(_instruct(view, actuator_id, step, start, now, level))
                except (InstructionRefused, ResolutionError):
                    stopped.add(actuator_id)
        return out


def _schedule(sequences: Sequence[SequenceStart], view: object, now: datetime, until: datetime) -> list[S2Message]:
    from ..control import PPBCView

    if not isinstance(view, PPBCView):
        return []
    out: list[S2Message] = []
    blocked: set[str] = set()
    for item in sequences:
        if item.start >= until or item.profile_id in blocked:
            continue
        try:
            out.append(view.schedule(item.profile_id, item.container_id, item.sequence_id, max(item.start, now), now))
        except InstructionRefused:
            blocked.add(item.profile_id)
    return out


def _envelopes(plan: Plan, device: DevicePlan, view: object, now: datetime, until: datetime) -> list[S2Message]:
    """One PEBC instruction per run of steps in which the plan narrows the envelope."""
    from ..control import EnvelopeStep, PEBCView

    if not isinstance(view, PEBCView) or device.forecast_w is None or device.quantity is None:
        return []
    quantity = device.quantity
    out: list[S2Message] = []
    run: list[EnvelopeStep] = []
    run_start: datetime | None = None

    def flush() -> None:
        nonlocal run, run_start
        if run and run_start is not None:
            with contextlib.suppress(InstructionRefused):
                out.append(view.instruct({quantity: run}, run_start, now))
        run, run_start = [], None

    for t, start in enumerate(plan.steps):
        end = start + timedelta(seconds=plan.step_seconds[t])
        if end <= now or start >= until:
            continue
        begin = max(start, now)
        planned, forecast = device.power_w[t], device.forecast_w[t]
        allowed = view.allowed_limits(quantity, begin)
        if abs(planned - forecast) < 1.0 or allowed is None or not allowed.upper or not allowed.lower:
            flush()
            continue
        lower: float | None
        upper: float | None
        if forecast <= 0:
            lower, upper = allowed.tightest_lower(planned), allowed.upper[-1][1]
        else:
            lower, upper = allowed.lower[0][0], allowed.tightest_upper(planned)
        if lower is None or upper is None or lower > upper:
            flush()
            continue
        if run_start is None:
            run_start = begin
        run.append(EnvelopeStep(end - begin, lower, upper))
    flush()
    return out


def _instruct(
    view: object, actuator_id: str, step: ModeStep, at: datetime, now: datetime, level: float | None
) -> S2Message:
    from ..control import DDBCView, FRBCView, OMBCView

    if isinstance(view, FRBCView):
        return view.instruct(actuator_id, step.mode_id, step.factor, at, now, fill_level=level)
    if isinstance(view, OMBCView):
        return view.instruct(step.mode_id, step.factor, at, now)
    if isinstance(view, DDBCView):
        return view.instruct(actuator_id, step.mode_id, step.factor, at, now)
    raise InstructionRefused("", "", f"no instructions for a {type(view).__name__}")


class Planner:
    """Plans a site's devices; keeps the previous solution to warm-start the next solve."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self._lock = threading.Lock()
        self._last: dict[Hashable, float] = {}

    def grid(self, now: datetime) -> Grid:
        site = self.site
        starts, lengths = site.grid(now)
        from datetime import timedelta

        ends = [s + timedelta(seconds=d) for s, d in zip(starts, lengths, strict=True)]
        imports = site.prices.import_series
        exports = site.prices.export_series
        return Grid(
            starts,
            lengths,
            tuple(imports.mean(s, e) for s, e in zip(starts, ends, strict=True)),
            tuple(exports.mean(s, e) for s, e in zip(starts, ends, strict=True)),
            tuple(site.base_load_w.mean(s, e) for s, e in zip(starts, ends, strict=True)),
        )

    def plan(self, devices: Sequence[DeviceModel], now: datetime) -> Plan:
        """Solve the site's MILP for ``devices`` from ``now``, warm-started from the last plan.

        With several devices, a device-by-device pass comes first (each device planned against
        the site with the ones before it as a fixed load, warm-started from the last plan): a
        complete plan on its own, found in a fraction of the time, which the whole model then
        improves with the time left. A device the pass cannot solve in its share holds its
        present modes, so the pass always yields a plan. The whole model runs only when the time
        left is enough to build and solve it; whatever it has not improved on by its time limit,
        the pass's plan stands: a large fleet or a loaded machine costs quality, never a plan.
        """
        began = time.perf_counter()
        site = self.site
        grid = self.grid(now)
        with self._lock:
            start = dict(self._last)
        if len(devices) > 1 and site.decompose:
            return self._decomposed(grid, devices, start, began, now)
        lp, handles = build(site, grid, devices)
        stats = MappingProxyType({"columns": lp.num_cols, "rows": lp.num_rows, "integers": lp.num_integer})
        solution = lp.solve(
            time_limit=max(site.time_limit_s - (time.perf_counter() - began), 0.25 * site.time_limit_s),
            gap=site.mip_gap,
            abs_gap=site.mip_abs_gap,
            start=start,
            options={"mip_heuristic_effort": 0.2},
        )
        seconds = time.perf_counter() - began
        if not solution.values:
            return _hold(now, grid, devices, seconds, stats)
        self._remember(lp.names, solution.values)
        return _read(
            now,
            grid,
            handles,
            solution.values,
            solution.status,
            solution.objective,
            seconds,
            stats,
            site.penalties.fill_target,
        )

    def _remember(self, names: Sequence[Hashable], values: Sequence[float]) -> None:
        with self._lock:
            self._last = {n: v for n, v in zip(names, values, strict=True) if isinstance(n, tuple)}

    def _decomposed(
        self, grid: Grid, devices: Sequence[DeviceModel], start: dict[Hashable, float], began: float, now: datetime
    ) -> Plan:
        site = self.site
        limit = site.time_limit_for(len(devices))
        follow = start if len(devices) <= _FOLLOW_LAST_PLAN_UP_TO else None
        passed = self._pass(grid, devices, began, limit, follow)
        values = passed.values
        left = limit - (time.perf_counter() - began)
        # Building the whole model costs about what building every device alone did; it is worth
        # it only with a quarter of the time limit left to solve it after that.
        if passed.whole and left - passed.build_seconds >= 0.25 * limit:
            lp, handles = build(site, grid, devices)
            stats = MappingProxyType({"columns": lp.num_cols, "rows": lp.num_rows, "integers": lp.num_integer})
            if all(n in values for n in lp.names):
                seed = tuple(values[n] for n in lp.names)
                seed_objective = sum(c * v for c, v in zip(lp.cost, seed, strict=True)) + lp.offset
                merged = dict(start)
                merged.update(values)
                solution = lp.solve(
                    time_limit=max(limit - (time.perf_counter() - began), 0.1 * limit),
                    gap=site.mip_gap,
                    abs_gap=site.mip_abs_gap,
                    start=merged,
                    options={"mip_heuristic_effort": 0.2},
                )
                best, status, objective = seed, "decomposed", seed_objective
                if solution.values and solution.objective <= seed_objective + 1e-9:
                    best, status, objective = solution.values, solution.status, solution.objective
                seconds = time.perf_counter() - began
                self._remember(lp.names, best)
                return _read(now, grid, handles, best, status, objective, seconds, stats, site.penalties.fill_target)
        seconds = time.perf_counter() - began
        self._remember(list(values), list(values.values()))
        return passed.plan(now, grid, seconds, site)

    def _pass(
        self,
        grid: Grid,
        devices: Sequence[DeviceModel],
        began: float,
        limit: float,
        follow: Mapping[Hashable, float] | None = None,
    ) -> _Pass:
        """Plan each device alone against the site plus the planned power of the others.

        Each device gets an equal share of the time left, so a device solved early leaves more
        to the ones after it. A device with no solution in its share (or none left) holds its
        present modes. When the whole model is too large to follow, or a device is held, a
        second round gives the held devices what is left of most of the time limit.
        """
        site = self.site
        out = _Pass(grid)
        power: dict[str, tuple[float, ...]] = {}
        objective: dict[str, float] = {}
        relaxed: dict[str, tuple[Relaxation, ...]] = {}
        integers = 0

        def solve(device: DeviceModel, share: float) -> bool:
            nonlocal integers
            rid = device.resource_id
            others = [sum(p[t] for r, p in power.items() if r != rid) for t in range(grid.size)]
            built = time.perf_counter()
            sub_grid = replace(grid, base=tuple(b + f for b, f in zip(grid.base, others, strict=True)))
            lp, handles = build(site, sub_grid, [device])
            out.build_seconds += time.perf_counter() - built
            integers += lp.num_integer
            # ``follow``: the last plan (small sites), else holding (see _FOLLOW_LAST_PLAN_UP_TO)
            seed = follow if follow and any(n in follow for n in lp.names) else _hold_start(device, lp.names)
            solution = lp.solve(time_limit=share, gap=0.01, abs_gap=0.05, start=seed)
            if not solution.values:
                return False
            out.values.update(zip(lp.names, solution.values, strict=True))
            sub = _read(grid.starts[0], sub_grid, handles, solution.values, solution.status, 0.0, 0.0, {}, 0.0)
            out.devices[rid] = sub.devices[rid]
            power[rid] = sub.devices[rid].power_w
            relaxed[rid] = tuple(
                r for r in _relaxations(handles, solution.values, site.penalties.fill_target) if r.device is not None
            )
            objective[rid] = solution.objective - _site_cost(site, sub_grid, handles, solution.values)
            return True

        held: list[DeviceModel] = []
        deadline = began + 0.6 * limit
        for i, device in enumerate(devices):
            share = (deadline - time.perf_counter()) / (len(devices) - i)
            if share > 0.02 and solve(device, share):
                continue
            held.append(device)
            out.devices[device.resource_id] = _hold_device(device, grid)
            power[device.resource_id] = out.devices[device.resource_id].power_w
        out.whole = not held and integers <= _WHOLE_MODEL_INTEGERS
        if not out.whole:
            deadline = began + 0.9 * limit
            retry, held = held, []
            for i, device in enumerate(retry):
                share = (deadline - time.perf_counter()) / (len(retry) - i)
                if share <= 0.02 or not solve(device, share):
                    held.append(device)
        out.held = [d.resource_id for d in held]
        out.relaxations = tuple(r for d in devices for r in relaxed.get(d.resource_id, ()))
        out.device_objective = sum(objective.values())
        out.fixed = [sum(p[t] for p in power.values()) for t in range(grid.size)]
        return out


def _hold_start(device: DeviceModel, names: Sequence[Hashable]) -> dict[Hashable, float]:
    """A partial start that holds every actuator in its present mode (the other modes' units off,
    no transition) or leaves every PPBC container for later. HiGHS completes it (the element of
    the held mode, the factor, the levels), so a device alone mostly has a plan at least as good
    as holding as soon as its solve begins."""
    if isinstance(device, PPBCModel):  # every container left for later: no start column chosen
        return {
            n: (1.0 if n[1] == "skip" else 0.0) for n in names if isinstance(n, tuple) and n[1] in ("start", "skip")
        }
    if not isinstance(device, OMModel):
        return {}
    held = {a.id: a for a in device.actuators if a.mode_id is not None}
    out: dict[Hashable, float] = {}
    for name in names:
        if not isinstance(name, tuple) or len(name) < 4 or name[2] not in held:
            continue
        actuator = held[name[2]]
        kind = name[1]
        if kind == "z":
            if name[3] != actuator.mode_id:
                out[name] = 0.0
            elif len(actuator.mode(name[3]).units) == 1:
                out[name] = 1.0
        elif kind == "s":
            out[name] = 0.0
        elif kind == "stay":
            out[name] = 1.0 if name[3] == actuator.mode_id else 0.0
    return out


def _hold_device(device: DeviceModel, grid: Grid) -> DevicePlan:
    """A device that keeps what it does now over the whole horizon (no solution for it)."""
    zero = tuple(0.0 for _ in grid.starts)
    if not isinstance(device, OMModel):
        return DevicePlan(zero)
    modes: dict[str, tuple[ModeStep, ...]] = {}
    power = 0.0
    level = device.storage.level if device.storage is not None else None
    for a in device.actuators:
        found = _unit_now(a, level)
        if found is None or a.mode_id is None:
            continue
        unit, factor = found
        modes[a.id] = tuple(ModeStep(a.mode_id, factor) for _ in grid.starts)
        power += unit.power_w[0] + factor * (unit.power_w[1] - unit.power_w[0])
    return DevicePlan(tuple(power for _ in grid.starts), MappingProxyType(modes))


def _site_cost(site: Site, grid: Grid, handles: Handles | None, values: Sequence[float] | None) -> float:
    """The objective's site terms (import, export, limits, peak) for the net import of a plan.

    With ``handles`` and ``values``, of that solution; otherwise ``grid.base`` is the net import.
    """
    obj = site.objective
    w_cost, w_peak, w_self = obj.weight("cost"), obj.weight("peak"), obj.weight("self-consumption")
    peak_price = w_peak + w_cost * (site.capacity_price or 0.0)
    pen = site.penalties.grid_limit / 1000.0
    total, peak = 0.0, 0.0
    for t in range(grid.size):
        if handles is not None and values is not None:
            imp, exp = values[handles.imp[t]], values[handles.exp[t]]
        else:
            imp, exp = max(grid.base[t], 0.0), max(-grid.base[t], 0.0)
        hours = grid.hours(t)
        total += (w_cost * grid.imports[t] + w_self) * hours / 1000.0 * imp
        total -= w_cost * grid.exports[t] * hours / 1000.0 * exp
        if site.import_limit_w is not None:
            total += pen * hours * max(imp - site.import_limit_w, 0.0)
        if site.export_limit_w is not None:
            total += pen * hours * max(exp - site.export_limit_w, 0.0)
        peak = max(peak, imp)
    return total + (peak_price / 1000.0 * peak if peak_price > 0 else 0.0)


@dataclass
class _Pass:
    """What the device-by-device pass found: a plan of its own, and a warm start for the whole model."""

    grid: Grid
    values: dict[Hashable, float] = field(default_factory=dict)
    devices: dict[str, DevicePlan] = field(default_factory=dict)
    held: list[str] = field(default_factory=list)
    relaxations: tuple[Relaxation, ...] = ()
    device_objective: float = 0.0
    build_seconds: float = 0.0
    fixed: list[float] = field(default_factory=list)
    whole: bool = False
    """Whether the whole model is small enough to try after the pass."""

    def plan(self, now: datetime, grid: Grid, seconds: float, site: Site) -> Plan:
        net = tuple(b + f for b, f in zip(grid.base, self.fixed, strict=True))
        relaxations = list(self.relaxations)
        for rid in self.held:
            relaxations.append(
                Relaxation(
                    rid,
                    "solve",
                    seconds,
                    "s",
                    "no solution for this device within its share of the time limit; it holds",
                )
            )
        for name, limit, sign in (
            ("grid.import_limit_w", site.import_limit_w, 1.0),
            ("grid.export_limit_w", site.export_limit_w, -1.0),
        ):
            if limit is None:
                continue
            over = [(t, sign * n - limit) for t, n in enumerate(net) if sign * n - limit > 1e-3]
            if over:
                worst = max(a for _, a in over)
                steps = [t for t, _ in over]
                relaxations.append(
                    Relaxation(
                        None,
                        name,
                        worst,
                        "W",
                        f"{name} {limit:g} missed by up to {worst:.3g} W over {len(steps)} step(s), "
                        f"{grid.starts[steps[0]].isoformat()} to {grid.end(steps[-1]).isoformat()}: {_WHY[name]}",
                    )
                )
        objective = self.device_objective + _site_cost(site, replace(grid, base=net), None, None)
        stats = MappingProxyType({"devices": len(self.devices), "held": len(self.held)})
        return Plan(
            now,
            grid.starts,
            grid.lengths,
            "decomposed",
            objective,
            seconds,
            tuple(relaxations),
            MappingProxyType(dict(self.devices)),
            net,
            stats,
        )


def _hold(now: datetime, grid: Grid, devices: Sequence[DeviceModel], seconds: float, stats: Mapping[str, int]) -> Plan:
    """No solution in time: every device keeps its current mode, and the plan says so."""
    plans = {device.resource_id: _hold_device(device, grid) for device in devices}
    net = tuple(grid.base[t] + sum(p.power_w[t] for p in plans.values()) for t in range(grid.size))
    relaxation = Relaxation(None, "solve", seconds, "s", "no solution was found within the time limit; devices hold")
    return Plan(
        now,
        grid.starts,
        grid.lengths,
        "no_solution",
        math.nan,
        seconds,
        (relaxation,),
        MappingProxyType(plans),
        net,
        stats,
    )


def _value(values: Sequence[float], column: int | None, default: float = 0.0) -> float:
    return default if column is None else values[column]


def _read_ppbc(dev: PPBCHandles, grid: Grid, values: Sequence[float]) -> DevicePlan:
    power = tuple(sum(values[c] * v for c, v in dev.power[t]) + dev.power_const[t] for t in range(grid.size))
    chosen = [p for p in dev.placements if values[p.column] > 0.5]
    chosen.sort(key=lambda p: p.start)
    starts = tuple(SequenceStart(p.profile_id, p.container_id, p.sequence.id, p.start) for p in chosen)
    return DevicePlan(power, sequences=starts)


def _read_pebc(dev: PEBCHandles, grid: Grid, values: Sequence[float]) -> DevicePlan:
    power = tuple(dev.power_const[t] if col is None else values[col] for t, col in enumerate(dev.columns))
    return DevicePlan(power, forecast_w=tuple(dev.forecast), quantity=dev.model.quantity)


def _read_om(dev: OMHandles, handles: Handles, values: Sequence[float]) -> DevicePlan:
    model = dev.model
    T = handles.grid.size
    modes: dict[str, tuple[ModeStep, ...]] = {}
    rates: dict[str, tuple[float, ...]] = {}
    level_now = model.storage.level if model.storage is not None else None
    rates_now = {a.id: _rate_now(a, level_now) for a in model.actuators}
    for a, actuator in enumerate(model.actuators):
        steps: list[ModeStep] = []
        rate: list[float] = []
        previous = (actuator.mode_id, actuator.factor)
        for t in range(T):
            best: tuple[float, str, int] | None = None
            for mode in actuator.modes:
                for k in range(len(mode.units)):
                    z = 1.0 if dev.fixed[(a, mode.id, k)] else _value(values, dev.z[(a, mode.id, k)][t])
                    if best is None or z > best[0]:
                        best = (z, mode.id, k)
            assert best is not None
            _, mode_id, k = best
            f_col = dev.f[(a, mode_id, k)][t]
            if f_col is None:
                factor = previous[1] if previous[0] == mode_id and previous[1] is not None else 0.0
            else:
                factor = min(1.0, max(0.0, values[f_col]))
                if factor < 1e-7 or factor > 1 - 1e-7:
                    factor = round(factor)  # the solver's tolerance, not a wish for a trickle
            steps.append(ModeStep(mode_id, factor))
            unit = actuator.mode(mode_id).units[k]
            rate.append(unit.rate[0] + factor * (unit.rate[1] - unit.rate[0]))
            previous = (mode_id, factor)
        modes[actuator.id] = tuple(steps)
        rates[actuator.id] = tuple(rate)
    power = tuple(sum(values[c] * v for c, v in dev.power[t]) + dev.power_const[t] for t in range(T))
    level = None
    if model.storage is not None:
        level = (model.storage.level, *(values[c] for c in dev.level))
    return DevicePlan(power, MappingProxyType(modes), level, MappingProxyType(rates), MappingProxyType(rates_now))


def _unit_now(actuator: ActuatorModel, level: float | None) -> tuple[ModeUnit, float] | None:
    """The unit an actuator runs in now (the element for the level), and its factor."""
    if actuator.mode_id is None:
        return None
    units = actuator.mode(actuator.mode_id).units
    unit = next(
        (u for u in units if u.fill is None or level is None or u.fill[0] - 1e-9 <= level <= u.fill[1] + 1e-9),
        units[0],
    )
    return unit, actuator.factor or 0.0


def _rate_now(actuator: ActuatorModel, level: float | None) -> float:
    found = _unit_now(actuator, level)
    if found is None:
        return 0.0
    unit, factor = found
    return unit.rate[0] + factor * (unit.rate[1] - unit.rate[0])


def _when(grid: Grid, steps: list[int]) -> str:
    first, last = grid.starts[steps[0]], grid.end(steps[-1])
    return f"{first.isoformat()} to {last.isoformat()}"


_WHY = {
    "fill_level_target.low": "the storage cannot reach the target band in time (or reaching it costs more than "
    "the penalty of {pen:g} per unit and hour)",
    "fill_level_target.high": "the level cannot be kept under the target band (usage, leakage or a mode that "
    "cannot stop)",
    "fill_level_range.low": "the usage and leakage empty the storage faster than its actuators can fill it",
    "fill_level_range.high": "the storage fills faster than any mode can lower it",
    "demand": "the actuators' supply ranges cannot cover the forecast demand",
    "grid.import_limit_w": "the base load and the devices that cannot be moved need more than the import limit",
    "grid.export_limit_w": "the production that cannot be curtailed exceeds the export limit",
}


def _relaxations(handles: Handles, values: Sequence[float], penalty: float) -> tuple[Relaxation, ...]:
    grouped: dict[tuple[str | None, str], list[tuple[int, float, str, float]]] = {}
    for slack in handles.slacks:
        amount = values[slack.column]
        if amount > _TOL * max(1.0, abs(slack.bound)) and amount > 1e-4:
            grouped.setdefault((slack.device, slack.constraint), []).append(
                (slack.step, amount, slack.unit, slack.bound)
            )
    out: list[Relaxation] = []
    for (device, constraint), rows in grouped.items():
        worst = max(rows, key=lambda r: r[1])
        steps = [r[0] for r in rows]
        why = _WHY.get(constraint, "keeping it is impossible or costs more than its penalty").format(pen=penalty)
        reason = (
            f"{constraint} {worst[3]:g} missed by up to {worst[1]:.3g} {worst[2]} over {len(steps)} step(s), "
            f"{_when(handles.grid, steps)}: {why}"
        )
        out.append(Relaxation(device, constraint, worst[1], worst[2], reason))
    return tuple(out)


def _read(
    now: datetime,
    grid: Grid,
    handles: Handles,
    values: Sequence[float],
    status: str,
    objective: float,
    seconds: float,
    stats: Mapping[str, int],
    penalty: float,
) -> Plan:
    plans: dict[str, DevicePlan] = {}
    for rid, dev in handles.devices.items():
        if isinstance(dev, OMHandles):
            plans[rid] = _read_om(dev, handles, values)
        elif isinstance(dev, PPBCHandles):
            plans[rid] = _read_ppbc(dev, grid, values)
        else:
            plans[rid] = _read_pebc(dev, grid, values)
    site_import = tuple(values[i] - values[e] for i, e in zip(handles.imp, handles.exp, strict=True))
    return Plan(
        now,
        grid.starts,
        grid.lengths,
        status,
        objective,
        seconds,
        _relaxations(handles, values, penalty),
        MappingProxyType(plans),
        site_import,
        stats,
    )
