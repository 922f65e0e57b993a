"""FRBC planning on problems whose optimum is known by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from s2ws.control import FRBCView
from s2ws.messages import ControlType, FRBCInstruction
from s2ws.plan import Planner, PriceCurve, Series, Site, device_model
from s2ws.sim import BatteryDeviceSim, BatteryParams, EVSim, Loopback, ReadableIds

T0 = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
FRBC = ControlType.FILL_RATE_BASED_CONTROL


def two_prices(cheap: float, dear: float, hours: int = 4) -> PriceCurve:
    """``hours`` cheap then ``hours`` dear, import and export alike."""
    return PriceCurve(
        (
            (T0, cheap, cheap),
            (T0 + timedelta(hours=hours), dear, dear),
            (T0 + timedelta(hours=2 * hours), dear, dear),
        )
    )


def battery(soc: float) -> tuple[BatteryDeviceSim, FRBCView, Loopback]:
    sim = BatteryDeviceSim(BatteryParams(initial_soc=soc), now=T0, ids=ReadableIds())
    view = FRBCView()
    loop = Loopback(sim, view, now=T0, session="battery")
    loop.start(FRBC)
    return sim, view, loop


def test_battery_charges_cheap_and_discharges_dear() -> None:
    _, view, _ = battery(0.0)
    model = device_model("bat", view, T0)
    assert model is not None
    site = Site(prices=two_prices(0.10, 0.40), horizon=timedelta(hours=8))
    plan = Planner(site).plan([model], T0)
    assert plan.status == "optimal" and not plan.relaxations
    device = plan.devices["bat"]
    hours = [s / 3600 for s in plan.step_seconds]
    cheap = [t for t, s in enumerate(plan.steps) if s < T0 + timedelta(hours=4)]
    dear = [t for t in range(len(plan.steps)) if t not in cheap]
    charged = sum(device.power_w[t] * hours[t] for t in cheap) / 1000
    discharged = -sum(device.power_w[t] * hours[t] for t in dear) / 1000
    # 10 kWh at 95 %: 10 / 0.95 kWh from the grid fill it; a full battery gives 10 * 0.95 kWh back.
    assert charged == pytest.approx(10 / 0.95, rel=1e-4)
    assert discharged == pytest.approx(10 * 0.95, rel=1e-4)
    assert all(device.power_w[t] >= -1e-6 for t in cheap)
    assert all(device.power_w[t] <= 1e-6 for t in dear)
    assert max(abs(p) for p in device.power_w) <= 5000 + 1e-6
    assert device.fill_level is not None
    assert min(device.fill_level) >= -1e-6 and max(device.fill_level) <= 100 + 1e-6
    assert device.fill_level[-1] == pytest.approx(0.0, abs=1e-4)
    assert plan.objective_value == pytest.approx(0.10 * 10 / 0.95 - 0.40 * 10 * 0.95, abs=1e-3)
    # Instructions go through the view, each accepted by its preflight and counted as pending.
    instructions = plan.instructions("bat", view, T0, T0 + timedelta(hours=8))
    assert instructions and all(isinstance(i, FRBCInstruction) for i in instructions)
    assert all(T0 <= i.execution_time < T0 + timedelta(hours=8) for i in instructions if isinstance(i, FRBCInstruction))
    assert len(view.pending_instructions()) == len(instructions)


def test_battery_stays_idle_when_prices_are_flat() -> None:
    _, view, _ = battery(50.0)
    model = device_model("bat", view, T0)
    assert model is not None
    site = Site(prices=two_prices(0.25, 0.25), horizon=timedelta(hours=8))
    plan = Planner(site).plan([model], T0)
    device = plan.devices["bat"]
    assert all(abs(p) < 1e-6 for p in device.power_w)
    assert plan.instructions("bat", view, T0, T0 + timedelta(hours=8)) == []


def test_two_batteries_share_an_import_limit() -> None:
    # Each battery alone would charge at 5 kW in the cheap hours; the 6 kW connection (with a
    # 1 kW base load) lets the two together take 5 kW, and the plan says where the power goes.
    _, first, _ = battery(0.0)
    _, second, _ = battery(0.0)
    one, two = device_model("one", first, T0), device_model("two", second, T0)
    assert one is not None and two is not None
    site = Site(
        prices=two_prices(0.10, 0.40),
        horizon=timedelta(hours=8),
        import_limit_w=6000.0,
        base_load_w=Series.constant(1000.0),
        time_limit_s=20.0,
    )
    plan = Planner(site).plan([one, two], T0)
    assert plan.status in ("optimal", "time_limit") and not plan.relaxations
    for t in range(len(plan.steps)):
        total = 1000.0 + plan.devices["one"].power_w[t] + plan.devices["two"].power_w[t]
        assert plan.site_import_w[t] == pytest.approx(total, abs=1e-3)
        assert plan.site_import_w[t] <= 6000.0 + 1e-3
    hours = [s / 3600 for s in plan.step_seconds]
    charged = sum((plan.devices[d].power_w[t]) * hours[t] for d in ("one", "two") for t in range(16)) / 1000
    assert charged == pytest.approx(5.0 * 4, rel=1e-3)  # 4 cheap hours at the 5 kW left


def test_a_car_is_charged_to_its_target_and_no_further() -> None:
    # A car at 30 % wants 80 % at 07:30; the first four hours are cheap. Energy above the target
    # leaves with the car, so the plan buys exactly the 30 kWh the target needs (at 92 %), all of
    # it in the cheap hours, although the cheap price is below the horizon's mean.
    sim = EVSim(now=T0, ids=ReadableIds())
    view = FRBCView()
    Loopback(sim, view, now=T0, session="car").start(FRBC)
    model = device_model("car", view, T0)
    assert model is not None
    site = Site(prices=two_prices(0.10, 0.40), horizon=timedelta(hours=8))
    plan = Planner(site).plan([model], T0)
    device = plan.devices["car"]
    assert device.fill_level is not None
    departure = [t for t, s in enumerate(plan.steps) if s < T0 + timedelta(hours=7, minutes=30)][-1] + 1
    assert device.fill_level[departure] == pytest.approx(80.0, abs=1e-3)
    hours = [s / 3600 for s in plan.step_seconds]
    bought = sum(p * h for p, h in zip(device.power_w, hours, strict=True)) / 1000
    assert bought == pytest.approx(60 * 0.5 / 0.92, rel=1e-3)
    assert all(p <= 1e-6 for s, p in zip(plan.steps, device.power_w, strict=True) if s >= T0 + timedelta(hours=4))
