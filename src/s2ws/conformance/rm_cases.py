"""Cases that test a Resource Manager: the tester plays the CEM, one fresh session per case.

Sections refer to EN 50491-12-2 as published in s2-ws-json (``docs/protocol.md`` maps them).
Besides the expectations written here, every frame the RM sends is judged by the rule catalogue
(:mod:`s2ws.rules.replay`) and every message the tester sends must get exactly one answer.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from ..messages.profiles import normalize_version
from .cases import CaseContext, CaseSkipped, case
from .probe import CaseFailed, Message, PeerClosed, Probe, new_id

__all__ = ["FIRST_DESCRIPTION", "open_session", "select"]

FRBC = "FILL_RATE_BASED_CONTROL"
OMBC = "OPERATION_MODE_BASED_CONTROL"
PEBC = "POWER_ENVELOPE_BASED_CONTROL"
PPBC = "POWER_PROFILE_BASED_CONTROL"
DDBC = "DEMAND_DRIVEN_BASED_CONTROL"
FIRST_DESCRIPTION = {
    FRBC: ("FRBC.SystemDescription",),
    OMBC: ("OMBC.SystemDescription",),
    DDBC: ("DDBC.SystemDescription",),
    PEBC: ("PEBC.PowerConstraints",),
    PPBC: ("PPBC.PowerProfileDefinition",),
}
_ERRORS = {"INVALID_DATA", "INVALID_MESSAGE", "INVALID_CONTENT"}


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _now(offset: float = 0.0) -> str:
    return _ts(datetime.now(UTC) + timedelta(seconds=offset))


async def open_session(probe: Probe, ctx: CaseContext, *, selected: str | None = None) -> Message:
    """Handshake as the CEM and wait for ResourceManagerDetails, which is returned."""
    hello = await probe.expect_type("Handshake")
    if hello.get("role") != "RM":
        raise CaseFailed(f"the RM's Handshake names role {hello.get('role')!r}")
    offered = [normalize_version(str(v)) for v in hello.get("supported_protocol_versions") or []]
    if normalize_version(ctx.profile) not in offered:
        raise CaseSkipped(f"the RM does not offer profile {ctx.profile} (it offers {', '.join(offered) or 'none'})")
    ident = await probe.send({"message_type": "Handshake", "role": "CEM", "supported_protocol_versions": [ctx.profile]})
    reply = await probe.send(
        {"message_type": "HandshakeResponse", "selected_protocol_version": selected or ctx.profile}
    )
    await probe.require_status(ident, {"OK"}, "the CEM's Handshake")
    await probe.require_status(reply, {"OK"}, "the HandshakeResponse")
    return await probe.expect_type("ResourceManagerDetails")


def _controllable(details: Message) -> list[str]:
    return [c for c in details.get("available_control_types", []) if c in FIRST_DESCRIPTION]


async def select(probe: Probe, control_type: str) -> Message:
    """Select a control type (must be answered OK) and return its first description message."""
    ident = await probe.send({"message_type": "SelectControlType", "control_type": control_type})
    await probe.require_status(ident, {"OK"}, f"SelectControlType {control_type}")
    return await probe.expect_type(*FIRST_DESCRIPTION[control_type])


async def _ready(probe: Probe, ctx: CaseContext, control_type: str) -> tuple[Message, Message]:
    details = await open_session(probe, ctx)
    if control_type not in _controllable(details):
        raise CaseSkipped(f"the RM does not offer {control_type}")
    return details, await select(probe, control_type)


async def _still_alive(probe: Probe, details: Message) -> None:
    """The session carries on: a control type can still be selected and is answered OK."""
    offered = _controllable(details)
    if not offered:
        return
    try:
        await select(probe, offered[0])
    except PeerClosed as exc:
        raise CaseFailed(f"the session ended after the refused message: {exc}") from None


async def _terminate(probe: Probe) -> None:
    ident = await probe.send({"message_type": "SessionRequest", "request": "TERMINATE"})
    await probe.require_status(ident, {"OK"}, "SessionRequest TERMINATE")


# --- WebSocket and handshake --------------------------------------------------------------------


@case(
    1,
    "rm",
    "The RM opens with its Handshake",
    rules=("S2-HANDSHAKE-001", "S2-HANDSHAKE-003", "S2-SESSION-002"),
    sections=("Handshake",),
    tags=("websocket", "handshake"),
)
async def rm_opens(probe: Probe, ctx: CaseContext) -> None:
    """Once the WebSocket is open, the RM's first message is a Handshake with role RM and its versions."""
    first = await probe.expect(lambda m: True, "a first message")
    if first.get("message_type") != "Handshake":
        raise CaseFailed(f"the first message was {first.get('message_type')!r}, not Handshake")
    if first.get("role") != "RM" or not first.get("supported_protocol_versions"):
        raise CaseFailed("the Handshake must name role RM and list supported_protocol_versions")


