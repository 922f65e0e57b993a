"""The ``deep`` single-message rules: warnings that must visit every element of a long series
(the nesting of forecast bands) to say little of consequence, so :func:`check_deep` runs them
apart from ``check_message`` (validate, replay, context)."""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any, Final

from ..messages import common, ddbc, frbc, ppbc
from ..messages.base import UNSET, S2Message
from .catalogue import Finding, finding
from .single_base import Out, fmt_num

__all__ = ["check_deep"]

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
