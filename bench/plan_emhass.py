"""EMHASS beside the optimiser, on the battery + PV + deferrable-load part of the reference home.

EMHASS plans a battery, PV and deferrable loads (a load of fixed power for a number of hours inside a
window), day ahead. Here it gets the same data as the oracle (the tariff, the true base load, the PV
forecast, the car's energy need and departure, the washer's window), once at the start of the
simulated day; its plan is then carried out through the same S2 views and simulators as every other
strategy, so its cost is counted the same way: the battery's planned power becomes an FRBC mode and
factor each quarter hour, the car charges at full power in the quarter hours EMHASS switches it on,
and the washer's programme starts in the first quarter hour EMHASS runs it.

EMHASS runs in its own environment (``make emhass-venv``) through ``bench/emhass_run.py``.
"""

from __future__ import annotations

import json
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

from s2ws.errors import S2Error
from s2ws.messages import CommodityQuantity
from s2ws.sim import BatteryDeviceSim, EVSim, PVDeviceSim, WasherSim

from .plan_home import DAY, PPBC, STEP
from .plan_loop import MINUTE, HomeRun, Link
from .plan_strategies import start_now

__all__ = ["EMHASS_KINDS", "EmhassDayAhead", "emhass_python"]

REPO = Path(__file__).resolve().parent.parent
EMHASS_KINDS = ("battery", "pv", "ev", "washer")
"""The part of the home EMHASS can model: a battery, PV and two deferrable loads."""
PHASE = CommodityQuantity.ELECTRIC_POWER_3_PHASE_SYMMETRIC


def emhass_python() -> Path | None:
    """The interpreter of the EMHASS environment, if it has been made."""
    python = REPO / ".venv-emhass" / "bin" / "python"
    return python if python.exists() else None


def _problem(run: HomeRun) -> dict[str, Any]:
    steps = int(DAY / STEP)
    starts = [run.start + i * STEP for i in range(steps)]
    load = [sum(run.base_load(t + m * MINUTE) for m in range(0, 15, 5)) / 3 for t in starts]
    pv = [0.0] * steps
    battery: dict[str, Any] | None = None
    loads: list[dict[str, Any]] = []
    for link in run.links:
        sim = link.sim
        if isinstance(sim, PVDeviceSim):
            pv = [sum(sim.available_w(t + m * MINUTE) for m in range(0, 15, 5)) / 3 for t in starts]
        elif isinstance(sim, BatteryDeviceSim):
            b = sim.params
            battery = {
                "capacity_wh": b.capacity_wh,
                "max_charge_w": b.max_charge_w,
                "max_discharge_w": b.max_discharge_w,
                "efficiency": b.efficiency,
                "soc": sim.level / 100,
            }
        elif isinstance(sim, EVSim):
            p = sim.params
            need_wh = max(p.target_soc - sim.level, 0.0) / 100 * p.capacity_wh / p.efficiency
            end = min(steps, int((sim.departure - run.start) / STEP))
            hours = round(need_wh / p.max_charge_w * 4 + 0.49) / 4  # whole quarter hours
            loads.append({"name": "ev", "nominal_w": p.max_charge_w, "hours": hours, "start_step": 0, "end_step": end})
        elif isinstance(sim, WasherSim):
            definition = sim.definition
            end = min(steps, int((definition.end_time - run.start) / STEP))
            loads.append(
                {
                    "name": "washer",
                    "nominal_w": 1_000.0,
                    "hours": 1.5,
                    "start_step": 0,
                    "end_step": end,
                    "single_constant": True,
                }
            )
    return {
        "start": run.start.isoformat(),
        "step_minutes": int(STEP / MINUTE),
        "load_w": load,
        "pv_w": pv,
        "import_eur": list(run.tariff.import_eur[:steps]),
        "export_eur": list(run.tariff.export_eur[:steps]),
        "battery": battery,
        "loads": loads,
    }


