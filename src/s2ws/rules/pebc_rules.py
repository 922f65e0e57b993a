"""PEBC instruction rules (S2-PEBC-010..017), judged once for the rule context, the CEM's view
and the RM's device.

An envelope is judged against the PowerConstraints it names and the EnergyConstraints the RM
published: the caller passes what it knows (the live constraints in the order they arrived,
the ids that were revoked, the live energy constraints), so a replay and a live view reach the
same verdict with the same words.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Final

from ..findings import Finding
from ..messages.base import UNSET
from ..messages.enums import CommodityQuantity, PEBCPowerEnvelopeLimitType
from ..messages.pebc import (
    PEBCEnergyConstraint,
    PEBCInstruction,
    PEBCPowerConstraints,
    PEBCPowerEnvelopeElement,
)
from ..messages.timeline import later, total_ms
from .catalogue import finding
from .single import QUANTITY_UNITS, fmt_num
from .validity import in_force

__all__ = [
    "Interval",
    "allowed_intervals",
    "amount_of",
    "amount_unit",
    "constraints_in_force",
    "energy_problem",
    "judge_constraints_reference",
    "judge_envelope",
    "judge_pebc_instruction",
    "merge_intervals",
    "missing_limit_kind",
    "no_lower_limit_below",
    "no_room_for",
]

Interval = tuple[float, float]
"""A closed interval [start, end] of allowed limit values."""

_UPPER: Final = PEBCPowerEnvelopeLimitType.UPPER_LIMIT
_AMOUNTS: Final[dict[str, tuple[str, float]]] = {
    "W": ("Wh", 3600.0),
    "l/s": ("l", 1.0),
    "g/s": ("g", 1.0),
    "l/h": ("l", 3600.0),
}


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def amount_unit(quantity: CommodityQuantity) -> str:
    """The unit of ``quantity`` integrated over time: Wh for power, l or g for flow rates.

    A temperature has no amount; its "integral" is reported in °C·s so nothing pretends otherwise.
    """
    unit = QUANTITY_UNITS[quantity]
    return _AMOUNTS[unit][0] if unit in _AMOUNTS else f"{unit}·s"


def amount_of(quantity: CommodityQuantity, value_seconds: float) -> float:
    """Convert ``value × seconds`` of ``quantity`` into :func:`amount_unit` (W·s → Wh, l/h·s → l)."""
    unit = QUANTITY_UNITS[quantity]
    return value_seconds / _AMOUNTS[unit][1] if unit in _AMOUNTS else value_seconds


def _show_amount(quantity: CommodityQuantity, value_seconds: float) -> str:
    return f"{fmt_num(round(amount_of(quantity, value_seconds), 3))} {amount_unit(quantity)}"


def merge_intervals(bounds: Iterable[Interval]) -> tuple[Interval, ...]:
    """The union of closed intervals as sorted, disjoint intervals (touching ones join)."""
    out: list[Interval] = []
    for start, end in sorted(bounds):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return tuple(out)


def _show_ranges(intervals: Sequence[Interval]) -> str:
    return ", ".join(f"[{fmt_num(a)}, {fmt_num(b)}]" for a, b in intervals) or "(none)"


def allowed_intervals(
    constraints: PEBCPowerConstraints, quantity: CommodityQuantity, abnormal: bool
) -> tuple[tuple[Interval, ...], tuple[Interval, ...]]:
    """(upper, lower): the union of the allowed ranges of ``quantity``; abnormal-only ranges
    count only when ``abnormal`` is true."""
    upper: list[Interval] = []
    lower: list[Interval] = []
    for r in constraints.allowed_limit_ranges:
        if r.commodity_quantity is not quantity or (r.abnormal_condition_only and not abnormal):
            continue
        bounds = (r.range_boundary.start_of_range, r.range_boundary.end_of_range)
        (upper if r.limit_type is _UPPER else lower).append(bounds)
    return merge_intervals(upper), merge_intervals(lower)


def constraints_in_force(constraints: Iterable[PEBCPowerConstraints], at: datetime) -> PEBCPowerConstraints | None:
    """The PowerConstraints in force at ``at``: of those valid then, the one with the latest
    valid_from, the later-received on a tie (``constraints`` in the order they arrived). A newer
    set supersedes the older ones from its valid_from (protocol §3.6)."""
    return in_force(constraints, at, _valid_from, _valid_until)


def _valid_from(constraints: PEBCPowerConstraints) -> datetime:
    return constraints.valid_from


def _valid_until(constraints: PEBCPowerConstraints) -> datetime | None:
    return None if constraints.valid_until is UNSET else constraints.valid_until


def judge_constraints_reference(
    constraints_id: str | None,
    live: Mapping[str, PEBCPowerConstraints],
    revoked: Collection[str],
    start: datetime,
) -> tuple[PEBCPowerConstraints | None, Finding | None]:
    """The constraints an envelope starting at ``start`` names, or why it may not use them.

    S2-PEBC-010: the RM sent them and did not revoke them. S2-PEBC-011: they are valid at
    ``start`` and not superseded by then by newer ones (which the RM then holds the device to).
    ``live``: the constraints not revoked, in the order they arrived. A builder that names no
    constraints (``constraints_id`` None) gets those in force at ``start``, if any.
    """
    pointer = "/power_constraints_id"
    if constraints_id is None:
        in_force = constraints_in_force(live.values(), start)
        if in_force is None:
            return None, finding("S2-PEBC-011", pointer, f"no PowerConstraints are in force at {_iso(start)}")
        return in_force, None
    constraints = live.get(constraints_id)
    if constraints is None:
        why = "were revoked" if constraints_id in revoked else "are not known"
        return None, finding("S2-PEBC-010", pointer, f"PowerConstraints {constraints_id} {why}")
    until = constraints.valid_until
    if constraints.valid_from > start or (until is not UNSET and start >= until):
        window = f"[{_iso(constraints.valid_from)}, {_iso(until) if until is not UNSET else 'open'})"
        reason = f"the envelope starts at {_iso(start)}, outside the validity {window} of {constraints_id}"
        return None, finding("S2-PEBC-011", "/execution_time", reason)
    in_force = constraints_in_force(live.values(), start)
    if in_force is not None and in_force.id != constraints_id:
        reason = (
            f"PowerConstraints {constraints_id} are superseded by {in_force.id} "
            f"from {_iso(in_force.valid_from)}, before the envelope starts at {_iso(start)}"
        )
        return None, finding("S2-PEBC-011", pointer, reason)
    return constraints, None


def judge_envelope(
    constraints: PEBCPowerConstraints,
    quantity: CommodityQuantity,
    elements: Sequence[PEBCPowerEnvelopeElement],
    begin: datetime,
    abnormal: bool,
    energy: Iterable[PEBCEnergyConstraint],
    base: str = "",
) -> list[Finding]:
    """S2-PEBC-012..017 for one envelope of ``quantity`` starting at ``begin``: the quantity has
    ranges (012), every limit lies in an allowed range (013/014), abnormal-only ranges only under
    an abnormal condition (015), the energy constraints it covers keep their room (016), it does
    not outlive its constraints (017). ``base`` is the envelope's pointer."""
    out: list[Finding] = []
    every_upper, every_lower = allowed_intervals(constraints, quantity, True)
    if not every_upper and not every_lower:
        reason = f"PowerConstraints {constraints.id} allow no limits for {quantity.value}"
        out.append(finding("S2-PEBC-012", base + "/commodity_quantity", reason))
        return out
    normal_upper, normal_lower = allowed_intervals(constraints, quantity, abnormal)
    unit = QUANTITY_UNITS[quantity]
    for kind, attr, rule, allowed, extended in (
        ("upper", "upper_limit", "S2-PEBC-013", normal_upper, every_upper),
        ("lower", "lower_limit", "S2-PEBC-014", normal_lower, every_lower),
    ):
        for j, element in enumerate(elements):
            value: float = getattr(element, attr)
            if any(a <= value <= b for a, b in allowed):
                continue
            pointer = f"{base}/power_envelope_elements/{j}/{attr}"
            shown = f"{kind} limit {fmt_num(value)} {unit}"
            if any(a <= value <= b for a, b in extended):
                reason = f"{shown} is allowed for {quantity.value} only under an abnormal condition"
                out.append(finding("S2-PEBC-015", pointer, reason))
            else:
                reason = f"{shown} is outside the allowed {kind} ranges {_show_ranges(allowed)} for {quantity.value}"
                out.append(finding(rule, pointer, reason))
            break
    end = later(begin, total_ms(e.duration for e in elements))
    until = constraints.valid_until
    if until is not UNSET and end > until:
        reason = f"the envelope runs until {_iso(end)}, past valid_until {_iso(until)} of {constraints.id}"
        out.append(finding("S2-PEBC-017", base + "/power_envelope_elements", reason))
    for need in energy:
        if need.commodity_quantity is quantity and begin <= need.valid_from and end >= need.valid_until:
            problem = energy_problem(elements, begin, need)
            if problem is not None:
                out.append(finding("S2-PEBC-016", base or "/", problem))
    return out


