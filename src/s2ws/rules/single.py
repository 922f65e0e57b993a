"""Context-free rules: what one decoded message must satisfy on its own.

``check_message`` runs after every decode, so each checker first asks a cheap question in
C-level passes (``map``, ``set``, slices) that only says "something may be wrong"; valid
traffic stops there. Only then does a second, slower walk find what is wrong and where. The
few warnings that must visit every element of a long series or description to say little of
consequence are ``deep`` rules: :func:`check_deep` runs them (validate, replay, context).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import pairwise
from operator import attrgetter
from types import MappingProxyType
from typing import Any, Final

from ..messages import common, ddbc, frbc, ombc, pebc, ppbc
from ..messages.base import UNSET, S2Message
from ..messages.enums import (
    Commodity,
    CommodityQuantity,
    ControlType,
    PEBCPowerEnvelopeLimitType,
    PPBCPowerSequenceStatus,
    ReceptionStatusValues,
)
from .catalogue import OM_RULE_IDS, Finding, finding
from .session_rules import judge_rm_versions

__all__ = [
    "CQ_COMMODITY",
    "QUANTITY_UNITS",
    "check_deep",
    "check_message",
    "fmt_num",
    "judge_factor",
    "sequence_duration_ms",
    "single_rules",
]

QUANTITY_UNITS: Final[Mapping[CommodityQuantity, str]] = MappingProxyType(
    {
        CommodityQuantity.ELECTRIC_POWER_L1: "W",
        CommodityQuantity.ELECTRIC_POWER_L2: "W",
        CommodityQuantity.ELECTRIC_POWER_L3: "W",
        CommodityQuantity.ELECTRIC_POWER_3_PHASE_SYMMETRIC: "W",
        CommodityQuantity.NATURAL_GAS_FLOW_RATE: "l/s",
        CommodityQuantity.HYDROGEN_FLOW_RATE: "g/s",
        CommodityQuantity.HEAT_TEMPERATURE: "°C",
        CommodityQuantity.HEAT_FLOW_RATE: "l/s",
        CommodityQuantity.HEAT_THERMAL_POWER: "W",
        CommodityQuantity.OIL_FLOW_RATE: "l/h",
    }
)
"""The unit the standard gives each quantity (oil alone is per hour)."""

CQ_COMMODITY: Final[dict[CommodityQuantity, Commodity | None]] = {
    CommodityQuantity.ELECTRIC_POWER_L1: Commodity.ELECTRICITY,
    CommodityQuantity.ELECTRIC_POWER_L2: Commodity.ELECTRICITY,
    CommodityQuantity.ELECTRIC_POWER_L3: Commodity.ELECTRICITY,
    CommodityQuantity.ELECTRIC_POWER_3_PHASE_SYMMETRIC: Commodity.ELECTRICITY,
    CommodityQuantity.NATURAL_GAS_FLOW_RATE: Commodity.GAS,
    CommodityQuantity.HYDROGEN_FLOW_RATE: None,  # no Commodity covers hydrogen (see docs/rules.md)
    CommodityQuantity.HEAT_TEMPERATURE: Commodity.HEAT,
    CommodityQuantity.HEAT_FLOW_RATE: Commodity.HEAT,
    CommodityQuantity.HEAT_THERMAL_POWER: Commodity.HEAT,
    CommodityQuantity.OIL_FLOW_RATE: Commodity.OIL,
}
"""Which commodity a quantity measures; the standard implies it by the quantity names."""

Out = list[Finding]

_OMBC = OM_RULE_IDS["OMBC"]
_FRBC = OM_RULE_IDS["FRBC"]
_DDBC = OM_RULE_IDS["DDBC"]


def fmt_num(value: float) -> str:
    """A number as a person would write it: 1400 rather than 1400.0."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _first_dup(values: Sequence[Any]) -> int:
    """Index of the first value that already occurred, or -1."""
    seen: set[Any] = set()
    for index, value in enumerate(values):
        if value in seen:
            return index
        seen.add(value)
    return -1


def sequence_duration_ms(sequence: ppbc.PPBCPowerSequence) -> int:
    """How long a power sequence runs, in milliseconds."""
    return sum([e.duration for e in sequence.elements])


# --- fast predicates -------------------------------------------------------------------------
# Plain loops with early exits: on CPython 3.11+ attribute reads of these slotted structs are
# specialised, so a loop beats chains of map/attrgetter; no pointer or string is built here.