def _modes(link: Link, now: datetime) -> tuple[str, str | None, str | None, str | None] | None:
    """(actuator, raising mode, lowering mode, idle mode) of an FRBC view's first actuator."""
    description = link.view.descriptions.at(now)
    if description is None or not description.actuators:
        return None
    actuator = description.actuators[0]
    normal = [m for m in actuator.operation_modes if not m.abnormal_condition_only]

    def top(mode: Any) -> float:
        return float(max(e.fill_rate.end_of_range for e in mode.elements))

    def bottom(mode: Any) -> float:
        return float(min(e.fill_rate.start_of_range for e in mode.elements))

    raising = max((m for m in normal if top(m) > 0), key=top, default=None)
    lowering = min((m for m in normal if bottom(m) < 0), key=bottom, default=None)
    idle = min(normal, key=lambda m: max(abs(top(m)), abs(bottom(m))), default=None)
    return (
        actuator.id,
        None if raising is None else raising.id,
        None if lowering is None else lowering.id,
        None if idle is None else idle.id,
    )


class EmhassDayAhead:
    """EMHASS's day-ahead plan, computed once at the start and carried out through the views."""

    name = "emhass"

    def __init__(self, python: Path, timeout_s: float = 300.0) -> None:
        self.python = python
        self.timeout_s = timeout_s
        self.answer: dict[str, Any] | None = None
        self.washer_started = False

    def start(self, run: HomeRun) -> None:
        for link in run.links:
            link.loop.select(link.device.control_type)
        completed = subprocess.run(
            [str(self.python), str(REPO / "bench" / "emhass_run.py")],
            input=json.dumps(_problem(run)),
            capture_output=True,
            text=True,
            timeout=self.timeout_s,
            check=True,
        )
        # HiGHS writes its banner on stdout too: the answer is the last line.
        self.answer = json.loads(completed.stdout.strip().splitlines()[-1])

    def step(self, run: HomeRun, now: datetime) -> None:
        assert self.answer is not None
        k = int((now - run.start) / STEP)
        for link in run.links:
            sim = link.sim
            if isinstance(sim, BatteryDeviceSim):
                self._battery(run, link, now, self.answer["battery_w"][k])
            elif isinstance(sim, EVSim):
                self._ev(run, link, now, self._on("ev", k))
            elif link.device.control_type is PPBC and not self.washer_started and self._on("washer", k):
                run.send(link, start_now(link, now))
                self.washer_started = True

    def _on(self, load: str, k: int) -> bool:
        assert self.answer is not None
        powers = self.answer["loads"].get(load, [])
        return k < len(powers) and float(powers[k]) > 1.0

    def _battery(self, run: HomeRun, link: Link, now: datetime, watts: float) -> None:
        modes = _modes(link, now)
        if modes is None:
            return
        actuator, charge, discharge, idle = modes
        view = link.view
        level = view.fill_level or 0.0
        mode: str | None = idle
        value = 0.0
        if watts > 1.0 and charge is not None and level < 99.9:
            mode, value = charge, watts
        elif watts < -1.0 and discharge is not None and level > 0.1:
            mode, value = discharge, watts
        if mode is None:
            return
        try:
            factor = view.factor_for_power(actuator, mode, PHASE, value, at=now)
        except (S2Error, ValueError):
            factor = 0.0
        self._switch(run, link, actuator, mode, max(0.0, min(1.0, factor)), now)

    def _ev(self, run: HomeRun, link: Link, now: datetime, on: bool) -> None:
        modes = _modes(link, now)
        if modes is None or not link.sim.plugged:
            return
        actuator, charging, _, off = modes
        mode = charging if on else off
        if mode is not None:
            self._switch(run, link, actuator, mode, 1.0 if on else 0.0, now)

    @staticmethod
    def _switch(run: HomeRun, link: Link, actuator: str, mode: str, factor: float, now: datetime) -> None:
        view = link.view
        expected = view.expected(actuator, now)
        if expected.mode_id == mode and expected.factor is not None and abs(expected.factor - factor) < 1e-3:
            return
        try:
            instruction = view.instruct(actuator, mode, factor, now, now)
        except (S2Error, ValueError):
            return  # the view refuses it (a timer, a full battery): the plan step is skipped
        run.send(link, [instruction])
