"""Single-message rules of the operation-mode control types (OMBC, FRBC, DDBC): each state
machine's ids and references, power ranges per commodity, fill-level tiling, and the factor of
statuses and instructions. One implementation serves all three through ``OM_RULE_IDS``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any, Final

from ..messages import common, ddbc, frbc, ombc
from ..messages.base import UNSET, S2Message
from ..messages.enums import Commodity
from .catalogue import OM_RULE_IDS, Finding, finding
from .single_base import (
    CQ_COMMODITY,
    Out,
    distinct_quantities,
    first_dup,
    fmt_num,
    machine_ok,
    no_zero,
    one_per_cq,
    ranges_ok,
    zero_durations,
)

__all__ = ["OM_CHECKS", "judge_factor"]

_OMBC = OM_RULE_IDS["OMBC"]
_FRBC = OM_RULE_IDS["FRBC"]
_DDBC = OM_RULE_IDS["DDBC"]


def _machine(
    out: Out,
    ids: dict[str, str],
    base: str,
    om_ids: list[str],
    id_key: str,
    transitions: Sequence[common.Transition],
    timers: Sequence[common.Timer],
    owner: str,
) -> None:
    """Uniqueness and references inside one state machine (an actuator or an OMBC system)."""
    oms = set(om_ids)
    if len(oms) != len(om_ids):
        index = first_dup(om_ids)
        reason = f"operation mode id {om_ids[index]} is used twice in {owner}"
        out.append(finding(ids["om_unique"], f"{base}/operation_modes/{index}/{id_key}", reason))
    timer_ids = [t.id for t in timers]
    known = set(timer_ids)
    if len(known) != len(timer_ids):
        index = first_dup(timer_ids)
        out.append(
            finding(ids["timer_unique"], f"{base}/timers/{index}/id", f"timer id {timer_ids[index]} is used twice")
        )
    if len(transitions) > 1 and (index := first_dup([t.id for t in transitions])) >= 0:
        reason = f"transition id {transitions[index].id} is used twice"
        out.append(finding(ids["transition_unique"], f"{base}/transitions/{index}/id", reason))
    _transition_warnings(out, base, transitions)
    for index, transition in enumerate(transitions):
        where = f"{base}/transitions/{index}"
        for key, mode in (("from", transition.from_), ("to", transition.to)):
            if mode not in oms:
                out.append(
                    finding(ids["transition_oms"], f"{where}/{key}", f"{mode} is not an operation mode of {owner}")
                )
        for key, names in (("start_timers", transition.start_timers), ("blocking_timers", transition.blocking_timers)):
            for j, name in enumerate(names):
                if name not in known:
                    reason = f"{name} is not a timer of {owner}"
                    out.append(finding(ids["transition_timers"], f"{where}/{key}/{j}", reason))


def _ranges(
    out: Out,
    ids: dict[str, str],
    ranges: Sequence[common.PowerRange],
    pointer: str,
    supported: Sequence[Commodity] | None,
    owner: str,
) -> None:
    """At most one range per quantity, and (FRBC/DDBC) only quantities of supported commodities."""
    one_per_cq(out, ids["range_per_cq"], ranges, pointer)
    if supported is not None:
        for index, power_range in enumerate(ranges):
            commodity = CQ_COMMODITY[power_range.commodity_quantity]
            if commodity not in supported:
                what = commodity.value if commodity else "no commodity"
                reason = (
                    f"{power_range.commodity_quantity.value} measures {what}, "
                    f"which {owner} does not list in its supported commodities"
                )
                out.append(finding(ids["range_commodity"], f"{pointer}/{index}/commodity_quantity", reason))


def _contiguous(out: Out, rule: str, strict_rule: str, spans: list[tuple[float, float, int]], pointer: str) -> None:
    """Each span starts below its end, and together they tile one interval (in any order)."""
    for start, end, index in spans:
        if not start < end:
            reason = f"start {fmt_num(start)} is not below end {fmt_num(end)}"
            out.append(finding(strict_rule, f"{pointer}/{index}/fill_level_range", reason))
    for (_s1, e1, i1), (s2, _e2, i2) in pairwise(sorted(spans)):
        if e1 != s2 and abs(e1 - s2) > 1e-9 * max(1.0, abs(e1), abs(s2)):
            what = "leave a gap" if e1 < s2 else "overlap"
            reason = f"elements {i1} (ends at {fmt_num(e1)}) and {i2} (starts at {fmt_num(s2)}) {what}"
            out.append(finding(rule, f"{pointer}/{i2}/fill_level_range", reason))
            return


def _commodities_once(out: Out, ids: dict[str, str], commodities: Sequence[Commodity], pointer: str) -> None:
    if len(commodities) > 1 and (index := first_dup(commodities)) >= 0:
        out.append(finding(ids["commodities_unique"], f"{pointer}/{index}", f"{commodities[index].value} listed twice"))


def _actuator_ids(out: Out, ids: dict[str, str], actuators: Sequence[Any]) -> None:
    if len(actuators) > 1 and (index := first_dup([a.id for a in actuators])) >= 0:
        reason = f"actuator id {actuators[index].id} is used twice"
        out.append(finding(ids["actuator_unique"], f"/actuators/{index}/id", reason))


def _om_status(ids: dict[str, str]) -> Callable[[Any], Out]:
    rule_factor, rule_same, rule_pair = ids["status_factor"], ids["previous_same"], ids["previous_pair"]

    def check(m: Any) -> Out:
        out: Out = []
        factor = m.operation_mode_factor
        if not 0.0 <= factor <= 1.0:
            out.append(finding(rule_factor, "/operation_mode_factor", f"{fmt_num(factor)} is outside [0, 1]"))
        previous = m.previous_operation_mode_id
        if previous == m.active_operation_mode_id:
            reason = f"previous operation mode {previous} is the active one"
            out.append(finding(rule_same, "/previous_operation_mode_id", reason))
        if (previous is UNSET) is not (m.transition_timestamp is UNSET):
            missing = "previous_operation_mode_id" if previous is UNSET else "transition_timestamp"
            other = "transition_timestamp" if previous is UNSET else "previous_operation_mode_id"
            out.append(finding(rule_pair, f"/{missing}", f"{other} is given but {missing} is not"))
        return out

    return check


def judge_factor(area: str, factor: float, *, why: str = "", subject: str = "") -> Finding | None:
    """instruction_factor of ``area``: an operation_mode_factor lies in [0, 1]. ``why``: a reason
    already known (a power that no factor of the mode gives); ``subject`` leads the reason."""
    if not why and 0.0 <= factor <= 1.0:
        return None
    reason = why or f"{subject}{fmt_num(factor)} is outside [0, 1]"
    return finding(OM_RULE_IDS[area]["instruction_factor"], "/operation_mode_factor", reason)


def _om_instruction(area: str) -> Callable[[Any], Out]:
    def check(m: Any) -> Out:
        wrong = judge_factor(area, m.operation_mode_factor)
        return [] if wrong is None else [wrong]

    return check


def _transition_warnings(out: Out, base: str, transitions: Sequence[common.Transition]) -> None:
    for index, transition in enumerate(transitions):
        where = f"{base}/transitions/{index}"
        if transition.from_ == transition.to:
            reason = f"transition {transition.id} leads from {transition.from_} back to itself"
            out.append(finding("S2-COMMON-004", where + "/to", reason))
        for key, names in (("start_timers", transition.start_timers), ("blocking_timers", transition.blocking_timers)):
            if len(names) > 1 and (j := first_dup(names)) >= 0:
                out.append(finding("S2-COMMON-005", f"{where}/{key}/{j}", f"timer {names[j]} is listed twice"))


def _costs(out: Out, costs: common.NumberRange | Any, pointer: str) -> None:
    if costs is not UNSET and costs.start_of_range > costs.end_of_range:
        reason = f"start {fmt_num(costs.start_of_range)} is above end {fmt_num(costs.end_of_range)}"
        out.append(finding("S2-COMMON-003", pointer + "/running_costs", reason))


def _coverage(out: Out, om: frbc.FRBCOperationMode, storage: common.NumberRange, where: str) -> None:
    low, high = storage.start_of_range, storage.end_of_range
    first = min(e.fill_level_range.start_of_range for e in om.elements)
    last = max(e.fill_level_range.end_of_range for e in om.elements)
    if low <= high and (first > low or last < high):
        reason = (
            f"operation mode {om.id} covers fill levels [{fmt_num(first)}, {fmt_num(last)}], "
            f"the storage [{fmt_num(low)}, {fmt_num(high)}]"
        )
        out.append(finding(_FRBC["elements_cover"], where, reason))


def _ombc_description(m: ombc.OMBCSystemDescription) -> Out:
    oms = m.operation_modes
    if machine_ok(oms, {om.id for om in oms}, m.transitions, m.timers):
        for om in oms:
            costs = om.running_costs
            if not distinct_quantities(om.power_ranges) or (
                costs is not UNSET and costs.start_of_range > costs.end_of_range
            ):
                break
        else:
            return []
    out: Out = []
    _machine(out, _OMBC, "", [om.id for om in oms], "id", m.transitions, m.timers, "the system description")
    for index, om in enumerate(oms):
        one_per_cq(out, _OMBC["range_per_cq"], om.power_ranges, f"/operation_modes/{index}/power_ranges")
        _costs(out, om.running_costs, f"/operation_modes/{index}")
    return out


def _frbc_description(m: frbc.FRBCSystemDescription) -> Out:
    return [] if _frbc_description_ok(m) else _frbc_description_detail(m)


def _frbc_description_ok(m: frbc.FRBCSystemDescription) -> bool:
    actuators = m.actuators
    storage = m.storage.fill_level_range
    low, high = storage.start_of_range, storage.end_of_range
    if not low < high or len({a.id for a in actuators}) != len(actuators):
        return False
    for actuator in actuators:
        oms = actuator.operation_modes
        if not machine_ok(oms, {om.id for om in oms}, actuator.transitions, actuator.timers):
            return False
        supported = actuator.supported_commodities
        if len(supported) > 1 and len(set(supported)) != len(supported):
            return False
        # The common shape: each mode's elements tile [low, high] in the given order. Anything
        # else goes to the slow walk, which also accepts contiguous elements in another order.
        for om in oms:
            end = None
            for element in om.elements:
                level = element.fill_level_range
                start = level.start_of_range
                if start >= level.end_of_range or (start > low if end is None else start != end):
                    return False
                end = level.end_of_range
                ranges = element.power_ranges
                if len(ranges) == 1:  # the usual element: one range (ranges_ok inlined, once per element)
                    if CQ_COMMODITY[ranges[0].commodity_quantity] not in supported:
                        return False
                elif not ranges_ok(ranges, supported):
                    return False
                costs = element.running_costs
                if costs is not UNSET and costs.start_of_range > costs.end_of_range:
                    return False
            if end is None or end < high:
                return False
    return True


def _frbc_description_detail(m: frbc.FRBCSystemDescription) -> Out:
    out: Out = []
    actuators = m.actuators
    _actuator_ids(out, _FRBC, actuators)
    storage = m.storage.fill_level_range
    if storage.start_of_range > storage.end_of_range:
        reason = f"start {fmt_num(storage.start_of_range)} is above end {fmt_num(storage.end_of_range)}"
        out.append(finding(_FRBC["storage_range"], "/storage/fill_level_range", reason))
    for i, actuator in enumerate(actuators):
        base = f"/actuators/{i}"
        oms = actuator.operation_modes
        _machine(out, _FRBC, base, [om.id for om in oms], "id", actuator.transitions, actuator.timers, actuator.id)
        supported = actuator.supported_commodities
        _commodities_once(out, _FRBC, supported, base + "/supported_commodities")
        for j, om in enumerate(oms):
            where = f"{base}/operation_modes/{j}/elements"
            spans = [
                (e.fill_level_range.start_of_range, e.fill_level_range.end_of_range, k)
                for k, e in enumerate(om.elements)
            ]
            _contiguous(out, _FRBC["elements_contiguous"], _FRBC["element_range"], spans, where)
            for k, element in enumerate(om.elements):
                _ranges(out, _FRBC, element.power_ranges, f"{where}/{k}/power_ranges", supported, actuator.id)
                _costs(out, element.running_costs, f"{where}/{k}")
            _coverage(out, om, storage, where)
    return out


def _leakage(m: frbc.FRBCLeakageBehaviour) -> Out:
    end: float | None = None
    for element in m.elements:
        level = element.fill_level_range
        if level.start_of_range >= level.end_of_range or (end is not None and level.start_of_range != end):
            break
        end = level.end_of_range
    else:
        return []
    out: Out = []
    spans = [(e.fill_level_range.start_of_range, e.fill_level_range.end_of_range, k) for k, e in enumerate(m.elements)]
    _contiguous(out, _FRBC["leakage_contiguous"], _FRBC["leakage_range"], spans, "/elements")
    return out


def _fill_level_target(m: frbc.FRBCFillLevelTargetProfile) -> Out:
    for element in m.elements:
        level = element.fill_level_range
        if element.duration == 0 or level.start_of_range > level.end_of_range:
            break
    else:
        return []
    out: Out = []
    for index, element in enumerate(m.elements):
        flr = element.fill_level_range
        if flr.start_of_range > flr.end_of_range:
            reason = f"start {fmt_num(flr.start_of_range)} is above end {fmt_num(flr.end_of_range)}"
            out.append(finding(_FRBC["target_range"], f"/elements/{index}/fill_level_range", reason))
    zero_durations(out, m.elements, "/elements")
    return out


def _usage_forecast(m: frbc.FRBCUsageForecast | ddbc.DDBCAverageDemandRateForecast) -> Out:
    if no_zero(m.elements):
        return []
    out: Out = []
    zero_durations(out, m.elements, "/elements")
    return out


def _ddbc_description(m: ddbc.DDBCSystemDescription | ddbc.DDBCSystemDescriptionV1) -> Out:
    return [] if _ddbc_description_ok(m) else _ddbc_description_detail(m)


def _ddbc_description_ok(m: ddbc.DDBCSystemDescription | ddbc.DDBCSystemDescriptionV1) -> bool:
    actuators = m.actuators
    if len({a.id for a in actuators}) != len(actuators):
        return False
    if isinstance(m, ddbc.DDBCSystemDescription):
        rate = m.present_demand_rate
        if rate.start_of_range > rate.end_of_range:
            return False
    for actuator in actuators:
        oms = actuator.operation_modes
        if not machine_ok(oms, {om.Id for om in oms}, actuator.transitions, actuator.timers):
            return False
        if len(oms) > 1 and not actuator.transitions:
            return False
        supported = actuator.supported_commodites
        if len(supported) > 1 and len(set(supported)) != len(supported):
            return False
        for om in oms:
            if not ranges_ok(om.power_ranges, supported):
                return False
            costs = om.running_costs
            if costs is not UNSET and costs.start_of_range > costs.end_of_range:
                return False
    return True


def _ddbc_description_detail(m: ddbc.DDBCSystemDescription | ddbc.DDBCSystemDescriptionV1) -> Out:
    out: Out = []
    actuators = m.actuators
    _actuator_ids(out, _DDBC, actuators)
    for i, actuator in enumerate(actuators):
        base = f"/actuators/{i}"
        oms = actuator.operation_modes
        _machine(out, _DDBC, base, [om.Id for om in oms], "Id", actuator.transitions, actuator.timers, actuator.id)
        supported = actuator.supported_commodites
        _commodities_once(out, _DDBC, supported, base + "/supported_commodites")
        if len(oms) > 1 and not actuator.transitions:
            reason = f"{len(oms)} operation modes but no transition between them"
            out.append(finding(_DDBC["no_transitions"], base + "/transitions", reason))
        for j, om in enumerate(oms):
            _ranges(out, _DDBC, om.power_ranges, f"{base}/operation_modes/{j}/power_ranges", supported, actuator.id)
            _costs(out, om.running_costs, f"{base}/operation_modes/{j}")
    if isinstance(m, ddbc.DDBCSystemDescription):
        _demand_range(out, m.present_demand_rate)
    return out


def _demand_range(out: Out, rate: common.NumberRange) -> None:
    if rate.start_of_range > rate.end_of_range:
        reason = f"start {fmt_num(rate.start_of_range)} is above end {fmt_num(rate.end_of_range)}"
        out.append(finding(_DDBC["demand_range"], "/present_demand_rate", reason))


def _present_demand(m: ddbc.DDBCPresentDemandStatus) -> Out:
    out: Out = []
    _demand_range(out, m.present_demand_rate)
    return out


OM_CHECKS: Final[dict[type[S2Message], Callable[[Any], Out]]] = {
    ombc.OMBCSystemDescription: _ombc_description,
    ombc.OMBCStatus: _om_status(_OMBC),
    ombc.OMBCInstruction: _om_instruction("OMBC"),
    frbc.FRBCSystemDescription: _frbc_description,
    frbc.FRBCActuatorStatus: _om_status(_FRBC),
    frbc.FRBCInstruction: _om_instruction("FRBC"),
    frbc.FRBCLeakageBehaviour: _leakage,
    frbc.FRBCFillLevelTargetProfile: _fill_level_target,
    frbc.FRBCUsageForecast: _usage_forecast,
    ddbc.DDBCSystemDescription: _ddbc_description,
    ddbc.DDBCSystemDescriptionV1: _ddbc_description,
    ddbc.DDBCPresentDemandStatus: _present_demand,
    ddbc.DDBCAverageDemandRateForecast: _usage_forecast,
    ddbc.DDBCActuatorStatus: _om_status(_DDBC),
    ddbc.DDBCInstruction: _om_instruction("DDBC"),
}
"""The checker of each OMBC, FRBC and DDBC message type."""
