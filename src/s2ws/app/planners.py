"""Per-control-type planners on the CEM's control-type views: one step every quarter hour.

Each planner is a function ``(view, now) -> messages to send``; it reads only what the RM told
the CEM (the view) and builds its instructions with the view's ``instruct``/``cap``/``schedule``,
so the view counts them as pending at once. They are deliberately simple (fixed hours and
thresholds on the simulated time of day) and always valid:

- FRBC storage with a fill-level target (an EV): full power as late as the target still allows;
- FRBC storage with a usage forecast (a hot-water tank): preheat before the forecast use;
- any other FRBC storage (a battery): charge 10:00-15:00, discharge at 80 % 17:00-22:00, idle;
- PEBC: an export limit (lower limit -2.5 kW) per quarter hour from 11:00 to 15:00;
- PPBC: every container of every profile back to back from 06:00 (or now);
- DDBC: the first actuator (the cheap one, e.g. a heat pump) covers the demand as far as it can,
  the second (a boiler) the rest;
- OMBC: the evening peak: the middle mode 17:00-20:00, the strongest 18:00-19:00, else the weakest.

Modes are found by what they do (fill rate, supply, power), not by their labels, so a planner
works for any RM whose description has the same shape. :func:`planner_for` picks one for a view.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

from ..control import DDBCView, FRBCView, OMBCView, PEBCView, PPBCView, Reach
from ..errors import S2Error
from ..messages import CommodityQuantity, ControlType
from ..messages.base import S2Message
from ..messages.frbc import FRBCOperationMode
from ..messages.timeline import later, span
from ..sim.daily import in_window

__all__ = [
    "STEP",
    "Planner",
    "battery_plan",
    "ddbc_plan",
    "ev_plan",
    "heat_pump_plan",
    "make_view",
    "om_step",
    "ombc_plan",
    "pebc_plan",
    "planner_for",
    "ppbc_plan",
]

STEP = timedelta(minutes=15)
"""How often a planner looks at its RM (simulated time)."""
L1 = CommodityQuantity.ELECTRIC_POWER_L1

Planner = Callable[[Any, datetime], list[S2Message]]
View = FRBCView | PEBCView | PPBCView | DDBCView | OMBCView

_VIEWS: dict[ControlType, type[View]] = {
    ControlType.FILL_RATE_BASED_CONTROL: FRBCView,
    ControlType.POWER_ENVELOPE_BASED_CONTROL: PEBCView,
    ControlType.POWER_PROFILE_BASED_CONTROL: PPBCView,
    ControlType.DEMAND_DRIVEN_BASED_CONTROL: DDBCView,
    ControlType.OPERATION_MODE_BASED_CONTROL: OMBCView,
}


def make_view(control_type: ControlType | None) -> View | None:
    """A fresh view for ``control_type`` (None for NOT_CONTROLABLE / NO_SELECTION)."""
    kind = _VIEWS.get(control_type) if control_type is not None else None
    return None if kind is None else kind()


def om_step(view: Any, actuator: str | None, mode_id: str, factor: float, now: datetime) -> list[S2Message]:
    """Ask for ``mode_id`` at ``factor`` now, unless that is what runs or the mode is out of reach."""
    args = (actuator,) if actuator is not None else ()
    expected = view.expected(actuator or "", now)
    if expected.mode_id == mode_id and expected.factor is not None and abs(expected.factor - factor) < 1e-6:
        return []
    reach = {r.mode_id: r for r in view.reachable_modes(*args, now)}.get(mode_id)
    if reach is None or reach.reach not in (Reach.ACTIVE, Reach.NOW):
        return []
    return [view.instruct(*args, mode_id, factor, now, now)]


# --- FRBC ----------------------------------------------------------------------------------------


def _normal_frbc(view: FRBCView, now: datetime) -> tuple[str, list[FRBCOperationMode]] | None:
    description = view.descriptions.at(now)
    if description is None or not description.actuators:
        return None
    actuator = description.actuators[0]
    return actuator.id, [m for m in actuator.operation_modes if not m.abnormal_condition_only]


def _top_rate(mode: FRBCOperationMode) -> float:
    return max(e.fill_rate.end_of_range for e in mode.elements)


def _bottom_rate(mode: FRBCOperationMode) -> float:
    return min(e.fill_rate.start_of_range for e in mode.elements)


def _frbc_modes(view: FRBCView, now: datetime) -> tuple[str, str | None, str | None, str | None] | None:
    """(actuator, fastest raising mode, fastest lowering mode, a mode that holds the level)."""
    found = _normal_frbc(view, now)
    if found is None:
        return None
    actuator, modes = found
    raising = max((m for m in modes if _top_rate(m) > 0), key=_top_rate, default=None)
    lowering = min((m for m in modes if _bottom_rate(m) < 0), key=_bottom_rate, default=None)
    holding = min(modes, key=lambda m: max(abs(_top_rate(m)), abs(_bottom_rate(m))), default=None)
    return (
        actuator,
        None if raising is None else raising.id,
        None if lowering is None else lowering.id,
        None if holding is None else holding.id,
    )


def battery_plan(view: FRBCView, now: datetime) -> list[S2Message]:
    """Charge 10:00-15:00 until full, discharge at 0.8 17:00-22:00 until empty, idle otherwise."""
    modes = _frbc_modes(view, now)
    if modes is None:
        return []
    actuator, charge, discharge, idle = modes
    level = view.fill_level or 0.0
    if charge is not None and in_window(now, time(10), time(15)) and level < 99.9:
        return om_step(view, actuator, charge, 1.0, now)
    if discharge is not None and in_window(now, time(17), time(22)) and level > 0.1:
        return om_step(view, actuator, discharge, 0.8, now)
    return [] if idle is None else om_step(view, actuator, idle, 0.0, now)


def ev_plan(view: FRBCView, now: datetime) -> list[S2Message]:
    """As late as possible: full power once the time left barely suffices for the target."""
    modes = _frbc_modes(view, now)
    target = view.fill_level_target
    if modes is None or view.target_at(now) is None or target is None or view.fill_level is None:
        return []
    actuator, charging, _, off = modes
    if charging is None or off is None:
        return []
    departure = later(target.start_time, target.elements[0].duration)
    wanted = target.elements[-1].fill_level_range.start_of_range
    if now >= departure:
        return []
    rate = view.fill_rate_at(actuator, charging, 1.0, at=now)
    if rate <= 0:
        return []
    needed = span(max(wanted - view.fill_level, 0.0) / rate * 1000)
    charge = departure - now - 2 * STEP <= needed and view.fill_level < wanted
    return om_step(view, actuator, charging if charge else off, 1.0 if charge else 0.0, now)


def heat_pump_plan(view: FRBCView, now: datetime) -> list[S2Message]:
    """Preheat before the use the forecast announces; otherwise let the thermostat work."""
    modes = _frbc_modes(view, now)
    if modes is None:
        return []
    actuator, on, _, off = modes
    level = view.fill_level or 0.0
    soon = [view.usage_rate_at(now + i * STEP) or 0.0 for i in range(8)]
    if on is not None and max(soon) > 0.001 and level < 53:
        return om_step(view, actuator, on, 1.0, now)
    if off is not None and level > 52 and max(soon) == 0.0:
        return om_step(view, actuator, off, 0.0, now)
    return []


def frbc_plan(view: FRBCView, now: datetime) -> list[S2Message]:
    """An EV if there is a fill-level target, a tank if there is a usage forecast, else a battery."""
    if view.fill_level_target is not None:
        return ev_plan(view, now)
    if view.usage_forecast is not None:
        return heat_pump_plan(view, now)
    return battery_plan(view, now)


# --- the others ----------------------------------------------------------------------------------


def pebc_plan(view: PEBCView, now: datetime) -> list[S2Message]:
    """An export limit of 2.5 kW from 11:00 to 15:00, one envelope per quarter hour."""
    if not in_window(now, time(11), time(15)):
        return []
    try:
        return [view.cap(L1, now, now, STEP, lower=-2500.0)]
    except (S2Error, ValueError):
        return []  # no constraints in force for L1, or none that allow this cap


def ppbc_plan(view: PPBCView, now: datetime) -> list[S2Message]:
    """The whole programme back to back from 06:00 (or from now, when later)."""
    out: list[S2Message] = []
    for profile in view.profiles():
        start = max(now, now.replace(hour=6, minute=0, second=0, microsecond=0))
        for container in view.feasible_schedules(profile.id, now):
            if container.selected_sequence_id is not None or not container.options:
                break
            option = container.options[0]
            at = max(start, option.earliest_start)
            out.append(view.schedule(profile.id, container.container_id, option.sequence_id, at, now))
            start = later(at, option.duration)
    return out


def _supply_top(view: DDBCView, actuator: str, mode: str, now: datetime) -> float:
    return view.supply_rate_at(actuator, mode, 1.0, at=now)


def ddbc_plan(view: DDBCView, now: datetime) -> list[S2Message]:
    """The first actuator covers the demand as far as it can, the second the rest."""
    description = view.descriptions.at(now)
    demand = view.present_demand_rate(now)
    if description is None or demand is None or not description.actuators:
        return []
    actuators = description.actuators[:2]
    roles: list[tuple[str, str, str]] = []  # (actuator, on mode, off mode)
    for actuator in actuators:
        modes = [m for m in actuator.operation_modes if not m.abnormal_condition_only]
        if not modes:
            return []
        on = max(modes, key=lambda m: m.supply_range.end_of_range)
        off = min(modes, key=lambda m: m.supply_range.end_of_range)
        roles.append((actuator.id, on.Id, off.Id))
    need = demand.end_of_range
    out: list[S2Message] = []
    first, first_on, _ = roles[0]
    first_max = _supply_top(view, first, first_on, now)
    factor = view.factor_for_supply(first, first_on, min(max(need, 2000.0), first_max), at=now)
    out += om_step(view, first, first_on, factor, now)
    if len(roles) > 1:
        second, second_on, second_off = roles[1]
        rest = need - first_max
        if rest > 0:
            low = view.supply_rate_at(second, second_on, 0.0, at=now)
            out += om_step(
                view, second, second_on, view.factor_for_supply(second, second_on, max(rest, low), at=now), now
            )
        else:
            out += om_step(view, second, second_off, 0.0, now)
    return out


def ombc_plan(view: OMBCView, now: datetime) -> list[S2Message]:
    """The evening peak: the middle mode 17:00-20:00, the strongest 18:00-19:00, else the weakest."""
    description = view.descriptions.at(now)
    if description is None:
        return []
    modes = [m for m in description.operation_modes if not m.abnormal_condition_only]
    if not modes:
        return []

    def strength(mode: Any) -> float:
        return float(max(max(abs(r.start_of_range), abs(r.end_of_range)) for r in mode.power_ranges))

    ranked = sorted(modes, key=strength)
    weakest, strongest, middle = ranked[0], ranked[-1], ranked[len(ranked) // 2]
    if in_window(now, time(18), time(19)):
        return om_step(view, None, strongest.id, 0.0, now)
    if in_window(now, time(17), time(20)):
        return om_step(view, None, middle.id, 0.0, now)
    return om_step(view, None, weakest.id, 0.0, now)


_PLANNERS: dict[type[View], Planner] = {
    FRBCView: frbc_plan,
    PEBCView: pebc_plan,
    PPBCView: ppbc_plan,
    DDBCView: ddbc_plan,
    OMBCView: ombc_plan,
}


def planner_for(view: object) -> Planner | None:
    """The planner for a view's control type (None when there is none)."""
    for kind, planner in _PLANNERS.items():
        if type(view) is kind:
            return planner
    return None