@case(
    2,
    "rm",
    "TERMINATE ends the session and the WebSocket closes normally",
    rules=("S2-SESSION-004",),
    sections=("SessionRequest",),
    tags=("websocket", "session-request", "ends-session"),
)
async def rm_terminate(probe: Probe, ctx: CaseContext) -> None:
    """SessionRequest TERMINATE is answered OK, nothing but ReceptionStatus follows, and a close by the RM
    uses code 1000 (normal closure) or 1001 (going away)."""
    await open_session(probe, ctx)
    await _terminate(probe)
    before = len(probe.received)
    await probe.drain(1.0)
    later = [m.get("message_type") for m in probe.received[before:] if m.get("message_type") != "ReceptionStatus"]
    if later:
        raise CaseFailed(f"the RM sent {', '.join(map(str, later))} after TERMINATE")
    if probe.close_code is not None and probe.close_code not in (1000, 1001):
        raise CaseFailed(f"the RM closed the WebSocket with code {probe.close_code}")


@case(
    3,
    "rm",
    "Handshake with the tested profile, then ResourceManagerDetails",
    rules=("S2-HANDSHAKE-004", "S2-SESSION-002", "S2-SESSION-005"),
    sections=("Handshake", "HandshakeResponse"),
    tags=("handshake",),
)
async def rm_handshake(probe: Probe, ctx: CaseContext) -> None:
    """The RM accepts the CEM's Handshake and HandshakeResponse and describes itself."""
    await open_session(probe, ctx)


@case(
    4,
    "rm",
    "A leading v in the selected version is accepted",
    rules=("S2-HANDSHAKE-004",),
    sections=("HandshakeResponse",),
    tags=("handshake", "version"),
)
async def rm_leading_v(probe: Probe, ctx: CaseContext) -> None:
    """HandshakeResponse selecting ``v<version>`` means the same version: answered OK, the session goes on."""
    await open_session(probe, ctx, selected="v" + ctx.profile)


@case(
    5,
    "rm",
    "A HandshakeResponse selecting a version the RM did not offer is refused",
    rules=("S2-HANDSHAKE-004",),
    sections=("HandshakeResponse",),
    tags=("handshake", "version", "ends-session"),
)
async def rm_no_common_version(probe: Probe, ctx: CaseContext) -> None:
    """Selecting 99.0.0 gets INVALID_CONTENT; the RM then ends the session and never sends its details."""
    await probe.expect_type("Handshake")
    await probe.send({"message_type": "Handshake", "role": "CEM", "supported_protocol_versions": ["99.0.0"]})
    reply = await probe.send({"message_type": "HandshakeResponse", "selected_protocol_version": "99.0.0"})
    status = await probe.status_of(reply, "a HandshakeResponse selecting 99.0.0")
    if status == "OK":
        raise CaseFailed("the RM accepted a protocol version it never offered")
    await probe.drain(1.0)
    if any(m.get("message_type") == "ResourceManagerDetails" for m in probe.received):
        raise CaseFailed("the RM sent ResourceManagerDetails without a common protocol version")


@case(
    6,
    "rm",
    "Profile 1.0.0 is negotiated when the RM offers it",
    rules=("S2-HANDSHAKE-004",),
    sections=("Handshake",),
    tags=("handshake", "version", "profile-1.0.0"),
    profiles=("1.0.0",),
)
async def rm_profile_1(probe: Probe, ctx: CaseContext) -> None:
    """With profile 1.0.0 selected, the RM's messages follow that profile (the catalogue judges them)."""
    details = await open_session(probe, ctx)
    offered = _controllable(details)
    if offered:
        await select(probe, offered[0])
        await probe.drain(1.0)


# --- details and control types ------------------------------------------------------------------


@case(
    10,
    "rm",
    "ResourceManagerDetails describe the RM",
    rules=("S2-RMD-001", "S2-RMD-002", "S2-RMD-003", "S2-RMD-004", "S2-RMD-005"),
    sections=("ResourceManagerDetails",),
    tags=("details",),
)
async def rm_details(probe: Probe, ctx: CaseContext) -> None:
    """The details offer at least one control type and declare an instruction_processing_delay."""
    details = await open_session(probe, ctx)
    if not details.get("available_control_types"):
        raise CaseFailed("ResourceManagerDetails offer no control type")
    if not isinstance(details.get("instruction_processing_delay"), int | float):
        raise CaseFailed("ResourceManagerDetails lack instruction_processing_delay")


