"""Cases that test a CEM: the tester plays a Resource Manager, one fresh connection per case.

The RM's content (details, descriptions, statuses) comes from s2ws's deterministic simulators, one
per control type, so that everything the tester sends is valid unless a case breaks it on purpose.
Every frame the CEM sends (its instructions included) is judged by the rule catalogue.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any

from ..codec import encode
from ..messages.enums import ControlType
from ..messages.profiles import normalize_version
from ..sim import DEVICES
from .cases import CaseContext, CaseSkipped, case
from .probe import CaseFailed, Message, PeerClosed, Probe, new_id

__all__ = ["DEVICE_FOR", "rm_session"]

DEVICE_FOR = {
    "FILL_RATE_BASED_CONTROL": "battery",
    "OPERATION_MODE_BASED_CONTROL": "generator",
    "POWER_ENVELOPE_BASED_CONTROL": "pv",
    "POWER_PROFILE_BASED_CONTROL": "washer",
    "DEMAND_DRIVEN_BASED_CONTROL": "hybrid-heatpump",
}
"""The simulator whose messages the tester sends when it plays an RM of each control type."""


def _plain(message: Any) -> Message:
    data: Message = json.loads(encode(message))
    return data


async def _handshake(probe: Probe, ctx: CaseContext, versions: list[str]) -> Message:
    """Send the RM's Handshake; return the CEM's HandshakeResponse (after checking the CEM's Handshake)."""
    ident = await probe.send({"message_type": "Handshake", "role": "RM", "supported_protocol_versions": versions})
    try:
        hello = await probe.expect_type("Handshake")
        if hello.get("role") != "CEM":
            raise CaseFailed(f"the CEM's Handshake names role {hello.get('role')!r}")
        response = await probe.expect_type("HandshakeResponse")
    except PeerClosed:
        if probe.statuses.get(ident, "OK") != "OK" and versions != ["99.0.0"]:
            raise CaseSkipped(f"the CEM does not speak {', '.join(versions)}") from None
        raise
    await probe.require_status(ident, {"OK"}, "the RM's Handshake")
    return response


async def rm_session(
    probe: Probe,
    ctx: CaseContext,
    device: str = "battery",
    *,
    details: dict[str, Any] | None = None,
    amend: Callable[[list[Message]], list[Message]] | None = None,
) -> tuple[Any, Message]:
    """Handshake as an RM, describe the simulator, wait for the selection and publish the descriptions
    (``amend`` may change that first burst of messages before it is sent).

    Returns the simulator and the CEM's SelectControlType."""
    response = await _handshake(probe, ctx, [ctx.profile])
    if normalize_version(str(response.get("selected_protocol_version"))) != normalize_version(ctx.profile):
        raise CaseFailed(f"the CEM selected {response.get('selected_protocol_version')!r}, offered only {ctx.profile}")
    now = datetime.now(UTC)
    sim = DEVICES[device](now=now)
    rmd = {**_plain(sim.details()), **(details or {})}
    ident = await probe.send(rmd)
    await probe.require_status(ident, {"OK"}, "ResourceManagerDetails")
    selection = await probe.expect_type("SelectControlType")
    chosen = selection.get("control_type")
    if chosen not in rmd["available_control_types"] and chosen != "NO_SELECTION":
        raise CaseFailed(f"the CEM selected {chosen}, which the RM did not offer")
    if chosen != "NO_SELECTION":
        burst = [_plain(m) for m in sim.on_select(ControlType(str(chosen)), datetime.now(UTC))]
        for message in amend(burst) if amend is not None else burst:
            sent = await probe.send(message)
            await probe.require_status(sent, {"OK"}, f"the RM's {message.get('message_type')}")
    return sim, selection


async def _still_alive(probe: Probe, sim: Any) -> None:
    measurement = _plain(sim.measurement(datetime.now(UTC)))
    try:
        ident = await probe.send(measurement)
        await probe.require_status(ident, {"OK"}, "a PowerMeasurement after the refused message")
    except PeerClosed as exc:
        raise CaseFailed(f"the session ended after the refused message: {exc}") from None


@case(
    101,
    "cem",
    "The CEM answers the RM's Handshake with its own and a HandshakeResponse",
    rules=("S2-HANDSHAKE-003", "S2-HANDSHAKE-004", "S2-HANDSHAKE-005"),
    sections=("Handshake", "HandshakeResponse"),
    tags=("handshake", "websocket"),
)
async def cem_handshake(probe: Probe, ctx: CaseContext) -> None:
    """The CEM's Handshake has role CEM; its HandshakeResponse selects the version the RM offered."""
    response = await _handshake(probe, ctx, [ctx.profile])
    if normalize_version(str(response.get("selected_protocol_version"))) != normalize_version(ctx.profile):
        raise CaseFailed(f"the CEM selected {response.get('selected_protocol_version')!r}")


@case(
    102,
    "cem",
    "A leading v in the offered version is understood",
    rules=("S2-HANDSHAKE-004",),
    sections=("HandshakeResponse",),
    tags=("handshake", "version"),
)
async def cem_leading_v(probe: Probe, ctx: CaseContext) -> None:
    """An RM offering ``v<version>`` gets that version selected (with or without the v)."""
    response = await _handshake(probe, ctx, ["v" + ctx.profile])
    if normalize_version(str(response.get("selected_protocol_version"))) != normalize_version(ctx.profile):
        raise CaseFailed(f"the CEM selected {response.get('selected_protocol_version')!r} for v{ctx.profile}")


@case(
    103,
    "cem",
    "No common version: the CEM ends the session",
    rules=("S2-HANDSHAKE-004",),
    sections=("Handshake", "SessionRequest"),
    tags=("handshake", "version"),
)
async def cem_no_common_version(probe: Probe, ctx: CaseContext) -> None:
    """An RM offering only 99.0.0 gets no HandshakeResponse selecting it; the CEM terminates or closes.
    Its answer to the Handshake may be OK or INVALID_CONTENT: the standard does not say which."""
    probe.tolerate.add("S2-RS-005")
    await probe.send({"message_type": "Handshake", "role": "RM", "supported_protocol_versions": ["99.0.0"]})
    with suppress(PeerClosed):
        await probe.expect_type("SessionRequest")
    for message in probe.received:
        if message.get("message_type") == "HandshakeResponse":
            raise CaseFailed(f"the CEM selected {message.get('selected_protocol_version')!r} without a common version")


@case(
    104,
    "cem",
    "The CEM selects a control type the RM offered",
    rules=("S2-SESSION-007", "S2-SESSION-008"),
    sections=("ResourceManagerDetails", "SelectControlType"),
    tags=("control-type", "details"),
)
async def cem_selects(probe: Probe, ctx: CaseContext) -> None:
    """After ResourceManagerDetails the CEM sends SelectControlType naming an offered control type."""
    await rm_session(probe, ctx)


def _flow(number: int, control_type: str, tag: str, rules: tuple[str, ...]) -> None:
    device = DEVICE_FOR[control_type]

    async def flow(probe: Probe, ctx: CaseContext) -> None:
        sim, selection = await rm_session(probe, ctx, device)
        if selection.get("control_type") != control_type:
            raise CaseFailed(f"offered only {control_type}, the CEM selected {selection.get('control_type')}")
        await probe.drain(1.5)
        for message in sim.tick(datetime.now(UTC)):
            await probe.send(_plain(message))
        await probe.drain(0.5)

    flow.__doc__ = (
        f"An RM offering only {control_type} (s2ws's {device} simulator) is selected; its descriptions, "
        "statuses and measurements are answered OK, and any instruction the CEM sends obeys the catalogue."
    )
    case(
        number,
        "cem",
        f"{tag.upper()}: the CEM takes the RM's descriptions and statuses",
        rules=rules,
        sections=(f"{tag.upper()} messages",),
        tags=(tag, "flow"),
    )(flow)


_flow(110, "FILL_RATE_BASED_CONTROL", "frbc", ("S2-FRBC-018", "S2-FRBC-023", "S2-FRBC-024", "S2-FRBC-025"))
_flow(111, "OPERATION_MODE_BASED_CONTROL", "ombc", ("S2-OMBC-008", "S2-OMBC-013", "S2-OMBC-014"))
_flow(112, "POWER_ENVELOPE_BASED_CONTROL", "pebc", ("S2-PEBC-007", "S2-PEBC-010", "S2-PEBC-013"))
_flow(113, "POWER_PROFILE_BASED_CONTROL", "ppbc", ("S2-PPBC-011", "S2-PPBC-012", "S2-PPBC-014"))
_flow(114, "DEMAND_DRIVEN_BASED_CONTROL", "ddbc", ("S2-DDBC-013",))


async def _bad_frame(probe: Probe, ctx: CaseContext, text: str, wanted: set[str], what: str) -> None:
    sim, _ = await rm_session(probe, ctx)
    await probe.send_text_and_require(text, wanted, what)
    await _still_alive(probe, sim)


@case(
    120,
    "cem",
    "Malformed JSON gets INVALID_DATA and the session carries on",
    rules=("S2-SCHEMA-001",),
    sections=("ReceptionStatus",),
    tags=("errors",),
)
async def cem_malformed(probe: Probe, ctx: CaseContext) -> None:
    """A frame that is not JSON is answered INVALID_DATA; a later measurement is still answered OK."""
    await _bad_frame(probe, ctx, '{"message_type": "PowerMeasurement", ', {"INVALID_DATA"}, "malformed JSON")


@case(
    121,
    "cem",
    "An unknown message type is refused and the session carries on",
    rules=("S2-SCHEMA-002",),
    sections=("ReceptionStatus",),
    tags=("errors",),
)
async def cem_unknown_type(probe: Probe, ctx: CaseContext) -> None:
    """A message_type that does not exist gets INVALID_MESSAGE (or INVALID_DATA); the CEM does not close."""
    text = json.dumps({"message_type": "FRBC.Teleport", "message_id": new_id()})
    await _bad_frame(probe, ctx, text, {"INVALID_MESSAGE", "INVALID_DATA"}, "an unknown message type")


@case(
    122,
    "cem",
    "An unknown field is refused and the session carries on",
    rules=("S2-SCHEMA-002",),
    sections=("ReceptionStatus",),
    tags=("errors",),
)
async def cem_unknown_field(probe: Probe, ctx: CaseContext) -> None:
    """A PowerMeasurement with an extra field breaks the schema: INVALID_MESSAGE."""
    text = json.dumps(
        {
            "message_type": "PowerMeasurement",
            "message_id": new_id(),
            "colour": "blue",
            "measurement_timestamp": datetime.now(UTC).isoformat(),
            "values": [{"commodity_quantity": "ELECTRIC.POWER.L1", "value": 1.0}],
        }
    )
    await _bad_frame(probe, ctx, text, {"INVALID_MESSAGE", "INVALID_DATA"}, "a message with an unknown field")


@case(
    123,
    "cem",
    "A message of a control type that is not active is refused",
    rules=("S2-SESSION-003",),
    sections=("ReceptionStatus", "SelectControlType"),
    tags=("errors",),
)
async def cem_wrong_state(probe: Probe, ctx: CaseContext) -> None:
    """With FRBC active, an OMBC.Status gets INVALID_CONTENT and the session carries on."""
    text = json.dumps(
        {
            "message_type": "OMBC.Status",
            "message_id": new_id(),
            "active_operation_mode_id": "m1",
            "operation_mode_factor": 0.5,
        }
    )
    await _bad_frame(probe, ctx, text, {"INVALID_CONTENT"}, "a message of a control type that is not active")


@case(
    124,
    "cem",
    "A message breaking a rule is refused with INVALID_CONTENT",
    rules=("S2-MEAS-001",),
    sections=("PowerMeasurement", "ReceptionStatus"),
    tags=("errors",),
)
async def cem_wrong_content(probe: Probe, ctx: CaseContext) -> None:
    """A PowerMeasurement with two values for one commodity quantity gets INVALID_CONTENT."""
    value = {"commodity_quantity": "ELECTRIC.POWER.L1", "value": 1.0}
    text = json.dumps(
        {
            "message_type": "PowerMeasurement",
            "message_id": new_id(),
            "measurement_timestamp": datetime.now(UTC).isoformat(),
            "values": [value, value],
        }
    )
    await _bad_frame(probe, ctx, text, {"INVALID_CONTENT"}, "a PowerMeasurement with a quantity twice")


@case(
    125,
    "cem",
    "A 288-element PowerForecast is accepted",
    rules=("S2-FCST-001", "S2-FCST-002"),
    sections=("PowerForecast",),
    tags=("large",),
)
async def cem_large_forecast(probe: Probe, ctx: CaseContext) -> None:
    """A day of five-minute forecast elements (the schema's maximum, 288) is answered OK."""
    await rm_session(probe, ctx, details={"provides_forecast": True})
    element = {
        "duration": 300_000,
        "power_values": [{"commodity_quantity": "ELECTRIC.POWER.L1", "value_expected": 1000.0}],
    }
    start = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    ident = await probe.send({"message_type": "PowerForecast", "start_time": start, "elements": [element] * 288})
    await probe.require_status(ident, {"OK"}, "a 288-element PowerForecast")


@case(
    126,
    "cem",
    "The RM's SessionRequest TERMINATE is answered and the session ends",
    sections=("SessionRequest",),
    tags=("session-request", "websocket"),
)
async def cem_terminate(probe: Probe, ctx: CaseContext) -> None:
    """TERMINATE from the RM is answered OK; the CEM sends nothing new afterwards."""
    await rm_session(probe, ctx)
    ident = await probe.send({"message_type": "SessionRequest", "request": "TERMINATE"})
    await probe.require_status(ident, {"OK"}, "SessionRequest TERMINATE")
    before = len(probe.received)
    await probe.drain(1.0)
    later = [m.get("message_type") for m in probe.received[before:] if m.get("message_type") != "ReceptionStatus"]
    if later:
        raise CaseFailed(f"the CEM sent {', '.join(map(str, later))} after TERMINATE")
    if probe.close_code is not None and probe.close_code not in (1000, 1001):
        raise CaseFailed(f"the CEM closed the WebSocket with code {probe.close_code}")


@case(
    127, "cem", "The RM's SessionRequest RECONNECT is answered", sections=("SessionRequest",), tags=("session-request",)
)
async def cem_reconnect(probe: Probe, ctx: CaseContext) -> None:
    """RECONNECT from the RM is answered OK; the RM may then open a new session."""
    await rm_session(probe, ctx)
    ident = await probe.send({"message_type": "SessionRequest", "request": "RECONNECT", "message_id": new_id()})
    await probe.require_status(ident, {"OK"}, "SessionRequest RECONNECT")
