"""Commodity quantities and factor-linked ranges: units, commodities, and the factor mapping.

Every operation mode describes its power (and FRBC fill rate, DDBC supply rate) as a range whose
start belongs to factor 0 and whose end to factor 1. Planners move between the two all the time,
so both directions live here, once: ``value_at`` and ``factor_for``. Two properties matter more
than the last bit of precision:

- factor 0 and 1 give the range's endpoints *exactly* (a planner compares them with limits, and
  ``1400 + 1.0 * (11000 - 1400)`` is not always ``11000.0``);
- the value for a factor never leaves the range, and the factor for a value inside the range
  never leaves [0, 1], however the floats round.

A range may run downwards (a production mode from 0 to -4000 W); nothing here assumes start ≤ end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Protocol

from ..errors import ResolutionError
from ..messages import Commodity, CommodityQuantity, PowerRange
from ..rules.single import CQ_COMMODITY, QUANTITY_UNITS, fmt_num

__all__ = [
    "ENDPOINT_TOLERANCE",
    "QUANTITY_UNITS",
    "QuantityValue",
    "RangeLike",
    "commodity_of",
    "factor_for",
    "factor_for_quantity",
    "quantities_of",
    "unit_of",
    "value_at",
    "value_of",
]

ENDPOINT_TOLERANCE: Final = 1e-9
"""Relative to a range's span: a value this close outside an endpoint counts as the endpoint,
so a value computed by a peer (or read back from JSON) still resolves to factor 0 or 1."""


class RangeLike(Protocol):
    """Anything with ``start_of_range`` (factor 0) and ``end_of_range`` (factor 1)."""

    @property
    def start_of_range(self) -> float: ...

    @property
    def end_of_range(self) -> float: ...


@dataclass(frozen=True, slots=True)
class QuantityValue:
    """A value of one commodity quantity, with the unit it is measured in."""

    commodity_quantity: CommodityQuantity
    value: float

    @property
    def unit(self) -> str:
        return QUANTITY_UNITS[self.commodity_quantity]

    def __str__(self) -> str:
        return f"{fmt_num(self.value)} {self.unit} {self.commodity_quantity.value}"


def unit_of(quantity: CommodityQuantity) -> str:
    """The unit of ``quantity``: W, l/s, g/s, °C or l/h."""
    return QUANTITY_UNITS[quantity]


def commodity_of(quantity: CommodityQuantity) -> Commodity | None:
    """The commodity ``quantity`` measures; None for HYDROGEN.FLOW_RATE, which no Commodity covers."""
    return CQ_COMMODITY[quantity]


def quantities_of(commodity: Commodity) -> tuple[CommodityQuantity, ...]:
    """Every quantity that measures ``commodity``, in the enumeration's order."""
    return tuple(q for q, c in CQ_COMMODITY.items() if c is commodity)


def _show(r: RangeLike, unit: str, what: str = "") -> str:
    suffix = f" {unit}" if unit else ""
    prefix = f"the {what} range" if what else "the range"
    return f"{prefix} [{fmt_num(r.start_of_range)}, {fmt_num(r.end_of_range)}]{suffix}"


def value_at(r: RangeLike, factor: float, *, unit: str = "", what: str = "") -> float:
    """The value of a factor-linked range at ``factor``: start + factor·(end − start).

    Factor 0 returns ``start_of_range`` and factor 1 ``end_of_range`` themselves; any other
    factor gives a value between them (clamped, so rounding never steps outside). Raises
    :class:`ResolutionError` for a factor outside [0, 1] or NaN; ``unit`` and ``what`` (the
    quantity) only label the message.
    """
    start, end = r.start_of_range, r.end_of_range
    if factor == 0.0:
        return start
    if factor == 1.0:
        return end
    if not 0.0 < factor < 1.0:
        raise ResolutionError(f"factor {fmt_num(factor)} is outside [0, 1] ({_show(r, unit, what)})")
    value = start + factor * (end - start)
    if not math.isfinite(value):  # end - start overflowed: interpolate without forming the span
        value = start * (1.0 - factor) + end * factor
    low, high = (start, end) if start <= end else (end, start)
    return min(max(value, low), high)


def factor_for(
    r: RangeLike, value: float, *, unit: str = "", what: str = "", tolerance: float = ENDPOINT_TOLERANCE
) -> float:
    """The factor at which a factor-linked range reaches ``value``: (value − start)/(end − start).

    ``start_of_range`` gives exactly 0.0 and ``end_of_range`` exactly 1.0; a value within
    ``tolerance``·span outside an endpoint snaps to it. A degenerate range (start = end) has the
    same value at every factor: its value gives 0.0, the lowest factor that reaches it. Any
    other value raises :class:`ResolutionError` naming the value and the range.
    """
    start, end = r.start_of_range, r.end_of_range
    if value == start:
        return 0.0
    if value == end:
        return 1.0
    if math.isnan(value):
        raise ResolutionError(f"NaN is not a value of {_show(r, unit, what)}")
    span = end - start
    if not math.isfinite(span):  # halve everything: the ratio is the same and nothing overflows
        fraction = (value / 2 - start / 2) / (end / 2 - start / 2)
    elif span == 0.0:
        fraction = math.nan
    else:
        fraction = (value - start) / span
    if math.isnan(fraction) or fraction < -tolerance or fraction > 1.0 + tolerance:
        shown = fmt_num(value) + (f" {unit}" if unit else "")
        if start == end:
            raise ResolutionError(f"{shown} is not {fmt_num(start)}, the only value of {_show(r, unit, what)}")
        raise ResolutionError(f"{shown} is outside {_show(r, unit, what)}")
    return min(max(fraction, 0.0), 1.0)


def value_of(power_range: PowerRange, factor: float) -> QuantityValue:
    """The value of one PowerRange at ``factor``, with its quantity (and so its unit)."""
    cq = power_range.commodity_quantity
    return QuantityValue(cq, value_at(power_range, factor, unit=QUANTITY_UNITS[cq], what=cq.value))


def factor_for_quantity(power_range: PowerRange, value: float) -> float:
    """:func:`factor_for` on a PowerRange; errors name the quantity and its unit."""
    cq = power_range.commodity_quantity
    return factor_for(power_range, value, unit=QUANTITY_UNITS[cq], what=cq.value)