@case(
    11,
    "rm",
    "Selecting an offered control type starts its descriptions",
    rules=("S2-SESSION-003", "S2-SESSION-007"),
    sections=("SelectControlType",),
    tags=("control-type",),
)
async def rm_select(probe: Probe, ctx: CaseContext) -> None:
    """SelectControlType is answered OK and the RM sends the control type's first description."""
    details = await open_session(probe, ctx)
    offered = _controllable(details)
    if not offered:
        raise CaseSkipped("the RM offers no controllable control type")
    await select(probe, offered[0])


@case(
    12,
    "rm",
    "Switching control types: NO_SELECTION, then selecting again",
    rules=("S2-SESSION-003",),
    sections=("SelectControlType",),
    tags=("control-type",),
)
async def rm_switch(probe: Probe, ctx: CaseContext) -> None:
    """Each SelectControlType is answered OK; after a new selection the RM describes itself again."""
    details = await open_session(probe, ctx)
    offered = _controllable(details)
    if not offered:
        raise CaseSkipped("the RM offers no controllable control type")
    await select(probe, offered[0])
    ident = await probe.send({"message_type": "SelectControlType", "control_type": "NO_SELECTION"})
    await probe.require_status(ident, {"OK"}, "SelectControlType NO_SELECTION")
    await select(probe, offered[-1])


@case(
    13,
    "rm",
    "Selecting a control type the RM did not offer is refused",
    rules=("S2-SESSION-007",),
    sections=("SelectControlType",),
    tags=("control-type", "errors"),
)
async def rm_select_unoffered(probe: Probe, ctx: CaseContext) -> None:
    """INVALID_CONTENT, and the session carries on."""
    details = await open_session(probe, ctx)
    missing = [c for c in FIRST_DESCRIPTION if c not in details.get("available_control_types", [])]
    if not missing:
        raise CaseSkipped("the RM offers every control type")
    ident = await probe.send({"message_type": "SelectControlType", "control_type": missing[0]})
    await probe.require_status(ident, {"INVALID_CONTENT"}, f"SelectControlType {missing[0]} (not offered)")
    await _still_alive(probe, details)


# --- error handling -----------------------------------------------------------------------------


async def _bad_frame(probe: Probe, ctx: CaseContext, text: str, wanted: set[str], what: str) -> None:
    details = await open_session(probe, ctx)
    await probe.send_text_and_require(text, wanted, what)
    await _still_alive(probe, details)


@case(
    20,
    "rm",
    "Malformed JSON gets INVALID_DATA and the session carries on",
    rules=("S2-SCHEMA-001",),
    sections=("ReceptionStatus",),
    tags=("errors",),
)
async def rm_malformed(probe: Probe, ctx: CaseContext) -> None:
    """A frame that is not JSON is answered INVALID_DATA (no message_id can be read)."""
    await _bad_frame(probe, ctx, '{"message_type": "SelectControlType", ', {"INVALID_DATA"}, "malformed JSON")


@case(
    21,
    "rm",
    "An unknown message type is refused and the session carries on",
    rules=("S2-SCHEMA-002",),
    sections=("ReceptionStatus",),
    tags=("errors",),
)
async def rm_unknown_type(probe: Probe, ctx: CaseContext) -> None:
    """A message_type that does not exist gets INVALID_MESSAGE (or INVALID_DATA); the RM does not close."""
    text = json.dumps({"message_type": "FRBC.Teleport", "message_id": new_id()})
    await _bad_frame(probe, ctx, text, {"INVALID_MESSAGE", "INVALID_DATA"}, "an unknown message type")


@case(
    22,
    "rm",
    "An unknown field is refused and the session carries on",
    rules=("S2-SCHEMA-002",),
    sections=("ReceptionStatus",),
    tags=("errors",),
)
async def rm_unknown_field(probe: Probe, ctx: CaseContext) -> None:
    """SelectControlType with an extra field breaks the schema (no additional properties): INVALID_MESSAGE."""
    text = json.dumps(
        {
            "message_type": "SelectControlType",
            "message_id": new_id(),
            "control_type": "NO_SELECTION",
            "colour": "blue",
        }
    )
    await _bad_frame(probe, ctx, text, {"INVALID_MESSAGE", "INVALID_DATA"}, "a message with an unknown field")


@case(
    23,
    "rm",
    "A message in the wrong state is refused and the session carries on",
    rules=("S2-SESSION-003",),
    sections=("ReceptionStatus", "SelectControlType"),
    tags=("errors",),
)
async def rm_wrong_state(probe: Probe, ctx: CaseContext) -> None:
    """An FRBC.Instruction while no control type is active gets INVALID_CONTENT."""
    text = json.dumps(
        {
            "message_type": "FRBC.Instruction",
            "message_id": new_id(),
            "id": new_id(),
            "actuator_id": "a1",
            "operation_mode": "m1",
            "operation_mode_factor": 0.5,
            "execution_time": _now(),
            "abnormal_condition": False,
        }
    )
    await _bad_frame(probe, ctx, text, {"INVALID_CONTENT"}, "an instruction before any control type is active")