def _distinct_quantities(values: Sequence[Any]) -> bool:
    """At most one entry per commodity quantity (enum members compare by identity)."""
    n = len(values)
    if n < 2:
        return True
    if n == 2:
        return values[0].commodity_quantity is not values[1].commodity_quantity
    if n == 3:
        a, b, c = values[0].commodity_quantity, values[1].commodity_quantity, values[2].commodity_quantity
        return a is not b and a is not c and b is not c
    return len({v.commodity_quantity for v in values}) == n


def _machine_ok(modes: Sequence[Any], mode_ids: set[str], transitions: Sequence[Any], timers: Sequence[Any]) -> bool:
    """Ids unique, transitions between known modes, timers known (the error rules only)."""
    if len(mode_ids) != len(modes):
        return False
    known = {t.id for t in timers}
    if len(known) != len(timers) or len({t.id for t in transitions}) != len(transitions):
        return False
    for transition in transitions:
        source, target = transition.from_, transition.to
        if source not in mode_ids or target not in mode_ids or source == target:
            return False
        starts, blocks = transition.start_timers, transition.blocking_timers
        for name in starts:
            if name not in known:
                return False
        for name in blocks:
            if name not in known:
                return False
        if (len(starts) > 1 and len(set(starts)) != len(starts)) or (
            len(blocks) > 1 and len(set(blocks)) != len(blocks)
        ):
            return False
    return True


def _ranges_ok(ranges: Sequence[Any], supported: Sequence[Commodity]) -> bool:
    if len(ranges) == 1:
        return CQ_COMMODITY[ranges[0].commodity_quantity] in supported
    if not _distinct_quantities(ranges):
        return False
    for power_range in ranges:  # noqa: SIM110 - a loop is faster than all() over a generator
        if CQ_COMMODITY[power_range.commodity_quantity] not in supported:
            return False
    return True


def _no_zero(elements: Sequence[Any]) -> bool:
    for element in elements:  # noqa: SIM110 - a loop is faster than all() over a generator
        if element.duration == 0:
            return False
    return True


# --- shared pieces of the slow walk ----------------------------------------------------------


def _zero_durations(out: Out, elements: Sequence[Any], pointer: str) -> None:
    """S2-COMMON-002: a zero-length element contributes nothing and is probably a mistake."""
    for index, element in enumerate(elements):
        if element.duration == 0:
            out.append(finding("S2-COMMON-002", f"{pointer}/{index}/duration", "element lasts 0 ms"))
            return


def _one_per_cq(out: Out, rule: str, values: Sequence[Any], pointer: str) -> None:
    if len(values) > 1:
        index = _first_dup([v.commodity_quantity for v in values])
        if index >= 0:
            cq = values[index].commodity_quantity.value
            out.append(finding(rule, f"{pointer}/{index}/commodity_quantity", f"{cq} appears twice"))


# --- common messages -------------------------------------------------------------------------


def _handshake(m: common.Handshake) -> Out:
    out: Out = []
    versions = m.supported_protocol_versions
    if versions is UNSET:
        if (missing := judge_rm_versions(m)) is not None:
            out.append(missing)
    elif len(versions) > 1 and (index := _first_dup(versions)) >= 0:
        reason = f"{versions[index]!r} is listed twice"
        out.append(finding("S2-HANDSHAKE-002", f"/supported_protocol_versions/{index}", reason))
    return out


_CONTROLLING = frozenset(ControlType) - {ControlType.NO_SELECTION, ControlType.NOT_CONTROLABLE}


def _rmd(m: common.ResourceManagerDetails) -> Out:
    out: Out = []
    types = m.available_control_types
    if len(types) > 1 and (index := _first_dup(types)) >= 0:
        out.append(finding("S2-RMD-001", f"/available_control_types/{index}", f"{types[index].value} is listed twice"))
    if ControlType.NO_SELECTION in types:
        index = types.index(ControlType.NO_SELECTION)
        reason = "NO_SELECTION means no control type is active; it cannot be offered"
        out.append(finding("S2-RMD-004", f"/available_control_types/{index}", reason))
    if ControlType.NOT_CONTROLABLE in types and not _CONTROLLING.isdisjoint(types):
        index = types.index(ControlType.NOT_CONTROLABLE)
        reason = "NOT_CONTROLABLE is offered together with a control type that does control the device"
        out.append(finding("S2-RMD-005", f"/available_control_types/{index}", reason))
    kinds = m.provides_power_measurement_types
    if len(kinds) > 1 and (index := _first_dup(kinds)) >= 0:
        reason = f"{kinds[index].value} is listed twice"
        out.append(finding("S2-RMD-002", f"/provides_power_measurement_types/{index}", reason))
    roles = m.roles
    if len(roles) > 1 and (index := _first_dup([(r.role, r.commodity) for r in roles])) >= 0:
        reason = f"{roles[index].role.value} of {roles[index].commodity.value} is listed twice"
        out.append(finding("S2-RMD-003", f"/roles/{index}", reason))
    return out


