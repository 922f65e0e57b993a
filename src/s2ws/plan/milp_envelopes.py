"""PEBC in the MILP: the device follows its forecast, and the CEM may narrow its envelope.

Per step the power ``p`` lies between the forecast and what the allowed limits reach: a
producer (forecast < 0) may be curtailed up to the highest allowed lower limit, a consumer
(forecast > 0) held down to the lowest allowed upper limit. Curtailing costs a token price
(``Penalties.curtail`` per kWh), so the plan curtails only when it pays (negative export
prices) or a limit binds (the grid's export limit).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .lp import LinearProgram
from .milp_grid import Grid
from .model import PEBCModel
from .site import Site

__all__ = ["PEBCHandles", "add_pebc", "pebc_bounds"]


@dataclass
class PEBCHandles:
    model: PEBCModel
    forecast: list[float] = field(default_factory=list)
    columns: list[int | None] = field(default_factory=list)
    power: list[list[tuple[int, float]]] = field(default_factory=list)
    power_const: list[float] = field(default_factory=list)


def pebc_bounds(model: PEBCModel, forecast: float) -> tuple[float, float]:
    """The power the envelope can make of a forecast: (lowest, highest) W."""
    if forecast <= 0:
        if model.lower is None:
            return forecast, forecast
        low, high = model.lower
        return max(forecast, low), max(forecast, min(high, 0.0))
    if model.upper is None:
        return forecast, forecast
    low, high = model.upper
    return min(forecast, max(low, 0.0)), min(forecast, high)


def add_pebc(lp: LinearProgram, site: Site, grid: Grid, model: PEBCModel) -> PEBCHandles:
    handles = PEBCHandles(model)
    price = site.penalties.curtail
    for t in range(grid.size):
        forecast = model.forecast_mean(grid.starts[t], grid.end(t))
        handles.forecast.append(forecast)
        low, high = pebc_bounds(model, forecast)
        if high - low < 1e-6:
            handles.columns.append(None)
            handles.power.append([])
            handles.power_const.append(forecast)
            continue
        sign = 1.0 if forecast <= 0 else -1.0  # moving p away from the forecast costs
        col = lp.var((model.resource_id, "p", grid.starts[t]), low, high, sign * price * grid.hours(t) / 1000.0)
        lp.offset -= sign * price * grid.hours(t) / 1000.0 * forecast
        handles.columns.append(col)
        handles.power.append([(col, 1.0)])
        handles.power_const.append(0.0)
    return handles
