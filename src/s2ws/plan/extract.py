"""From a CEM control-type view to an immutable device model (:func:`device_model`)."""

from __future__ import annotations

from datetime import datetime

from ..control import DDBCView, FRBCView, OMBCView, PEBCView, PPBCView
from ..messages import FRBCSystemDescription, PowerForecast, PPBCPowerSequence, PPBCPowerSequenceStatus
from ..messages.timeline import earlier, later
from .model import (
    ELECTRIC,
    ActuatorModel,
    ContainerModel,
    DeviceModel,
    OMModel,
    PEBCModel,
    PPBCModel,
    ProfileModel,
    SequenceModel,
    StorageModel,
    actuator_model,
    electric_total,
    leak_line,
    ms_rows,
)

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
    least = 0.0 if present is None else min(present.start_of_range, present.end_of_range)
    return OMModel(resource_id, "DDBC", actuators, demand=demand, demand_default=default, demand_now=least)


def _elements(sequence: PPBCPowerSequence) -> tuple[tuple[float, float], ...]:
    return tuple((e.duration / 1000.0, electric_total(e.power_values)) for e in sequence.elements)


def _rows(elements: tuple[tuple[float, float], ...], start: datetime) -> tuple[tuple[datetime, datetime, float], ...]:
    out = []
    moment = start
    for seconds, watts in elements:
        end = later(moment, seconds * 1000)
        out.append((moment, end, watts))
        moment = end
    return tuple(out)


_OPEN = (PPBCPowerSequenceStatus.SCHEDULED, PPBCPowerSequenceStatus.EXECUTING, PPBCPowerSequenceStatus.INTERRUPTED)


def _ppbc(resource_id: str, view: PPBCView, now: datetime) -> PPBCModel | None:
    profiles = []
    for definition in view.profiles():
        sequences = {c.id: {s.id: s for s in c.power_sequences} for c in definition.power_sequences_containers}
        containers = []
        for state in view.feasible_schedules(definition.id, now):
            known = sequences.get(state.container_id, {})
            selected = known.get(state.selected_sequence_id) if state.selected_sequence_id else None
            if selected is not None and state.status in _OPEN and state.end is not None:
                elements = _elements(selected)
                total = sum(d for d, _ in elements)
                rows = _rows(elements, earlier(state.end, total * 1000))
                containers.append(ContainerModel(state.container_id, fixed=tuple(r for r in rows if r[1] > now)))
            elif state.status is PPBCPowerSequenceStatus.NOT_SCHEDULED:
                options = tuple(
                    SequenceModel(
                        o.sequence_id,
                        _elements(known[o.sequence_id]),
                        o.earliest_start,
                        o.latest_start,
                        None if o.max_pause_before is None else o.max_pause_before.total_seconds(),
                    )
                    for o in state.options
                    if o.sequence_id in known and not o.abnormal_condition_only
                )
                containers.append(ContainerModel(state.container_id, options))
            else:
                containers.append(ContainerModel(state.container_id, fixed=()))
        profiles.append(ProfileModel(definition.id, definition.start_time, definition.end_time, tuple(containers)))
    return PPBCModel(resource_id, tuple(profiles)) if profiles else None


def _pebc(resource_id: str, view: PEBCView, now: datetime, forecast: PowerForecast | None) -> PEBCModel | None:
    constraints = view.constraints_at(now)
    if constraints is None:
        return None
    quantities = [r.commodity_quantity for r in constraints.allowed_limit_ranges]
    quantity = next((q for q in quantities if q in ELECTRIC), None)
    if quantity is None:
        return None
    allowed = view.allowed_limits(quantity, now)
    if allowed is None:
        return None
    lower = (allowed.lower[0][0], allowed.lower[-1][1]) if allowed.lower else None
    upper = (allowed.upper[0][0], allowed.upper[-1][1]) if allowed.upper else None
    rows: tuple[tuple[datetime, datetime, float], ...] = ()
    if forecast is not None:
        rows = ms_rows(
            forecast.start_time,
            [e.duration for e in forecast.elements],
            [electric_total(e.power_values) for e in forecast.elements],
        )
    return PEBCModel(resource_id, quantity, rows, lower, upper)


def device_model(
    resource_id: str, view: object, now: datetime, *, forecast: PowerForecast | None = None
) -> DeviceModel | None:
    """A snapshot of what the view knows, for the planner; None while nothing is plannable
    (no description, constraints or profile in force, an FRBC storage whose level is unknown,
    an unknown view). ``forecast`` is the RM's last PowerForecast: PEBC plans around it (a PV
    inverter's expected production); without one a PEBC device is planned at 0 W."""
    if isinstance(view, PPBCView):
        return _ppbc(resource_id, view, now)
    if isinstance(view, PEBCView):
        return _pebc(resource_id, view, now, forecast)
    if isinstance(view, FRBCView):
        return _frbc(resource_id, view, now)
    if isinstance(view, OMBCView):
        return _ombc(resource_id, view, now)
    if isinstance(view, DDBCView):
        return _ddbc(resource_id, view, now)
    return None