def _measurement(m: common.PowerMeasurement) -> Out:
    out: Out = []
    if len(m.values) > 1:
        _one_per_cq(out, "S2-MEAS-001", m.values, "/values")
    return out


def _forecast(m: common.PowerForecast) -> Out:
    elements = m.elements
    for element in elements:
        if element.duration == 0:
            break
        values = element.power_values
        if len(values) > 1 and not _distinct_quantities(values):
            break
    else:
        return []
    out: Out = []
    for index, element in enumerate(elements):
        _one_per_cq(out, "S2-FCST-001", element.power_values, f"/elements/{index}/power_values")
    _zero_durations(out, elements, "/elements")
    return out


def _reception_status(m: common.ReceptionStatus) -> Out:
    if m.status is not ReceptionStatusValues.OK and not m.diagnostic_label:
        reason = f"{m.status.value} without a diagnostic_label leaves the sender guessing"
        return [finding("S2-RS-003", "/diagnostic_label", reason)]
    return []


# --- PEBC ------------------------------------------------------------------------------------

_UPPER = PEBCPowerEnvelopeLimitType.UPPER_LIMIT
_LOWER = PEBCPowerEnvelopeLimitType.LOWER_LIMIT


_KIND_BIT = {_UPPER: 1, _LOWER: 2}


def _power_constraints(m: pebc.PEBCPowerConstraints) -> Out:
    out: Out = []
    if m.valid_until is not UNSET and m.valid_until < m.valid_from:
        reason = f"valid_until {m.valid_until.isoformat()} is before valid_from {m.valid_from.isoformat()}"
        out.append(finding("S2-PEBC-001", "/valid_until", reason))
    kinds: dict[CommodityQuantity, int] = {}
    for index, allowed in enumerate(m.allowed_limit_ranges):
        cq = allowed.commodity_quantity
        kinds[cq] = kinds.get(cq, 0) | _KIND_BIT[allowed.limit_type]
        rb = allowed.range_boundary
        if rb.start_of_range > rb.end_of_range:
            reason = f"start {fmt_num(rb.start_of_range)} is above end {fmt_num(rb.end_of_range)}"
            out.append(finding("S2-PEBC-004", f"/allowed_limit_ranges/{index}/range_boundary", reason))
    present = 0
    for bits in kinds.values():
        present |= bits
    if present != 3:
        missing = _LOWER if present == 1 else _UPPER
        out.append(finding("S2-PEBC-002", "/allowed_limit_ranges", f"no {missing.value} range is given"))
    else:
        for cq, bits in kinds.items():
            if bits != 3:
                missing = _LOWER if bits == 1 else _UPPER
                reason = f"{cq.value} has no {missing.value} range, so no envelope can be built for it"
                out.append(finding("S2-PEBC-003", "/allowed_limit_ranges", reason))
                break
    return out


def _energy_constraint(m: pebc.PEBCEnergyConstraint) -> Out:
    out: Out = []
    if m.lower_average_power > m.upper_average_power:
        reason = (
            f"lower_average_power {fmt_num(m.lower_average_power)} is above "
            f"upper_average_power {fmt_num(m.upper_average_power)}"
        )
        out.append(finding("S2-PEBC-005", "/lower_average_power", reason))
    if m.valid_until <= m.valid_from:
        reason = f"valid_until {m.valid_until.isoformat()} is not after valid_from {m.valid_from.isoformat()}"
        out.append(finding("S2-PEBC-006", "/valid_until", reason))
    return out


