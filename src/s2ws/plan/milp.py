"""The optimisation model: the site and every device on one time grid, as one MILP.

The equations are written out in ``docs/planning.md``; the names here follow them. Columns are
named ``(resource_id, what, ..., step start)`` so a plan seeds the next one (warm start).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .lp import INF, LinearProgram
from .milp_envelopes import PEBCHandles, add_pebc
from .milp_grid import Grid, Slack
from .milp_profiles import PPBCHandles, add_ppbc
from .model import ActuatorModel, DeviceModel, ModeUnit, OMModel, PPBCModel
from .site import Site

__all__ = ["Grid", "Handles", "OMHandles", "Slack", "build"]

_EPS = 1e-9


@dataclass
class OMHandles:
    """Columns of one operation-mode device."""

    model: OMModel
    # (actuator index, mode id, unit index) -> per step (z column or None when fixed, f column or None)
    z: dict[tuple[int, str, int], list[int | None]] = field(default_factory=dict)
    f: dict[tuple[int, str, int], list[int | None]] = field(default_factory=dict)
    fixed: dict[tuple[int, str, int], bool] = field(default_factory=dict)
    level: list[int] = field(default_factory=list)
    """Storage level at the end of each step (FRBC)."""
    power: list[list[tuple[int, float]]] = field(default_factory=list)
    power_const: list[float] = field(default_factory=list)


@dataclass
class Handles:
    grid: Grid
    imp: list[int] = field(default_factory=list)
    exp: list[int] = field(default_factory=list)
    devices: dict[str, OMHandles | PPBCHandles | PEBCHandles] = field(default_factory=dict)
    slacks: list[Slack] = field(default_factory=list)


def _varies(pair: tuple[float, float]) -> bool:
    return abs(pair[1] - pair[0]) > _EPS


def _unit_varies(unit: ModeUnit) -> bool:
    return _varies(unit.power_w) or _varies(unit.rate) or _varies(unit.gas_l_s) or _varies(unit.running_cost)


def _terms(
    unit: ModeUnit, pair: tuple[float, float], z: int | None, f: int | None
) -> tuple[list[tuple[int, float]], float]:
    """Linear terms and constant of ``pair[0] * z + (pair[1] - pair[0]) * f``."""
    terms: list[tuple[int, float]] = []
    constant = 0.0
    if z is None:
        constant += pair[0]
    else:
        terms.append((z, pair[0]))
    if f is not None:
        terms.append((f, pair[1] - pair[0]))
    return terms, constant


def _actuator(
    lp: LinearProgram,
    site: Site,
    grid: Grid,
    handles: OMHandles,
    a: int,
    actuator: ActuatorModel,
    level_of: Sequence[int | float] | None,
    span: float,
) -> None:
    """Mode choice, factor, transitions and timers of one state machine."""
    rid = handles.model.resource_id
    T = grid.size
    units = [(m.id, k, u) for m in actuator.modes for k, u in enumerate(m.units)]
    single = len(units) == 1
    storage = handles.model.storage
    for mode_id, k, unit in units:
        zs: list[int | None] = []
        fs: list[int | None] = []
        for t in range(T):
            upper = 1.0
            if unit.fill is not None and storage is not None and t == 0:
                lo, hi = unit.fill
                if not lo - 1e-9 <= storage.level <= hi + 1e-9:
                    upper = 0.0
            key = (rid, "z", actuator.id, mode_id, k, grid.starts[t])
            if single:
                zs.append(None)
            else:
                zs.append(lp.var(key, 0.0, upper, integer=True))
            if _unit_varies(unit):
                f = lp.var((rid, "f", actuator.id, mode_id, k, grid.starts[t]), 0.0, upper)
                fs.append(f)
                z = zs[-1]
                if z is not None:
                    lp.row([(f, 1.0), (z, -1.0)], upper=0.0)
            else:
                fs.append(None)
            z = zs[-1]
            if z is not None and unit.fill is not None and level_of is not None and t > 0:
                lo, hi = unit.fill
                level = level_of[t]
                if isinstance(level, int) and (lo > storage_low(handles) + 1e-9 or hi < storage_high(handles) - 1e-9):
                    big = 3 * span
                    lp.row([(level, 1.0), (z, -big)], lower=lo - big)
                    lp.row([(level, 1.0), (z, big)], upper=hi + big)
        handles.z[(a, mode_id, k)] = zs
        handles.f[(a, mode_id, k)] = fs
        handles.fixed[(a, mode_id, k)] = single
    if single:
        return
    for t in range(T):
        lp.row([(handles.z[(a, m, k)][t], 1.0) for m, k, _ in units], 1.0, 1.0)  # type: ignore[misc]

    def y(mode_id: str, t: int) -> list[tuple[int, float]]:
        return [(handles.z[(a, m, k)][t], 1.0) for m, k, _ in units if m == mode_id]  # type: ignore[misc]

    modes = [m.id for m in actuator.modes]
    if len(modes) == 1:
        return
    # Transitions as a flow between consecutive steps: every step either stays or follows one
    # allowed transition; forbidden pairs simply have no column.
    known = actuator.mode_id if actuator.mode_id in modes else None
    switch: dict[tuple[str, int], int] = {}
    for t in range(T):
        if t == 0 and known is None:
            continue
        stay = {m: lp.var((rid, "stay", actuator.id, m, grid.starts[t]), 0.0, 1.0) for m in modes}
        moves: dict[str, int] = {}
        for tr in actuator.transitions:
            upper = 1.0
            for name, until in actuator.timer_finish:
                if name in tr.blocking_timers and until > grid.starts[t]:
                    upper = 0.0
            cost = tr.cost * site.objective.weight("cost") + site.penalties.switch
            moves[tr.id] = lp.var((rid, "s", actuator.id, tr.id, grid.starts[t]), 0.0, upper, cost)
        for tr_id, col in moves.items():
            switch[(tr_id, t)] = col
        for m in modes:
            into = [(stay[m], 1.0)] + [(moves[tr.id], 1.0) for tr in actuator.transitions if tr.target == m]
            lp.row([*into, *((c, -v) for c, v in y(m, t))], 0.0, 0.0)
            out = [(stay[m], 1.0)] + [(moves[tr.id], 1.0) for tr in actuator.transitions if tr.source == m]
            if t == 0:
                value = 1.0 if m == known else 0.0
                lp.row(out, value, value)
            else:
                lp.row([*out, *((c, -v) for c, v in y(m, t - 1))], 0.0, 0.0)
    # Timers: a transition blocked by a timer cannot follow, within the timer's duration, one
    # that starts it.
    for name, duration in actuator.timers:
        blocked = [tr.id for tr in actuator.transitions if name in tr.blocking_timers]
        starting = [tr.id for tr in actuator.transitions if name in tr.start_timers]
        if not blocked or not starting:
            continue
        first = 0 if known is not None else 1
        for t in range(first + 1, T):
            for t0 in range(t - 1, first - 1, -1):
                if (grid.starts[t] - grid.starts[t0]).total_seconds() >= duration:
                    break
                lp.row(
                    [(switch[(b, t)], 1.0) for b in blocked] + [(switch[(s, t0)], 1.0) for s in starting],
                    upper=1.0,
                )


def storage_low(handles: OMHandles) -> float:
    return handles.model.storage.low if handles.model.storage is not None else -INF


def storage_high(handles: OMHandles) -> float:
    return handles.model.storage.high if handles.model.storage is not None else INF


def _unit_sum(handles: OMHandles, grid: Grid, t: int, which: str) -> tuple[list[tuple[int, float]], float]:
    model = handles.model
    terms: list[tuple[int, float]] = []
    constant = 0.0
    for a, actuator in enumerate(model.actuators):
        for mode in actuator.modes:
            for k, unit in enumerate(mode.units):
                pair = getattr(unit, which)
                z = handles.z[(a, mode.id, k)][t]
                f = handles.f[(a, mode.id, k)][t]
                more, const = _terms(unit, pair, z, f)
                terms += more
                constant += const
    return terms, constant


def _om_device(lp: LinearProgram, site: Site, grid: Grid, model: OMModel, handles: Handles) -> None:
    rid = model.resource_id
    dev = OMHandles(model)
    handles.devices[rid] = dev
    T = grid.size
    storage = model.storage
    w_cost = site.objective.weight("cost")
    span = 1.0
    levels: list[int | float] | None = None
    if storage is not None:
        span = max(storage.high - storage.low, 1e-6)
        levels = [storage.level]
        for t in range(T):
            col = lp.var((rid, "level", grid.starts[t]), storage.low - span, storage.high + span)
            levels.append(col)
            dev.level.append(col)
    for a, actuator in enumerate(model.actuators):
        _actuator(lp, site, grid, dev, a, actuator, levels, span)
    gas_price = site.gas_price
    for t in range(T):
        dt = grid.lengths[t]
        hours = grid.hours(t)
        power, const = _unit_sum(dev, grid, t, "power_w")
        dev.power.append(power)
        dev.power_const.append(const)
        running, _ = _unit_sum(dev, grid, t, "running_cost")
        for col, value in running:
            lp.add_cost(col, value * dt * w_cost)
        if gas_price:
            gas, _ = _unit_sum(dev, grid, t, "gas_l_s")
            for col, value in gas:
                lp.add_cost(col, value * dt / 1000.0 * gas_price * w_cost)
        if storage is not None and levels is not None:
            rate, rate_const = _unit_sum(dev, grid, t, "rate")
            a0, b0 = storage.leak
            usage = storage.usage_mean(grid.starts[t], grid.end(t))
            end = levels[t + 1]
            start = levels[t]
            assert isinstance(end, int)
            # L[t+1] = L[t] (1 - b dt) + dt * (rates - a - usage)
            row: list[tuple[int, float]] = [(end, 1.0)]
            rhs = dt * (rate_const - a0 - usage)
            if isinstance(start, int):
                row.append((start, -(1.0 - b0 * dt)))
            else:
                rhs += start * (1.0 - b0 * dt)
            row += [(c, -v * dt) for c, v in rate]
            lp.row(row, rhs, rhs)
            label = storage.label or "units"
            pen = site.penalties.fill_range * hours
            low = lp.var((rid, "below", grid.starts[t]), 0.0, span, pen)
            high = lp.var((rid, "above", grid.starts[t]), 0.0, span, pen)
            lp.row([(end, 1.0), (low, 1.0)], lower=storage.low)
            lp.row([(end, 1.0), (high, -1.0)], upper=storage.high)
            handles.slacks.append(Slack(rid, "fill_level_range.low", t, low, label, storage.low))
            handles.slacks.append(Slack(rid, "fill_level_range.high", t, high, label, storage.high))
            band = storage.targets_at(grid.end(t))
            if band is not None:
                pen = site.penalties.fill_target * hours
                if band[0] > storage.low + 1e-9:
                    miss = lp.var((rid, "target_below", grid.starts[t]), 0.0, INF, pen)
                    lp.row([(end, 1.0), (miss, 1.0)], lower=band[0])
                    handles.slacks.append(Slack(rid, "fill_level_target.low", t, miss, label, band[0]))
                if band[1] < storage.high - 1e-9:
                    over = lp.var((rid, "target_above", grid.starts[t]), 0.0, INF, pen)
                    lp.row([(end, 1.0), (over, -1.0)], upper=band[1])
                    handles.slacks.append(Slack(rid, "fill_level_target.high", t, over, label, band[1]))
        if model.kind == "DDBC":
            supply, supply_const = _unit_sum(dev, grid, t, "rate")
            demand = model.demand_mean(grid.starts[t], grid.end(t))
            if t == 0:
                demand = max(demand, model.demand_now)
            if demand > 0:
                short = lp.var((rid, "short", grid.starts[t]), 0.0, demand, site.penalties.demand * hours)
                lp.row([*supply, (short, 1.0)], lower=demand - supply_const)
                handles.slacks.append(Slack(rid, "demand", t, short, "demand units", demand))
    if storage is not None and levels is not None and not storage.targets:
        # A storage with a target profile (a car) has no terminal value: its targets say what it
        # needs, and what it holds above them at the departure leaves with it, bought for
        # nothing. Valued at the mean import price, a night cheaper than the mean filled the
        # car to the top (a winter day: 20 % of the car, about 2.4 EUR, more than EMHASS paid).
        value = _terminal_value(model, grid)
        last = levels[-1]
        if value and isinstance(last, int):
            lp.add_cost(last, -value * w_cost)


def _terminal_value(model: OMModel, grid: Grid) -> float:
    """Price per fill-level unit left at the end: the mean import price times the electric energy
    the most efficient raising unit needs per unit."""
    per_unit = INF
    for actuator in model.actuators:
        for mode in actuator.modes:
            for unit in mode.units:
                for f in (0.0, 1.0):
                    rate = unit.rate[0] + f * (unit.rate[1] - unit.rate[0])
                    power = unit.power_w[0] + f * (unit.power_w[1] - unit.power_w[0])
                    if rate > 1e-12 and power > 0:
                        per_unit = min(per_unit, power / rate / 3.6e6)
    if per_unit == INF:
        return 0.0
    total = sum(grid.lengths)
    mean = sum(p * s for p, s in zip(grid.imports, grid.lengths, strict=True)) / total
    return per_unit * mean


def _largest_power(device: DeviceModel) -> float:
    if isinstance(device, OMModel):
        return sum(
            max(max(abs(u.power_w[0]), abs(u.power_w[1])) for m in a.modes for u in m.units) for a in device.actuators
        )
    if isinstance(device, PPBCModel):
        return sum(
            max((abs(w) for s in c.options for _, w in s.elements), default=0.0)
            + max((abs(w) for _, _, w in c.fixed or ()), default=0.0)
            for p in device.profiles
            for c in p.containers
        )
    return max((abs(w) for _, _, w in device.forecast), default=0.0)


def build(site: Site, grid: Grid, devices: Sequence[DeviceModel]) -> tuple[LinearProgram, Handles]:
    lp = LinearProgram()
    handles = Handles(grid)
    for device in devices:
        if device.resource_id in handles.devices:
            raise ValueError(f"two devices with resource id {device.resource_id}")
        if isinstance(device, OMModel):
            _om_device(lp, site, grid, device, handles)
        elif isinstance(device, PPBCModel):
            handles.devices[device.resource_id] = add_ppbc(lp, site, grid, device, handles.slacks)
        else:
            handles.devices[device.resource_id] = add_pebc(lp, site, grid, device)
    T = grid.size
    obj = site.objective
    w_cost, w_peak, w_self = obj.weight("cost"), obj.weight("peak"), obj.weight("self-consumption")
    bound = sum(_largest_power(d) for d in devices) + max(abs(b) for b in grid.base) + 1.0
    peak_price = w_peak + w_cost * (site.capacity_price or 0.0)
    peak = lp.var(("site", "peak"), 0.0, INF, peak_price / 1000.0) if peak_price > 0 else None
    for t in range(T):
        hours = grid.hours(t)
        start = grid.starts[t]
        imp = lp.var(("site", "import", start), 0.0, INF, (w_cost * grid.imports[t] + w_self) * hours / 1000.0)
        exp = lp.var(("site", "export", start), 0.0, INF, -w_cost * grid.exports[t] * hours / 1000.0)
        handles.imp.append(imp)
        handles.exp.append(exp)
        row = [(imp, 1.0), (exp, -1.0)]
        constant = grid.base[t]
        for dev in handles.devices.values():
            row += [(c, -v) for c, v in dev.power[t]]
            constant += dev.power_const[t]
        lp.row(row, constant, constant)
        if grid.exports[t] >= grid.imports[t] - 1e-12:
            # Exporting pays at least as much as importing costs: forbid doing both at once.
            u = lp.var(("site", "importing", start), 0.0, 1.0, integer=True)
            lp.row([(imp, 1.0), (u, -bound)], upper=0.0)
            lp.row([(exp, 1.0), (u, bound)], upper=bound)
        pen = site.penalties.grid_limit * hours / 1000.0
        if site.import_limit_w is not None:
            over = lp.var(("site", "over_import", start), 0.0, INF, pen)
            lp.row([(imp, 1.0), (over, -1.0)], upper=site.import_limit_w)
            handles.slacks.append(Slack(None, "grid.import_limit_w", t, over, "W", site.import_limit_w))
        if site.export_limit_w is not None:
            over = lp.var(("site", "over_export", start), 0.0, INF, pen)
            lp.row([(exp, 1.0), (over, -1.0)], upper=site.export_limit_w)
            handles.slacks.append(Slack(None, "grid.export_limit_w", t, over, "W", site.export_limit_w))
        if peak is not None:
            lp.row([(peak, 1.0), (imp, -1.0)], lower=0.0)
    return lp, handles
