"""Single-message rules of PEBC (power envelope based control): constraints, energy
constraints and instructions, each judged on its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from ..messages import pebc
from ..messages.base import UNSET, S2Message
from ..messages.enums import CommodityQuantity, PEBCPowerEnvelopeLimitType
from .catalogue import finding
from .single_base import Out, distinct_quantities, first_dup, fmt_num, one_per_cq, zero_durations

__all__ = ["PEBC_CHECKS"]


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
    if distinct_quantities(envelopes) and len({e.id for e in envelopes}) == len(envelopes):
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
        one_per_cq(out, "S2-PEBC-007", envelopes, "/power_envelopes")
        index = first_dup([e.id for e in envelopes])
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
        zero_durations(out, elements, f"/power_envelopes/{i}/power_envelope_elements")
    return out


PEBC_CHECKS: Final[dict[type[S2Message], Callable[[Any], Out]]] = {
    pebc.PEBCPowerConstraints: _power_constraints,
    pebc.PEBCEnergyConstraint: _energy_constraint,
    pebc.PEBCInstruction: _pebc_instruction,
}
"""The checker of each PEBC message type."""