@case(
    24,
    "rm",
    "An instruction with a factor of 1.5 is refused",
    rules=("S2-FRBC-018",),
    sections=("FRBC.Instruction",),
    tags=("errors", "frbc"),
)
async def rm_wrong_content(probe: Probe, ctx: CaseContext) -> None:
    """operation_mode_factor must lie in [0, 1]: INVALID_CONTENT, no status update for it, session goes on."""
    details, description = await _ready(probe, ctx, FRBC)
    status = await probe.expect_type("FRBC.ActuatorStatus")
    actuator, mode = _frbc_target(description, status)
    message = _frbc_instruction(actuator, mode["id"], _now(), factor=1.5)
    ident = await probe.send(message)
    await probe.require_status(ident, {"INVALID_CONTENT", "INVALID_MESSAGE"}, "an FRBC.Instruction with factor 1.5")
    await probe.drain(0.5)
    if any(m.get("instruction_id") == message["id"] for m in probe.received):
        raise CaseFailed("the RM reported a status for an instruction it refused")
    await _still_alive(probe, details)


@case(
    25,
    "rm",
    "Answers come within the declared instruction_processing_delay",
    rules=("S2-RS-004",),
    sections=("ResourceManagerDetails", "ReceptionStatus"),
    tags=("timing",),
)
async def rm_processing_delay(probe: Probe, ctx: CaseContext) -> None:
    """Every ReceptionStatus to the CEM's messages arrives within the declared delay (plus the runner's
    allowance for the network, ``--allowance``)."""
    details = await open_session(probe, ctx)
    limit = float(details.get("instruction_processing_delay", 0)) / 1000 + ctx.allowance

    def check() -> None:
        for subject, answered in probe.answer_times.items():
            sent = probe.sent_times.get(subject)
            if sent is not None and answered - sent > limit:
                raise CaseFailed(
                    f"the answer to {subject} took {answered - sent:.2f} s; the RM declared "
                    f"{details.get('instruction_processing_delay')} ms (allowance {ctx.allowance:g} s)"
                )

    for control_type in _controllable(details)[:2]:
        ident = await probe.send({"message_type": "SelectControlType", "control_type": control_type})
        await probe.status_of(ident, f"SelectControlType {control_type}")
        check()
    ident = await probe.send({"message_type": "SelectControlType", "control_type": "NO_SELECTION"})
    await probe.status_of(ident, "SelectControlType NO_SELECTION")
    check()


@case(
    26,
    "rm",
    "SessionRequest RECONNECT is answered and the connection ends",
    sections=("SessionRequest",),
    tags=("session-request", "websocket"),
)
async def rm_reconnect(probe: Probe, ctx: CaseContext) -> None:
    """RECONNECT is answered OK and the RM sends nothing new on this connection (it may reconnect)."""
    await open_session(probe, ctx)
    ident = await probe.send({"message_type": "SessionRequest", "request": "RECONNECT"})
    await probe.require_status(ident, {"OK"}, "SessionRequest RECONNECT")
    before = len(probe.received)
    await probe.drain(1.0)
    later = [m.get("message_type") for m in probe.received[before:] if m.get("message_type") != "ReceptionStatus"]
    if later:
        raise CaseFailed(f"the RM sent {', '.join(map(str, later))} after RECONNECT")


# --- helpers the control-type cases share ------------------------------------------------------


def _frbc_target(description: Message, status: Message) -> tuple[str, Message]:
    """The actuator of ``status`` and a mode reachable from its active mode (by a transition, or itself)."""
    actuator_id = status.get("actuator_id")
    actuators = {a["id"]: a for a in description.get("actuators", [])}
    actuator = actuators.get(actuator_id) or next(iter(actuators.values()), None)
    if actuator is None:
        raise CaseFailed("FRBC.SystemDescription has no actuator")
    active = status.get("active_operation_mode_id")
    modes = {m["id"]: m for m in actuator["operation_modes"] if not m.get("abnormal_condition_only")}
    for transition in actuator.get("transitions", []):
        usable = transition["to"] in modes and not transition["abnormal_condition_only"]
        if transition["from"] == active and usable and not transition.get("blocking_timers"):
            return actuator["id"], modes[transition["to"]]
    if active in modes:
        return actuator["id"], modes[active]
    raise CaseSkipped("no operation mode is reachable from the active one without abnormal conditions")


def _frbc_instruction(actuator: str, mode: str, at: str, *, factor: float = 1.0) -> dict[str, Any]:

    return {
        "message_type": "FRBC.Instruction",
        "id": new_id(),
        "actuator_id": actuator,
        "operation_mode": mode,
        "operation_mode_factor": factor,
        "execution_time": at,
        "abnormal_condition": False,
    }
