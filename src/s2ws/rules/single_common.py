"""Single-message rules of the messages every control type shares: handshake, resource
manager details, measurements, forecasts and reception statuses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from ..messages import common
from ..messages.base import UNSET, S2Message
from ..messages.enums import ControlType, ReceptionStatusValues
from .catalogue import finding
from .session_rules import judge_rm_versions
from .single_base import Out, distinct_quantities, first_dup, one_per_cq, zero_durations

__all__ = ["COMMON_CHECKS"]


def _handshake(m: common.Handshake) -> Out:
    out: Out = []
    versions = m.supported_protocol_versions
    if versions is UNSET:
        if (missing := judge_rm_versions(m)) is not None:
            out.append(missing)
    elif len(versions) > 1 and (index := first_dup(versions)) >= 0:
        reason = f"{versions[index]!r} is listed twice"
        out.append(finding("S2-HANDSHAKE-002", f"/supported_protocol_versions/{index}", reason))
    return out


_CONTROLLING = frozenset(ControlType) - {ControlType.NO_SELECTION, ControlType.NOT_CONTROLABLE}


def _rmd(m: common.ResourceManagerDetails) -> Out:
    out: Out = []
    types = m.available_control_types
    if len(types) > 1 and (index := first_dup(types)) >= 0:
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
    if len(kinds) > 1 and (index := first_dup(kinds)) >= 0:
        reason = f"{kinds[index].value} is listed twice"
        out.append(finding("S2-RMD-002", f"/provides_power_measurement_types/{index}", reason))
    roles = m.roles
    if len(roles) > 1 and (index := first_dup([(r.role, r.commodity) for r in roles])) >= 0:
        reason = f"{roles[index].role.value} of {roles[index].commodity.value} is listed twice"
        out.append(finding("S2-RMD-003", f"/roles/{index}", reason))
    return out


def _measurement(m: common.PowerMeasurement) -> Out:
    out: Out = []
    if len(m.values) > 1:
        one_per_cq(out, "S2-MEAS-001", m.values, "/values")
    return out


def _forecast(m: common.PowerForecast) -> Out:
    elements = m.elements
    for element in elements:
        if element.duration == 0:
            break
        values = element.power_values
        n = len(values)
        if n == 3:  # three phases, the usual multi-quantity forecast: distinct_quantities inlined
            a, b, c = values[0].commodity_quantity, values[1].commodity_quantity, values[2].commodity_quantity
            if a is b or a is c or b is c:
                break
        elif n > 1 and not distinct_quantities(values):
            break
    else:
        return []
    out: Out = []
    for index, element in enumerate(elements):
        one_per_cq(out, "S2-FCST-001", element.power_values, f"/elements/{index}/power_values")
    zero_durations(out, elements, "/elements")
    return out


def _reception_status(m: common.ReceptionStatus) -> Out:
    if m.status is not ReceptionStatusValues.OK and not m.diagnostic_label:
        reason = f"{m.status.value} without a diagnostic_label leaves the sender guessing"
        return [finding("S2-RS-003", "/diagnostic_label", reason)]
    return []


COMMON_CHECKS: Final[dict[type[S2Message], Callable[[Any], Out]]] = {
    common.Handshake: _handshake,
    common.ResourceManagerDetails: _rmd,
    common.PowerMeasurement: _measurement,
    common.PowerForecast: _forecast,
    common.ReceptionStatus: _reception_status,
}
"""The checker of each common message type."""
