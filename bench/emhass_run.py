"""Run EMHASS's day-ahead optimisation on one problem, in EMHASS's own environment (``make emhass-venv``).

Reads a JSON problem on stdin, writes the plan as JSON on the last line of stdout (the solver
prints its banner there too); the planning benchmark calls it with
``.venv-emhass/bin/python bench/emhass_run.py`` so that EMHASS and its dependencies (cvxpy, pandas)
never enter the project's environment. The problem::

    {"start": RFC 3339, "step_minutes": 15, "load_w": [...], "pv_w": [...], "import_eur": [...],
     "export_eur": [...],
     "battery": {"capacity_wh", "max_charge_w", "max_discharge_w", "efficiency", "soc"} | null,
     "loads": [{"name", "nominal_w", "hours", "start_step", "end_step"}, ...]}

The answer: ``{"status", "seconds", "battery_w": [...] (positive: charging), "loads": {name: [W...]}}``.
Uses only EMHASS's documented configuration keys (config_defaults.json names) and its
``Optimization.perform_dayahead_forecast_optim``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import pathlib
import sys
import time
from typing import Any


def solve(problem: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd  # type: ignore[import-not-found, import-untyped, unused-ignore]
    from emhass import utils  # type: ignore[import-not-found, import-untyped, unused-ignore]
    from emhass.optimization import Optimization  # type: ignore[import-not-found, import-untyped, unused-ignore]

    logger = logging.getLogger("emhass")
    logger.setLevel(logging.ERROR)
    root = pathlib.Path(utils.__file__).parent
    data = root / "data"
    emhass_conf = {
        "data_path": data,
        "root_path": root,
        "defaults_path": data / "config_defaults.json",
        "associations_path": data / "associations.csv",
    }
    config = asyncio.run(utils.build_config(emhass_conf, logger, str(emhass_conf["defaults_path"])))
    step = int(problem["step_minutes"])
    n = len(problem["load_w"])
    loads = problem["loads"]
    battery = problem.get("battery")
    config.update(
        {
            "optimization_time_step": step,
            "delta_forecast_daily": 1,
            "time_zone": "UTC",
            "costfun": "profit",
            "lp_solver": "Highs",
            "set_total_pv_sell": False,
            "number_of_deferrable_loads": len(loads),
            "nominal_power_of_deferrable_loads": [float(d["nominal_w"]) for d in loads],
            "minimum_power_of_deferrable_loads": [0.0 for _ in loads],
            "operating_hours_of_each_deferrable_load": [float(d["hours"]) for d in loads],
            "start_timesteps_of_each_deferrable_load": [int(d["start_step"]) for d in loads],
            "end_timesteps_of_each_deferrable_load": [int(d["end_step"]) for d in loads],
            "treat_deferrable_load_as_semi_cont": [bool(d.get("semi_cont", True)) for d in loads],
            "set_deferrable_load_single_constant": [bool(d.get("single_constant", False)) for d in loads],
            "set_deferrable_startup_penalty": [0.0 for _ in loads],
            "set_deferrable_max_startups": [0 for _ in loads],
            "cost_forecast_per_deferrable_load": [None for _ in loads],
            "is_electric_load": [True for _ in loads],
            "deferrable_load_max_cost": [0.0 for _ in loads],
            "set_use_pv": True,
            "set_use_battery": battery is not None,
            "set_nodischarge_to_grid": False,
            "compute_curtailment": False,
            "inverter_ac_output_max": 20_000,
            "inverter_ac_input_max": 20_000,
            "maximum_power_from_grid": 40_000,
            "maximum_power_to_grid": 40_000,
        }
    )
    if battery is not None:
        efficiency = float(battery["efficiency"])
        config.update(
            {
                "battery_nominal_energy_capacity": float(battery["capacity_wh"]),
                "battery_charge_power_max": float(battery["max_charge_w"]),
                "battery_discharge_power_max": float(battery["max_discharge_w"]),
                "battery_charge_efficiency": efficiency,
                "battery_discharge_efficiency": 1.0,
                "battery_minimum_state_of_charge": 0.0,
                "battery_maximum_state_of_charge": 1.0,
                "battery_target_state_of_charge": float(battery["soc"]),
            }
        )
    params = asyncio.run(utils.build_params(emhass_conf, {}, config, logger))
    retrieve_hass_conf, optim_conf, plant_conf = utils.get_yaml_parse(params, logger)
    index = pd.date_range(start=pd.Timestamp(problem["start"]), periods=n, freq=f"{step}min")
    frame = pd.DataFrame(
        {"unit_load_cost": problem["import_eur"], "unit_prod_price": problem["export_eur"]}, index=index
    )
    pv = pd.Series([-float(v) if v < 0 else float(v) for v in problem["pv_w"]], index=index)
    load = pd.Series([float(v) for v in problem["load_w"]], index=index)
    optimiser = Optimization(
        retrieve_hass_conf,
        optim_conf,
        plant_conf,
        "unit_load_cost",
        "unit_prod_price",
        "profit",
        emhass_conf,
        logger,
        num_timesteps=n,
    )
    began = time.perf_counter()
    soc = None if battery is None else float(battery["soc"])
    result = optimiser.perform_dayahead_forecast_optim(frame, pv, load, soc_init=soc, soc_final=soc)
    seconds = time.perf_counter() - began
    out: dict[str, Any] = {"status": str(optimiser.optim_status), "seconds": seconds, "loads": {}}
    out["battery_w"] = [-float(v) for v in result["P_batt"]] if "P_batt" in result else [0.0] * n
    for i, d in enumerate(loads):
        out["loads"][d["name"]] = [float(v) for v in result[f"P_deferrable{i}"]]
    return out


def main() -> int:
    problem = json.load(sys.stdin)
    answer = solve(problem)
    sys.stdout.write("\n" + json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
