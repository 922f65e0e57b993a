"""The planner: one MILP per (re)plan over the site and its devices, and the plan it yields.

:meth:`Planner.plan` is pure apart from remembering the last solution for a warm start (under a
lock, so the CEM may run it in a worker thread). :meth:`Plan.instructions` turns the near term
of a plan into S2 instructions built through the device's view, so the view's preflight and the
rule catalogue judge each one before it exists, and the view counts it as pending.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from ..errors import InstructionRefused, ResolutionError
from ..messages.base import S2Message
from .milp import Grid, Handles, build
from .model import DeviceModel, OMModel
from .site import Site

__all__ = ["DevicePlan", "ModeStep", "Plan", "Planner", "Relaxation"]

_TOL = 1e-6


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
class DevicePlan:
    power_w: tuple[float, ...]
    """Planned electric power per step (W, > 0 consumes)."""
    modes: Mapping[str, tuple[ModeStep, ...]] | None = None
    """Actuator id ("" for OMBC) -> mode and factor per step (operation-mode devices)."""
    fill_level: tuple[float, ...] | None = None
    """FRBC: the level at the start of every step, and at the end of the horizon (steps + 1 values)."""

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
        if device is None or device.modes is None:
            return []
        out: list[S2Message] = []
        for actuator_id, steps in device.modes.items():
            for t, step in enumerate(steps):
                start = max(self.steps[t], now)
                if self.steps[t] >= until or (t + 1 < len(self.steps) and self.steps[t + 1] <= now):
                    continue
                try:
                    expected = view.expected(actuator_id, start)  # type: ignore[attr-defined]
                except InstructionRefused:
                    break
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
                    break
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
    raise InstructionRefused("", f"no instructions for a {type(view).__name__}")


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
        grid = self.grid(now)
        lp, handles = build(self.site, grid, devices)
        with self._lock:
            start = dict(self._last)
        solution = lp.solve(time_limit=self.site.time_limit_s, gap=self.site.mip_gap, start=start)
        stats = MappingProxyType({"columns": lp.num_cols, "rows": lp.num_rows, "integers": lp.num_integer})
        if not solution.values:
            return _hold(now, grid, devices, solution.seconds, stats)
        with self._lock:
            self._last = {n: v for n, v in zip(lp.names, solution.values, strict=True) if isinstance(n, tuple)}
        return _read(now, grid, handles, solution.values, solution.status, solution.objective, solution.seconds, stats)


def _hold(now: datetime, grid: Grid, devices: Sequence[DeviceModel], seconds: float, stats: Mapping[str, int]) -> Plan:
    """No solution in time: every device keeps its current mode, and the plan says so."""
    plans: dict[str, DevicePlan] = {}
    for device in devices:
        modes = {
            a.id: tuple(ModeStep(a.mode_id, a.factor or 0.0) for _ in grid.starts)
            for a in device.actuators
            if a.mode_id is not None
        }
        plans[device.resource_id] = DevicePlan(tuple(0.0 for _ in grid.starts), MappingProxyType(modes))
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
        tuple(grid.base),
        stats,
    )


def _value(values: Sequence[float], column: int | None, default: float = 0.0) -> float:
    return default if column is None else values[column]


def _read_om(model: OMModel, handles: Handles, values: Sequence[float]) -> DevicePlan:
    dev = handles.devices[model.resource_id]
    T = handles.grid.size
    modes: dict[str, tuple[ModeStep, ...]] = {}
    for a, actuator in enumerate(model.actuators):
        steps: list[ModeStep] = []
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
                factor = min(1.0, max(0.0, round(values[f_col], 6)))
            steps.append(ModeStep(mode_id, factor))
            previous = (mode_id, factor)
        modes[actuator.id] = tuple(steps)
    power = tuple(sum(values[c] * v for c, v in dev.power[t]) + dev.power_const[t] for t in range(T))
    level = None
    if model.storage is not None:
        level = (model.storage.level, *(values[c] for c in dev.level))
    return DevicePlan(power, MappingProxyType(modes), level)


def _when(grid: Grid, steps: list[int]) -> str:
    first, last = grid.starts[steps[0]], grid.end(steps[-1])
    return f"{first.isoformat()} to {last.isoformat()}"


_WHY = {
    "fill_level_target.low": "the storage cannot reach the target band in time (or reaching it costs more than "
    "the penalty of {pen} per unit and hour)",
    "fill_level_target.high": "the level cannot be kept under the target band (usage, leakage or a mode that "
    "cannot stop)",
    "fill_level_range.low": "the usage and leakage empty the storage faster than its actuators can fill it",
    "fill_level_range.high": "the storage fills faster than any mode can lower it",
    "demand": "the actuators' supply ranges cannot cover the forecast demand",
    "grid.import_limit_w": "the base load and the devices that cannot be moved need more than the import limit",
    "grid.export_limit_w": "the production that cannot be curtailed exceeds the export limit",
}


def _relaxations(handles: Handles, values: Sequence[float], site: Site | None = None) -> tuple[Relaxation, ...]:
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
        why = _WHY.get(constraint, "keeping it is impossible or costs more than its penalty").format(pen="set")
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
) -> Plan:
    plans = {rid: _read_om(dev.model, handles, values) for rid, dev in handles.devices.items()}
    site_import = tuple(values[i] - values[e] for i, e in zip(handles.imp, handles.exp, strict=True))
    return Plan(
        now,
        grid.starts,
        grid.lengths,
        status,
        objective,
        seconds,
        _relaxations(handles, values),
        MappingProxyType(plans),
        site_import,
        stats,
    )