def _pebc_instruction(m: pebc.PEBCInstruction) -> Out:
    envelopes = m.power_envelopes
    if _distinct_quantities(envelopes) and len({e.id for e in envelopes}) == len(envelopes):
        for envelope in envelopes:
            for element in envelope.power_envelope_elements:
                if element.lower_limit > element.upper_limit or element.duration == 0:
                    break
            else:
                continue
            break
        else:
            return []
    out: Out = []
    if len(envelopes) > 1:
        _one_per_cq(out, "S2-PEBC-007", envelopes, "/power_envelopes")
        index = _first_dup([e.id for e in envelopes])
        if index >= 0:
            reason = f"envelope id {envelopes[index].id} is used twice"
            out.append(finding("S2-PEBC-009", f"/power_envelopes/{index}/id", reason))
    for i, envelope in enumerate(envelopes):
        elements = envelope.power_envelope_elements
        for j, element in enumerate(elements):
            if element.lower_limit > element.upper_limit:
                reason = (
                    f"lower_limit {fmt_num(element.lower_limit)} is above upper_limit {fmt_num(element.upper_limit)}"
                )
                out.append(finding("S2-PEBC-008", f"/power_envelopes/{i}/power_envelope_elements/{j}", reason))
        _zero_durations(out, elements, f"/power_envelopes/{i}/power_envelope_elements")
    return out


# --- PPBC ------------------------------------------------------------------------------------


def _profile_definition(m: ppbc.PPBCPowerProfileDefinition) -> Out:
    window_ms = (m.end_time - m.start_time).total_seconds() * 1000
    containers = m.power_sequences_containers
    if window_ms > 0 and len({c.id for c in containers}) == len(containers):
        shortest_total = 0
        for container in containers:
            sequences = container.power_sequences
            if len({q.id for q in sequences}) != len(sequences):
                break
            shortest = -1
            for sequence in sequences:
                total = 0
                for element in sequence.elements:
                    if element.duration == 0 or not _distinct_quantities(element.power_values):
                        shortest = -2
                        break
                    total += element.duration
                if shortest == -2:
                    break
                if shortest < 0 or total < shortest:
                    shortest = total
            if shortest == -2:
                break
            shortest_total += shortest
        else:
            if shortest_total <= window_ms:
                return []
    out: Out = []
    if window_ms <= 0:
        reason = f"end_time {m.end_time.isoformat()} is not after start_time {m.start_time.isoformat()}"
        out.append(finding("S2-PPBC-001", "/end_time", reason))
    if len(containers) > 1 and (index := _first_dup([c.id for c in containers])) >= 0:
        reason = f"container id {containers[index].id} is used twice"
        out.append(finding("S2-PPBC-002", f"/power_sequences_containers/{index}/id", reason))
    shortest_total = 0
    for i, container in enumerate(containers):
        sequences = container.power_sequences
        base = f"/power_sequences_containers/{i}/power_sequences"
        if len(sequences) > 1 and (index := _first_dup([s.id for s in sequences])) >= 0:
            out.append(finding("S2-PPBC-003", f"{base}/{index}/id", f"sequence id {sequences[index].id} is used twice"))
        for j, sequence in enumerate(sequences):
            for k, element in enumerate(sequence.elements):
                _one_per_cq(out, "S2-PPBC-004", element.power_values, f"{base}/{j}/elements/{k}/power_values")
            _zero_durations(out, sequence.elements, f"{base}/{j}/elements")
        shortest_total += min(map(sequence_duration_ms, sequences))
    if 0 < window_ms < shortest_total:
        reason = (
            f"the shortest choice of sequences runs {shortest_total} ms, "
            f"but start_time to end_time is only {fmt_num(window_ms)} ms"
        )
        out.append(finding("S2-PPBC-005", "/end_time", reason))
    return out


_STARTED = frozenset(
    {PPBCPowerSequenceStatus.EXECUTING, PPBCPowerSequenceStatus.INTERRUPTED, PPBCPowerSequenceStatus.FINISHED}
)


def _profile_status(m: ppbc.PPBCPowerProfileStatus) -> Out:
    out: Out = []
    statuses = m.sequence_container_status
    for index, status in enumerate(statuses):
        if status.status in _STARTED and status.progress is UNSET:
            reason = f"status {status.status.value} means the sequence started, so progress is required"
            out.append(finding("S2-PPBC-006", f"/sequence_container_status/{index}/progress", reason))
        if status.status is not PPBCPowerSequenceStatus.NOT_SCHEDULED and status.selected_sequence_id is UNSET:
            reason = f"status {status.status.value} needs the selected_sequence_id it refers to"
            out.append(finding("S2-PPBC-007", f"/sequence_container_status/{index}/selected_sequence_id", reason))
    if len(statuses) > 1:
        index = _first_dup([(s.power_profile_id, s.sequence_container_id) for s in statuses])
        if index >= 0:
            reason = f"container {statuses[index].sequence_container_id} is reported twice"
            out.append(finding("S2-PPBC-008", f"/sequence_container_status/{index}", reason))
    return out


