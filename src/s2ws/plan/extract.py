"""From a CEM control-type view to an immutable device model (:func:`device_model`)."""

from __future__ import annotations

from datetime import datetime

from ..control import DDBCView, FRBCView, OMBCView
from ..messages import FRBCSystemDescription
from .model import ActuatorModel, DeviceModel, OMModel, StorageModel, actuator_model, leak_line, ms_rows

__all__ = ["device_model"]


def _actuators(view: FRBCView | OMBCView | DDBCView, ids: list[str], now: datetime) -> tuple[ActuatorModel, ...] | None:
    out = []
    for actuator_id in ids:
        model = actuator_model(view, actuator_id, now)
        if model is None or not model.modes:
            return None
        out.append(model)
    return tuple(out)


def _frbc(resource_id: str, view: FRBCView, now: datetime) -> OMModel | None:
    description = view.description(now)
    if not isinstance(description, FRBCSystemDescription) or view.fill_level is None:
        return None
    actuators = _actuators(view, [a.id for a in description.actuators], now)
    if actuators is None:
        return None
    storage = description.storage
    leakage = view.leakage(now)
    leak = (
        leak_line(
            [
                (e.fill_level_range.start_of_range, e.fill_level_range.end_of_range, e.leakage_rate)
                for e in leakage.elements
            ]
        )
        if leakage is not None
        else (0.0, 0.0)
    )
    usage: tuple[tuple[datetime, datetime, float], ...] = ()
    if view.usage_forecast is not None:
        forecast = view.usage_forecast
        usage = ms_rows(
            forecast.start_time,
            [e.duration for e in forecast.elements],
            [e.usage_rate_expected for e in forecast.elements],
        )
    targets: tuple[tuple[datetime, datetime, float, float], ...] = ()
    if view.fill_level_target is not None:
        profile = view.fill_level_target
        rows = ms_rows(profile.start_time, [e.duration for e in profile.elements], [0.0] * len(profile.elements))
        targets = tuple(
            (a, b, e.fill_level_range.start_of_range, e.fill_level_range.end_of_range)
            for (a, b, _), e in zip(rows, profile.elements, strict=True)
        )
    model = StorageModel(
        low=storage.fill_level_range.start_of_range,
        high=storage.fill_level_range.end_of_range,
        level=view.fill_level,
        leak=leak,
        usage=usage,
        targets=targets,
        label=storage.fill_level_label if isinstance(storage.fill_level_label, str) else "",
    )
    return OMModel(resource_id, "FRBC", actuators, storage=model)


def _ombc(resource_id: str, view: OMBCView, now: datetime) -> OMModel | None:
    if view.description(now) is None:
        return None
    actuators = _actuators(view, [""], now)
    return None if actuators is None else OMModel(resource_id, "OMBC", actuators)


def _ddbc(resource_id: str, view: DDBCView, now: datetime) -> OMModel | None:
    description = view.description(now)
    if description is None:
        return None
    actuators = _actuators(view, [a.id for a in description.actuators], now)
    if actuators is None:
        return None
    present = view.present_demand_rate(now)
    default = 0.0 if present is None else (present.start_of_range + present.end_of_range) / 2
    demand: tuple[tuple[datetime, datetime, float], ...] = ()
    if view.demand_forecast is not None:
        forecast = view.demand_forecast
        demand = ms_rows(
            forecast.start_time,
            [e.duration for e in forecast.elements],
            [e.demand_rate_expected for e in forecast.elements],
        )
    return OMModel(resource_id, "DDBC", actuators, demand=demand, demand_default=default)


def device_model(resource_id: str, view: object, now: datetime) -> DeviceModel | None:
    """A snapshot of what the view knows, for the planner; None while nothing is plannable
    (no description in force, an FRBC storage whose level is unknown, an unknown view)."""
    if isinstance(view, FRBCView):
        return _frbc(resource_id, view, now)
    if isinstance(view, OMBCView):
        return _ombc(resource_id, view, now)
    if isinstance(view, DDBCView):
        return _ddbc(resource_id, view, now)
    return None
