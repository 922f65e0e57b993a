"""The optimiser (:mod:`s2ws.plan`) as benchmark strategies: rolling horizon, noisy forecasts, the oracle.

- ``plan-exact``: every quarter hour, a snapshot of every view (:func:`s2ws.plan.device_model`), one
  plan over the next 24 hours, and the instructions for the coming quarter hour built through the
  views (:meth:`s2ws.plan.Plan.instructions`); the base-load forecast is the true base load.
- ``plan-noisy``: the same, but the CEM sees forecasts that are wrong: the base-load forecast and
  every forecast the devices send (PV production, heat demand, hot-water use) are scaled by a
  seeded AR(1) error (:class:`bench.plan_loop.NoisyForecasts`).
- ``oracle``: the offline perfect-foresight optimum of the same model: one solve at the start over
  the whole simulated day with exact data, carried out open loop (its instructions for each
  quarter hour, from that one plan).

A device the optimiser does not model (no :class:`~s2ws.plan.DeviceModel` for its view) is run by
its rule-based planner, so that no device is left without control; the report names them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from s2ws.app.planners import planner_for
from s2ws.errors import S2Error
from s2ws.plan import Plan, Planner, PriceCurve, Series, Site, device_model

from .plan_home import DAY, GAS_EUR_PER_LITRE, STEP, Season, fleet, tariff
from .plan_loop import MINUTE, HomeRun, Link

__all__ = ["Optimised", "Oracle", "forecast_site", "time_fleet", "unmodelled"]


def forecast_site(
    run: HomeRun, *, noise: float = 0.0, seed: int = 0, horizon: timedelta = DAY, time_limit_s: float = 10.0
) -> Site:
    """The site as the CEM knows it: the tariff, the (possibly noisy) base-load forecast, the gas price."""
    rng = random.Random(f"base-load/{seed}/{run.season.name}")
    points: list[tuple[datetime, float]] = []
    error = 0.0
    for i in range(int(2 * DAY / STEP)):
        start = run.start + i * STEP
        true = sum(run.base_load(start + m * MINUTE) for m in range(0, 15, 5)) / 3
        if noise > 0:
            error = 0.8 * error + rng.gauss(0.0, noise * 0.6)
        points.append((start, max(0.0, true * (1.0 + error))))
    return Site(
        prices=PriceCurve(tuple(run.tariff.rows())),
        base_load_w=Series(tuple(points), points[-1][1]),
        gas_price=GAS_EUR_PER_LITRE * 1000,
        horizon=horizon,
        time_limit_s=time_limit_s,
    )


def unmodelled(links: Sequence[Link], now: datetime) -> list[Link]:
    """The devices for which the optimiser has no model now."""
    return [link for link in links if device_model(link.resource_id, link.view, now) is None]


def _rules(run: HomeRun, link: Link, now: datetime) -> None:
    planner = planner_for(link.view)
    if planner is None:
        return
    try:
        run.send(link, planner(link.view, now))
    except S2Error:
        return


def _carry_out(run: HomeRun, plan: Plan, now: datetime, modelled: set[str]) -> None:
    for link in run.links:
        if link.resource_id in modelled:
            run.send(link, plan.instructions(link.resource_id, link.view, now, now + STEP))
        else:
            _rules(run, link, now)


class Optimised:
    """Rolling horizon: replan every step, send the instructions of the first step."""

    def __init__(self, noise: float = 0.0, seed: int = 1, time_limit_s: float = Site.time_limit_s) -> None:
        self.noise = noise
        self.seed = seed
        self.time_limit_s = time_limit_s
        self.name = "plan-noisy" if noise > 0 else "plan-exact"
        self.planner: Planner | None = None
        self.fallback: set[str] = set()
        """Kinds of device run by the rules because the optimiser has no model for them."""
        self.statuses: list[str] = []
        """The solver's status of each replan (optimal, time_limit, no_solution, ...)."""

    def start(self, run: HomeRun) -> None:
        for link in run.links:
            link.loop.select(link.device.control_type)
        site = forecast_site(run, noise=self.noise, seed=self.seed, time_limit_s=self.time_limit_s)
        self.planner = Planner(site)

    def step(self, run: HomeRun, now: datetime) -> None:
        assert self.planner is not None
        models = []
        for link in run.links:
            model = device_model(link.resource_id, link.view, now)
            if model is None:
                self.fallback.add(link.device.kind)
            else:
                models.append(model)
        began = time.perf_counter()
        plan = self.planner.plan(models, now)
        run.replan_seconds.append(time.perf_counter() - began)
        self.statuses.append(plan.status)
        _carry_out(run, plan, now, {m.resource_id for m in models})


class Oracle:
    """One plan over the whole day at the start, with exact data, carried out open loop."""

    name = "oracle"

    def __init__(self, time_limit_s: float = 60.0) -> None:
        self.time_limit_s = time_limit_s
        self.plan: Plan | None = None
        self.modelled: set[str] = set()
        self.seconds = 0.0

    def start(self, run: HomeRun) -> None:
        for link in run.links:
            link.loop.select(link.device.control_type)

    def step(self, run: HomeRun, now: datetime) -> None:
        if self.plan is None:
            models = [m for m in (device_model(k.resource_id, k.view, now) for k in run.links) if m is not None]
            self.modelled = {m.resource_id for m in models}
            site = forecast_site(run, horizon=DAY, time_limit_s=self.time_limit_s)
            began = time.perf_counter()
            self.plan = Planner(site).plan(models, now)
            self.seconds = time.perf_counter() - began
        _carry_out(run, self.plan, now, self.modelled)


def time_fleet(
    count: int,
    season: Season,
    *,
    replans: int = 3,
    seed: int = 1,
    time_limit_s: float = 10.0,
    progress: Callable[[str], None] | None = None,
) -> list[tuple[float, str]]:
    """(wall seconds, solver status) of ``replans`` successive replans, a quarter hour apart, of a generated fleet."""
    start, devices = fleet(count, season, seed=seed)
    run = HomeRun(season, start, devices, tariff(season, start))
    for link in run.links:
        link.loop.start(link.device.control_type)
    planner = Planner(forecast_site(run, time_limit_s=time_limit_s))
    out: list[tuple[float, str]] = []
    now = start
    for i in range(replans):
        models = [m for m in (device_model(k.resource_id, k.view, now) for k in run.links) if m is not None]
        began = time.perf_counter()
        plan = planner.plan(models, now)
        held = plan.stats.get("held", 0)
        out.append((time.perf_counter() - began, f"{plan.status} ({held} held)" if held else plan.status))
        if progress is not None:
            progress(f"{count} devices ({len(models)} modelled): replan {i + 1} in {out[-1][0]:.1f} s, {plan.status}")
        modelled = {m.resource_id for m in models}
        for link in run.links:
            if link.resource_id in modelled:
                run.send(link, plan.instructions(link.resource_id, link.view, now, now + STEP))
        now += STEP
        for link in run.links:
            link.loop.advance(now)
    return out