# --- operation-mode machinery (OMBC, FRBC, DDBC) ---------------------------------------------


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
        index = _first_dup(om_ids)
        reason = f"operation mode id {om_ids[index]} is used twice in {owner}"
        out.append(finding(ids["om_unique"], f"{base}/operation_modes/{index}/{id_key}", reason))
    timer_ids = [t.id for t in timers]
    known = set(timer_ids)
    if len(known) != len(timer_ids):
        index = _first_dup(timer_ids)
        out.append(
            finding(ids["timer_unique"], f"{base}/timers/{index}/id", f"timer id {timer_ids[index]} is used twice")
        )
    if len(transitions) > 1 and (index := _first_dup([t.id for t in transitions])) >= 0:
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
    _one_per_cq(out, ids["range_per_cq"], ranges, pointer)
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
    if len(commodities) > 1 and (index := _first_dup(commodities)) >= 0:
        out.append(finding(ids["commodities_unique"], f"{pointer}/{index}", f"{commodities[index].value} listed twice"))


def _actuator_ids(out: Out, ids: dict[str, str], actuators: Sequence[Any]) -> None:
    if len(actuators) > 1 and (index := _first_dup([a.id for a in actuators])) >= 0:
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


OM_RULE_IDS["OMBC"]


def _ombc_description(m: ombc.OMBCSystemDescription) -> Out:
    oms = m.operation_modes
    if _machine_ok(oms, {om.id for om in oms}, m.transitions, m.timers):
        for om in oms:
            costs = om.running_costs
            if not _distinct_quantities(om.power_ranges) or (
                costs is not UNSET and costs.start_of_range > costs.end_of_range
            ):
                break
        else:
            return []
    out: Out = []
    _machine(out, _OMBC, "", [om.id for om in oms], "id", m.transitions, m.timers, "the system description")
    for index, om in enumerate(oms):
        _one_per_cq(out, _OMBC["range_per_cq"], om.power_ranges, f"/operation_modes/{index}/power_ranges")
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
        if not _machine_ok(oms, {om.id for om in oms}, actuator.transitions, actuator.timers):
            return False
        supported = actuator.supported_commodities
        if len(supported) > 1 and len(set(supported)) != len(supported):
            return False
        # The common shape: each mode's elements tile [low, high] in the given order. Anything
        # else goes to the slow walk, which also accepts contiguous elements in another order.
        for om in oms:
            end = low
            for index, element in enumerate(om.elements):
                level = element.fill_level_range
                start = level.start_of_range
                if start >= level.end_of_range or (start != end if index else start > low):
                    return False
                end = level.end_of_range
                if not _ranges_ok(element.power_ranges, supported):
                    return False
                costs = element.running_costs
                if costs is not UNSET and costs.start_of_range > costs.end_of_range:
                    return False
            if end < high:
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
    _zero_durations(out, m.elements, "/elements")
    return out


def _usage_forecast(m: frbc.FRBCUsageForecast | ddbc.DDBCAverageDemandRateForecast) -> Out:
    if _no_zero(m.elements):
        return []
    out: Out = []
    _zero_durations(out, m.elements, "/elements")
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
        if not _machine_ok(oms, {om.Id for om in oms}, actuator.transitions, actuator.timers):
            return False
        if len(oms) > 1 and not actuator.transitions:
            return False
        supported = actuator.supported_commodites
        if len(supported) > 1 and len(set(supported)) != len(supported):
            return False
        for om in oms:
            if not _ranges_ok(om.power_ranges, supported):
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


