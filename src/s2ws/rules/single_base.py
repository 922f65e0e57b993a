"""What the single-message rules share: units and commodities of each quantity, number
formatting, and the cheap predicates and slow-walk pieces several control types use.

The predicates are the fast first pass of :func:`s2ws.rules.single.check_message`: plain loops
with early exits that only say "something may be wrong"; the slow walk says what and where.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final

from ..messages import ppbc
from ..messages.enums import Commodity, CommodityQuantity
from .catalogue import Finding, finding

__all__ = [
    "CQ_COMMODITY",
    "QUANTITY_UNITS",
    "Out",
    "distinct_quantities",
    "first_dup",
    "fmt_num",
    "machine_ok",
    "no_zero",
    "one_per_cq",
    "ranges_ok",
    "sequence_duration_ms",
    "zero_durations",
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


def fmt_num(value: float) -> str:
    """A number as a person would write it: 1400 rather than 1400.0."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def first_dup(values: Sequence[Any]) -> int:
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


def distinct_quantities(values: Sequence[Any]) -> bool:
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


def machine_ok(modes: Sequence[Any], mode_ids: set[str], transitions: Sequence[Any], timers: Sequence[Any]) -> bool:
    """Ids unique, transitions between known modes, timers known (the error rules only)."""
    if len(mode_ids) != len(modes):
        return False
    known = {t.id for t in timers}
    if len(known) != len(timers) or len({t.id for t in transitions}) != len(transitions):
        return False
    for transition in transitions:
        source = transition.from_
        target = transition.to
        if source == target or source not in mode_ids or target not in mode_ids:
            return False
        starts = transition.start_timers
        if starts:
            if len(starts) == 1:
                if starts[0] not in known:
                    return False
            elif not known.issuperset(starts) or len(set(starts)) != len(starts):
                return False
        blocks = transition.blocking_timers
        if blocks:
            if len(blocks) == 1:
                if blocks[0] not in known:
                    return False
            elif not known.issuperset(blocks) or len(set(blocks)) != len(blocks):
                return False
    return True


def ranges_ok(ranges: Sequence[Any], supported: Sequence[Commodity]) -> bool:
    if len(ranges) == 1:
        return CQ_COMMODITY[ranges[0].commodity_quantity] in supported
    if not distinct_quantities(ranges):
        return False
    for power_range in ranges:  # noqa: SIM110 - a loop is faster than all() over a generator
        if CQ_COMMODITY[power_range.commodity_quantity] not in supported:
            return False
    return True


def no_zero(elements: Sequence[Any]) -> bool:
    for element in elements:  # noqa: SIM110 - a loop is faster than all() over a generator
        if element.duration == 0:
            return False
    return True


# --- shared pieces of the slow walk ----------------------------------------------------------


def zero_durations(out: Out, elements: Sequence[Any], pointer: str) -> None:
    """S2-COMMON-002: a zero-length element contributes nothing and is probably a mistake."""
    for index, element in enumerate(elements):
        if element.duration == 0:
            out.append(finding("S2-COMMON-002", f"{pointer}/{index}/duration", "element lasts 0 ms"))
            return


def one_per_cq(out: Out, rule: str, values: Sequence[Any], pointer: str) -> None:
    if len(values) > 1:
        index = first_dup([v.commodity_quantity for v in values])
        if index >= 0:
            cq = values[index].commodity_quantity.value
            out.append(finding(rule, f"{pointer}/{index}/commodity_quantity", f"{cq} appears twice"))