def energy_problem(
    elements: Sequence[PEBCPowerEnvelopeElement], begin: datetime, energy: PEBCEnergyConstraint
) -> str | None:
    """Why an envelope covering the window of ``energy`` leaves the device too little room."""
    window = (energy.valid_until - energy.valid_from).total_seconds()
    upper = lower = 0.0
    t0 = begin
    for element in elements:
        t1 = later(t0, element.duration)
        overlap = (min(t1, energy.valid_until) - max(t0, energy.valid_from)).total_seconds()
        if overlap > 0:
            upper += element.upper_limit * overlap
            lower += element.lower_limit * overlap
        t0 = t1
    need_upper = energy.upper_average_power * window
    need_lower = energy.lower_average_power * window
    slack = 1e-9 * max(1.0, abs(need_upper), abs(need_lower))
    cq = energy.commodity_quantity
    unit = QUANTITY_UNITS[cq]
    span = f"between {_iso(energy.valid_from)} and {_iso(energy.valid_until)}"
    if energy.upper_average_power > 0 and upper < need_upper - slack:
        return (
            f"the upper limits leave room for {_show_amount(cq, upper)} of {cq.value} {span}, but energy "
            f"constraint {energy.id} needs {_show_amount(cq, need_upper)} "
            f"({fmt_num(energy.upper_average_power)} {unit} on average)"
        )
    if energy.lower_average_power < 0 and lower > need_lower + slack:
        return (
            f"the lower limits leave room for {_show_amount(cq, lower)} of {cq.value} {span}, but energy "
            f"constraint {energy.id} needs {_show_amount(cq, need_lower)} "
            f"({fmt_num(energy.lower_average_power)} {unit} on average)"
        )
    return None


