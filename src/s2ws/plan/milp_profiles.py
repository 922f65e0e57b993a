"""PPBC in the MILP: one start per container, chosen among candidate moments, in order.

A container still to schedule gets a binary per (sequence, candidate start): the step starts
inside the sequence's window, its earliest start, and the ends of the previous container's
candidates (so a sequence with no pause allowed can follow at once). The power of a choice is
its profile spread over the steps it overlaps; energy past the horizon is priced at the mean
import price, like a storage's terminal value. A container may be left for a later plan only
when its window reaches past the horizon; otherwise leaving it costs the ``ppbc_skip`` penalty
and the plan names it. Scheduled and running containers are fixed: a plan never reschedules
a sequence load it already placed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..messages import timeline
from .lp import LinearProgram
from .milp_grid import Grid, Slack
from .model import PPBCModel, SequenceModel
from .site import Site

__all__ = ["PPBCHandles", "Placement", "add_ppbc", "spread"]


@dataclass(frozen=True)
class Placement:
    profile_id: str
    container_id: str
    sequence: SequenceModel
    start: datetime
    column: int


@dataclass
class PPBCHandles:
    model: PPBCModel
    placements: list[Placement] = field(default_factory=list)
    power: list[list[tuple[int, float]]] = field(default_factory=list)
    power_const: list[float] = field(default_factory=list)


def spread(rows: tuple[tuple[datetime, datetime, float], ...], grid: Grid) -> tuple[list[float], float]:
    """Mean power per step of (start, end, W) rows, and the energy (Wh) after the horizon."""
    out = [0.0] * grid.size
    horizon_end = grid.end(grid.size - 1)
    beyond = 0.0
    for start, end, watts in rows:
        if end > horizon_end:
            beyond += watts * (end - max(start, horizon_end)).total_seconds() / 3600.0
        for t in range(grid.size):
            lo, hi = max(start, grid.starts[t]), min(end, grid.end(t))
            if hi > lo:
                out[t] += watts * (hi - lo).total_seconds() / grid.lengths[t]
    return out, beyond


def _rows(sequence: SequenceModel, start: datetime) -> tuple[tuple[datetime, datetime, float], ...]:
    out = []
    moment = start
    for seconds, watts in sequence.elements:
        end = timeline.later(moment, seconds * 1000)
        out.append((moment, end, watts))
        moment = end
    return tuple(out)


def add_ppbc(lp: LinearProgram, site: Site, grid: Grid, model: PPBCModel, slacks: list[Slack]) -> PPBCHandles:
    rid = model.resource_id
    handles = PPBCHandles(model)
    T = grid.size
    power: list[dict[int, float]] = [{} for _ in range(T)]
    const = [0.0] * T
    now = grid.starts[0]
    horizon_end = grid.end(T - 1)
    mean_price = sum(p * s for p, s in zip(grid.imports, grid.lengths, strict=True)) / sum(grid.lengths)
    w_cost = site.objective.weight("cost")
    big = (horizon_end - now).total_seconds() * 2 + 1.0
    for profile in model.profiles:
        previous: tuple[list[tuple[int, float, float]], int | None, list[datetime]] | None = None
        for container in profile.containers:
            if container.fixed is not None:
                watts, _ = spread(container.fixed, grid)
                for t in range(T):
                    const[t] += watts[t]
                previous = None
                continue
            # candidate (sequence, start) pairs
            ends = previous[2] if previous is not None else []
            choices: list[tuple[int, float, float]] = []  # (column, start s, end s) from now
            my_ends: list[datetime] = []
            for sequence in container.options:
                earliest = max(sequence.earliest, now)
                latest = min(sequence.latest, horizon_end - timedelta(microseconds=1))
                if earliest > latest:
                    continue
                candidates = {earliest}
                candidates.update(s for s in grid.starts if earliest <= s <= latest)
                candidates.update(e for e in ends if earliest <= e <= latest)
                for start in sorted(candidates):
                    rows = _rows(sequence, start)
                    watts, beyond = spread(rows, grid)
                    cost = beyond / 1000.0 * mean_price * w_cost
                    col = lp.var(
                        (rid, "start", profile.id, container.id, sequence.id, start), 0.0, 1.0, cost, integer=True
                    )
                    offset = (start - now).total_seconds()
                    choices.append((col, offset, offset + sequence.duration_s))
                    handles.placements.append(Placement(profile.id, container.id, sequence, start, col))
                    my_ends.append(timeline.later(start, sequence.duration_s * 1000))
                    for t in range(T):
                        if watts[t]:
                            power[t][col] = power[t].get(col, 0.0) + watts[t]
            later = any(s.latest >= horizon_end for s in container.options)
            if later:
                energy = min((s.energy_wh for s in container.options), default=0.0)
                skip_cost = energy / 1000.0 * mean_price * w_cost
            else:
                skip_cost = site.penalties.ppbc_skip
            skip = lp.var((rid, "skip", profile.id, container.id), 0.0, 1.0, skip_cost)
            if not later:
                slacks.append(Slack(rid, f"ppbc.{profile.id}.{container.id}", 0, skip, "container", 1.0))
            lp.row([*((c, 1.0) for c, _, _ in choices), (skip, 1.0)], 1.0, 1.0)
            if previous is not None:
                prev_choices, prev_skip, _ = previous
                if prev_skip is not None:
                    lp.row([(skip, 1.0), (prev_skip, -1.0)], lower=0.0)  # a later one waits for an earlier one
                # start(c) >= end(c-1) when c is placed
                lp.row(
                    [*((c, s) for c, s, _ in choices), *((c, -e) for c, _, e in prev_choices), (skip, big)],
                    lower=0.0,
                )
                for sequence in container.options:
                    if sequence.max_pause_s is None:
                        continue
                    mine = [
                        (p.column, (p.start - now).total_seconds())
                        for p in handles.placements
                        if p.container_id == container.id
                        and p.sequence.id == sequence.id
                        and p.profile_id == profile.id
                    ]
                    if not mine:
                        continue
                    # start(c) - end(c-1) <= pause when this sequence is chosen
                    lp.row(
                        [
                            *((c, s) for c, s in mine),
                            *((c, -e) for c, _, e in prev_choices),
                            *((c, big) for c, _ in mine),
                        ],
                        upper=sequence.max_pause_s + big,
                    )
            previous = (choices, skip, my_ends)
    handles.power = [sorted(p.items()) for p in power]
    handles.power_const = const
    return handles