_CHECKS: Final[dict[type[S2Message], Callable[[Any], Out]]] = {
    common.Handshake: _handshake,
    common.ResourceManagerDetails: _rmd,
    common.PowerMeasurement: _measurement,
    common.PowerForecast: _forecast,
    common.ReceptionStatus: _reception_status,
    pebc.PEBCPowerConstraints: _power_constraints,
    pebc.PEBCEnergyConstraint: _energy_constraint,
    pebc.PEBCInstruction: _pebc_instruction,
    ppbc.PPBCPowerProfileDefinition: _profile_definition,
    ppbc.PPBCPowerProfileStatus: _profile_status,
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


def single_rules(cls: type[S2Message]) -> Callable[[Any], list[Finding]] | None:
    """What :func:`check_message` runs for messages of ``cls`` (None: no single-message rule)."""
    return _CHECKS.get(cls)


def check_message(message: S2Message) -> list[Finding]:
    """Findings of the context-free rules for one decoded message (empty when it passes).

    Fast enough to run after every decode; the ``deep`` rules are in :func:`check_deep`.
    """
    check = _CHECKS.get(type(message))
    if check is None:
        return []
    return check(message)


# --- deep rules ------------------------------------------------------------------------------

_PFV_ORDER = (
    "value_lower_limit",
    "value_lower_95PPR",
    "value_lower_68PPR",
    "value_expected",
    "value_upper_68PPR",
    "value_upper_95PPR",
    "value_upper_limit",
)
_USAGE_ORDER = tuple(n.replace("value_", "usage_rate_") for n in _PFV_ORDER)
_DEMAND_ORDER = tuple(n.replace("value_", "demand_rate_") for n in _PFV_ORDER)
_PFV_GET = attrgetter(*_PFV_ORDER)
_USAGE_GET = attrgetter(*_USAGE_ORDER)
_DEMAND_GET = attrgetter(*_DEMAND_ORDER)


def _bands(out: Out, values: tuple[Any, ...], names: tuple[str, ...], pointer: str) -> None:
    """S2-COMMON-001 on one value's seven band fields (absent ones skipped)."""
    missing = values.count(UNSET)
    if missing == 6 or (missing == 0 and list(values) == sorted(values)):
        return
    prev = -1
    for index, value in enumerate(values):
        if value is UNSET:
            continue
        if prev >= 0 and value < values[prev]:
            reason = (
                f"{names[index]} {fmt_num(value)} is below {names[prev]} {fmt_num(values[prev])}; "
                "bands must nest around the expected value"
            )
            out.append(finding("S2-COMMON-001", f"{pointer}/{names[index]}", reason))
            return
        prev = index


def _transition_warnings(out: Out, base: str, transitions: Sequence[common.Transition]) -> None:
    for index, transition in enumerate(transitions):
        where = f"{base}/transitions/{index}"
        if transition.from_ == transition.to:
            reason = f"transition {transition.id} leads from {transition.from_} back to itself"
            out.append(finding("S2-COMMON-004", where + "/to", reason))
        for key, names in (("start_timers", transition.start_timers), ("blocking_timers", transition.blocking_timers)):
            if len(names) > 1 and (j := _first_dup(names)) >= 0:
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


def _deep_forecast(m: common.PowerForecast) -> Out:
    out: Out = []
    for index, element in enumerate(m.elements):
        for j, value in enumerate(element.power_values):
            _bands(out, _PFV_GET(value), _PFV_ORDER, f"/elements/{index}/power_values/{j}")
    return out


def _deep_profile(m: ppbc.PPBCPowerProfileDefinition) -> Out:
    out: Out = []
    for i, container in enumerate(m.power_sequences_containers):
        for j, sequence in enumerate(container.power_sequences):
            for k, element in enumerate(sequence.elements):
                where = f"/power_sequences_containers/{i}/power_sequences/{j}/elements/{k}/power_values"
                for n, value in enumerate(element.power_values):
                    _bands(out, _PFV_GET(value), _PFV_ORDER, f"{where}/{n}")
    return out


def _deep_usage(m: frbc.FRBCUsageForecast) -> Out:
    out: Out = []
    for index, element in enumerate(m.elements):
        _bands(out, _USAGE_GET(element), _USAGE_ORDER, f"/elements/{index}")
    return out


def _deep_demand(m: ddbc.DDBCAverageDemandRateForecast) -> Out:
    out: Out = []
    for index, element in enumerate(m.elements):
        _bands(out, _DEMAND_GET(element), _DEMAND_ORDER, f"/elements/{index}")
    return out


_DEEP: Final[dict[type[S2Message], Callable[[Any], Out]]] = {
    common.PowerForecast: _deep_forecast,
    ppbc.PPBCPowerProfileDefinition: _deep_profile,
    frbc.FRBCUsageForecast: _deep_usage,
    ddbc.DDBCAverageDemandRateForecast: _deep_demand,
}


def check_deep(message: S2Message) -> list[Finding]:
    """Findings of the ``deep`` rules (``Rule.deep``), which ``check_message`` leaves out."""
    check = _DEEP.get(type(message))
    return [] if check is None else check(message)