def missing_limit_kind(
    constraints: PEBCPowerConstraints,
    quantity: CommodityQuantity,
    upper: Sequence[Interval],
    lower: Sequence[Interval],
) -> Finding | None:
    """S2-PEBC-012 for a builder: an envelope needs an upper and a lower limit, so a quantity
    whose allowed ``upper`` or ``lower`` intervals are empty gets none."""
    if upper and lower:
        return None
    kind = "upper" if not upper else "lower"
    reason = f"PowerConstraints {constraints.id} allow no {kind} limit for {quantity.value}"
    return finding("S2-PEBC-012", "/power_envelopes", reason)


def no_lower_limit_below(quantity: CommodityQuantity, upper: float) -> Finding:
    """S2-PEBC-014 for a builder: no allowed lower limit fits under the chosen upper limit."""
    reason = f"no allowed lower limit for {quantity.value} is at or below the upper limit {fmt_num(upper)}"
    return finding("S2-PEBC-014", "/power_envelopes", reason)


def no_room_for(energy: PEBCEnergyConstraint, kind: str) -> Finding:
    """S2-PEBC-016 for a builder: no allowed ``kind`` limit leaves the energy ``energy`` needs."""
    cq = energy.commodity_quantity
    if kind == "upper":
        wanted = f"of {fmt_num(energy.upper_average_power)} or more"
    else:
        wanted = f"of {fmt_num(energy.lower_average_power)} or less"
    reason = f"no allowed {kind} limit for {cq.value} is {wanted}, which energy constraint {energy.id} needs"
    return finding("S2-PEBC-016", "/power_envelopes", reason)


def judge_pebc_instruction(
    instruction: PEBCInstruction,
    now: datetime,
    live: Mapping[str, PEBCPowerConstraints],
    revoked: Collection[str],
    energy: Iterable[PEBCEnergyConstraint],
) -> list[Finding]:
    """Every PEBC rule an instruction arriving at ``now`` breaks (S2-PEBC-010..017)."""
    start = max(instruction.execution_time, now)
    constraints, problem = judge_constraints_reference(instruction.power_constraints_id, live, revoked, start)
    if constraints is None:
        return [] if problem is None else [problem]
    needs = list(energy)
    out: list[Finding] = []
    for index, envelope in enumerate(instruction.power_envelopes):
        out.extend(
            judge_envelope(
                constraints,
                envelope.commodity_quantity,
                envelope.power_envelope_elements,
                instruction.execution_time,
                instruction.abnormal_condition,
                needs,
                f"/power_envelopes/{index}",
            )
        )
    return out
