"""Fleets: the device-by-device pass always yields a plan, and its plan is what it says it is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from s2ws.control import FRBCView
from s2ws.messages import ControlType
from s2ws.plan import Planner, PriceCurve, Site, device_model
from s2ws.plan import planner as planner_module
from s2ws.plan.model import DeviceModel
from s2ws.sim import BatteryDeviceSim, BatteryParams, Loopback, ReadableIds

T0 = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
FRBC = ControlType.FILL_RATE_BASED_CONTROL


def two_prices(cheap: float, dear: float, hours: int = 4) -> PriceCurve:
    return PriceCurve(
        (
            (T0, cheap, cheap),
            (T0 + timedelta(hours=hours), dear, dear),
            (T0 + timedelta(hours=2 * hours), dear, dear),
        )
    )


def batteries(count: int) -> list[DeviceModel]:
    out: list[DeviceModel] = []
    for i in range(count):
        sim = BatteryDeviceSim(BatteryParams(initial_soc=float(i * 37 % 100)), now=T0, ids=ReadableIds())
        view = FRBCView()
        Loopback(sim, view, now=T0, session=f"battery-{i}").start(FRBC)
        model = device_model(f"bat-{i}", view, T0)
        assert model is not None
        out.append(model)
    return out


def test_the_pass_alone_gives_the_hand_computed_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    # Too large for the whole model (threshold lowered): the pass's own plan is returned, and its
    # objective adds up the devices and the site the way the whole model would.
    monkeypatch.setattr(planner_module, "_WHOLE_MODEL_INTEGERS", 0)
    models = batteries(2)  # empty, and 37 % full
    site = Site(prices=two_prices(0.10, 0.40), horizon=timedelta(hours=8), time_limit_s=30.0)
    plan = Planner(site).plan(models, T0)
    assert plan.status == "decomposed"
    assert set(plan.devices) == {"bat-0", "bat-1"}
    for t in range(len(plan.steps)):
        total = sum(d.power_w[t] for d in plan.devices.values())
        assert plan.site_import_w[t] == pytest.approx(total, abs=1e-6)
    # The empty battery fills in the cheap hours and empties in the dear ones; the other starts
    # at 37 % and ends empty: each kWh stored earns 0.40 * 0.95, each bought costs 0.10 / 0.95.
    bought = 10 / 0.95 + (10 - 3.7) / 0.95
    sold = 10 * 0.95 * 2
    assert plan.objective_value == pytest.approx(0.10 * bought - 0.40 * sold, abs=1e-2)


def test_thirty_devices_with_a_small_time_limit_get_a_plan() -> None:
    models = batteries(30)
    site = Site(
        prices=two_prices(0.10, 0.40), horizon=timedelta(hours=8), time_limit_s=0.5, time_limit_per_device_s=0.0
    )
    planner = Planner(site)
    for _ in range(2):  # the second one warm-started from the first
        plan = planner.plan(models, T0)
        assert plan.status != "no_solution"
        assert set(plan.devices) == {m.resource_id for m in models}
        assert all(len(d.power_w) == len(plan.steps) for d in plan.devices.values())
        held = {r.device for r in plan.relaxations if r.constraint == "solve" and r.device is not None}
        for rid in held:
            # A held device keeps what it does now, and the plan names it.
            device = plan.devices[rid]
            assert device.modes is not None
            assert all(len(set(steps)) == 1 for steps in device.modes.values())
        for t in range(len(plan.steps)):
            total = sum(d.power_w[t] for d in plan.devices.values())
            assert plan.site_import_w[t] == pytest.approx(total, abs=1e-6)


def test_every_device_is_planned_when_the_time_is_enough() -> None:
    models = batteries(12)
    site = Site(prices=two_prices(0.10, 0.40), horizon=timedelta(hours=8), time_limit_s=120.0)
    plan = Planner(site).plan(models, T0)
    assert plan.status in {"decomposed", "optimal", "time_limit"}
    assert not [r for r in plan.relaxations if r.constraint == "solve"]
    # Every battery ends empty (the dear hours come last), whatever it started with.
    for device in plan.devices.values():
        assert device.fill_level is not None
        assert device.fill_level[-1] == pytest.approx(0.0, abs=1e-3)


def test_the_time_limit_grows_with_the_number_of_devices() -> None:
    site = Site()
    assert [site.time_limit_for(n) for n in (1, 7, 8, 50, 112, 200, 1000)] == pytest.approx(
        [3.5, 3.5, 3.5, 20, 44.8, 45, 45]
    )
    assert Site(time_limit_s=60.0).time_limit_for(200) == 60.0  # an explicit longer limit stands
    assert Site(time_limit_per_device_s=0.0).time_limit_for(200) == 3.5  # scaling off


def test_a_fleet_is_planned_with_the_scaled_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[float] = []
    original = Planner._pass

    def spy(self: Planner, *args: object) -> object:
        seen.append(float(args[3]))  # type: ignore[arg-type]
        return original(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Planner, "_pass", spy)
    site = Site(
        prices=two_prices(0.10, 0.40), horizon=timedelta(hours=2), time_limit_s=0.5, time_limit_per_device_s=0.2
    )
    plan = Planner(site).plan(batteries(5), T0)
    assert seen == [pytest.approx(1.0)]
    assert plan.status != "no_solution"


@pytest.mark.parametrize("count", [2, 9])
def test_a_small_site_follows_its_last_plan_and_a_fleet_starts_from_holding(
    monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    # What each device of the pass is started from: the last plan for a home-sized site, the
    # present modes held for a fleet (see _FOLLOW_LAST_PLAN_UP_TO).
    monkeypatch.setattr(planner_module, "_WHOLE_MODEL_INTEGERS", 0)  # the pass's plan stands
    models = batteries(count)
    site = Site(prices=two_prices(0.10, 0.40), horizon=timedelta(hours=8), time_limit_s=30.0)
    planner = Planner(site)
    planner.plan(models, T0)  # the first plan: nothing to follow yet
    seeds: list[dict[object, float]] = []
    real_build = planner_module.build  # type: ignore[attr-defined]

    def recording_build(*args: object, **kwargs: object) -> object:
        lp, handles = real_build(*args, **kwargs)  # type: ignore[arg-type]
        solve = lp.solve

        def recording_solve(**options: object) -> object:
            seeds.append(dict(options.get("start") or {}))  # type: ignore[call-overload]
            return solve(**options)  # type: ignore[arg-type]

        monkeypatch.setattr(lp, "solve", recording_solve)
        return lp, handles

    monkeypatch.setattr(planner_module, "build", recording_build)
    planner.plan(models, T0)
    assert len(seeds) == count
    last = planner._last
    follows = [any(n in last and seed[n] == last[n] for n in seed if n[1] == "z") for seed in seeds]  # type: ignore[index]
    held = [all(v in (0.0, 1.0) for v in seed.values()) and len(seed) < len(last) / count for seed in seeds]
    assert 2 <= planner_module._FOLLOW_LAST_PLAN_UP_TO < 9  # a home follows, a fleet holds
    if count == 2:
        assert all(len(seed) >= len(last) for seed in seeds)  # the whole last plan is offered
        assert all(follows)
    else:
        assert all(held)
