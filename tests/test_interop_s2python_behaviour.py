"""Pinned behaviour of s2-python 0.11.1 as a peer, observed with only the s2-python side running.

A minimal scripted peer (aiohttp WebSockets on 127.0.0.1) talks to the s2-python scripts in `interop/`
and sends exactly the frames that matter: non-UUID ids, JSON arrays, stray ReceptionStatuses, messages
s2-python has no handler for, schema-valid messages it cannot parse. Each test pins what s2-python
answers (or does not answer) and whether its session survives; docs/interop.md cites these tests.

"No answer" is never judged by waiting: after the frame under test the peer sends a probe that
s2-python does answer, and s2-python handles received frames in order, so the probe's answer arriving
first proves the other never comes. "The session ends" is s2-python's `S2AsyncConnection.run()`
returning while the WebSocket is still open (summary end "s2python_stopped"); the RM script then closes
the socket, as an application must: s2-python does not close it itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import s2ws
from interop_support import (
    ScriptProcess,
    ScriptResult,
    is_uuid,
    run_s2python_code,
    s2python_interpreter,
    s2python_script,
)

NIL_UUID = "00000000-0000-0000-0000-000000000000"
VERSION = "0.0.2-beta"
FRBC = "FILL_RATE_BASED_CONTROL"
DEADLINE = 45.0  # seconds for a whole test, processes included
SCRIPT_TIMEOUT = "30"  # the scripts' own --timeout
PYDANTIC_LABEL = "(<class 'pydantic._internal._model_construction.ModelMetaclass'>, <class '{}'>, 'Pydantic raised a validation error.')"  # noqa: E501
STOPPED = "An error occurred in the S2 connection. Terminating current connection."


def new_id() -> str:
    return str(uuid.uuid4())


def status(subject: str, value: str = "OK") -> dict[str, Any]:
    return {"message_type": "ReceptionStatus", "subject_message_id": subject, "status": value}


def cem_handshake() -> dict[str, Any]:
    return {
        "message_type": "Handshake",
        "message_id": new_id(),
        "role": "CEM",
        "supported_protocol_versions": [VERSION],
    }


def select(control_type: str, message_id: str | None = None) -> dict[str, Any]:
    return {"message_type": "SelectControlType", "message_id": message_id or new_id(), "control_type": control_type}


WebSocket = web.WebSocketResponse | aiohttp.ClientWebSocketResponse


@dataclass
class Peer:
    """The scripted side of one WebSocket: sends raw frames, reads JSON objects in order."""

    ws: WebSocket
    received: list[dict[str, Any]] = field(default_factory=list)  # everything, in order
    _unread: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False
    released: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, message: dict[str, Any] | str) -> None:
        await self.ws.send_str(message if isinstance(message, str) else json.dumps(message))

    async def _read(self) -> dict[str, Any] | None:
        if self.closed:
            return None
        frame = await self.ws.receive()
        if frame.type is not aiohttp.WSMsgType.TEXT:
            self.closed = True
            return None
        message = json.loads(frame.data)
        assert isinstance(message, dict), frame.data  # s2-python only ever sends objects
        self.received.append(message)
        return message

    async def expect(self, message_type: str, **fields: Any) -> dict[str, Any]:
        """The first unread message of this type (and these field values); others stay unread."""

        def matches(message: dict[str, Any]) -> bool:
            return message.get("message_type") == message_type and all(message.get(k) == v for k, v in fields.items())

        for candidate in self._unread:
            if matches(candidate):
                self._unread.remove(candidate)
                return candidate
        while (message := await self._read()) is not None:
            if matches(message):
                return message
            self._unread.append(message)
        raise AssertionError(f"closed while waiting for {message_type} {fields}; received: {self.received}")

    async def status_for(self, subject: str) -> dict[str, Any]:
        return await self.expect("ReceptionStatus", subject_message_id=subject)

    async def ack(self, message: dict[str, Any], value: str = "OK") -> None:
        await self.send(status(message["message_id"], value))

    async def until_closed(self) -> None:
        while await self._read() is not None:
            pass

    def statuses_for(self, subject: str) -> list[dict[str, Any]]:
        return [
            m
            for m in self.received
            if m.get("message_type") == "ReceptionStatus" and m["subject_message_id"] == subject
        ]

    async def close(self) -> None:
        if not self.ws.closed:
            await self.ws.close()
        self.closed = True


@dataclass
class ScriptedCEM:
    """An aiohttp server on 127.0.0.1 that hands each accepted WebSocket to the test as a Peer."""

    url: str
    connections: asyncio.Queue[Peer]
    peers: list[Peer] = field(default_factory=list)

    async def accept(self) -> Peer:
        peer = await self.connections.get()
        self.peers.append(peer)
        return peer


@pytest.fixture
async def scripted_cem() -> AsyncIterator[ScriptedCEM]:
    s2python_interpreter()
    connections: asyncio.Queue[Peer] = asyncio.Queue()

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        peer = Peer(ws)
        connections.put_nowait(peer)
        await peer.released.wait()
        if not ws.closed:
            await ws.close()
        return ws

    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        cem = ScriptedCEM(f"ws://127.0.0.1:{port}/", connections)
        yield cem
        for peer in cem.peers:
            peer.released.set()
    finally:
        while not connections.empty():
            connections.get_nowait().released.set()
        await runner.cleanup()


@contextlib.asynccontextmanager
async def s2python_rm(cem: ScriptedCEM) -> AsyncIterator[tuple[Peer, ScriptProcess]]:
    """The s2-python RM script connected to the scripted CEM."""
    async with s2python_script("s2python_rm.py", "--url", cem.url, "--timeout", SCRIPT_TIMEOUT) as rm:
        peer = await cem.accept()
        try:
            yield peer, rm
        finally:
            peer.released.set()


async def open_session(peer: Peer, *, version: str = VERSION, cem_sends_handshake: bool = True) -> dict[str, Any]:
    """Handshake both ways and HandshakeResponse; returns the RM's ResourceManagerDetails (acknowledged)."""
    handshake = await peer.expect("Handshake")
    assert handshake["role"] == "RM" and handshake["supported_protocol_versions"] == [VERSION]
    await peer.ack(handshake)
    if cem_sends_handshake:
        ours = cem_handshake()
        await peer.send(ours)
        assert (await peer.status_for(ours["message_id"]))["status"] == "OK"
    response = {"message_type": "HandshakeResponse", "message_id": new_id(), "selected_protocol_version": version}
    await peer.send(response)
    assert (await peer.status_for(response["message_id"]))["status"] == "OK"
    details = await peer.expect("ResourceManagerDetails")
    await peer.ack(details)
    return details


async def select_frbc(peer: Peer) -> list[dict[str, Any]]:
    """Select FRBC and acknowledge what the RM sends on activation, in the order it sends it."""
    message = select(FRBC)
    await peer.send(message)
    assert (await peer.status_for(message["message_id"]))["status"] == "OK"
    sent = []
    for message_type in ("FRBC.SystemDescription", "FRBC.ActuatorStatus", "FRBC.StorageStatus", "PowerMeasurement"):
        received = await peer.expect(message_type)
        await peer.ack(received)
        sent.append(received)
    return sent


async def probe(peer: Peer) -> None:
    """A Handshake from the CEM: s2-python's RM answers it OK, in order with everything before it."""
    message = cem_handshake()
    await peer.send(message)
    assert (await peer.status_for(message["message_id"]))["status"] == "OK"


async def normal_end(peer: Peer, rm: ScriptProcess) -> ScriptResult:
    await peer.close()
    result = await rm.finish(30)
    assert result.returncode == 0 and result.summary["end"] == "peer_closed", result.describe()
    return result


async def stopped_by_s2python(peer: Peer, rm: ScriptProcess) -> ScriptResult:
    await peer.until_closed()
    result = await rm.finish(30)
    assert result.returncode == 1 and result.summary["end"] == "s2python_stopped", result.describe()
    return result


def logged_errors(result: ScriptResult) -> list[dict[str, str]]:
    return [record for record in result.summary["s2python_log"] if record["level"] == "ERROR"]


# --- what ends an s2-python session --------------------------------------------------------------


async def test_non_uuid_message_id_ends_the_session_unanswered(scripted_cem: ScriptedCEM) -> None:
    # "select-1" is a valid S2 ID (s2ws accepts it); s2-python cannot even address its answer to it
    message = select(FRBC, message_id="select-1")
    s2ws.decode(json.dumps(message), profile=VERSION)
    async with asyncio.timeout(DEADLINE), s2python_rm(scripted_cem) as (peer, rm):
        await open_session(peer)
        await peer.send(message)
        result = await stopped_by_s2python(peer, rm)
    assert peer.statuses_for("select-1") == []
    [error] = logged_errors(result)
    assert error["message"] == STOPPED
    assert error["exception"].startswith(
        "S2ValidationError: (<class 's2python.common.reception_status.ReceptionStatus'>"
    )
    assert "subject_message_id\\n  Input should be a valid UUID" in error["exception"]


async def test_json_array_frame_ends_the_session_unanswered(scripted_cem: ScriptedCEM) -> None:
    async with asyncio.timeout(DEADLINE), s2python_rm(scripted_cem) as (peer, rm):
        await open_session(peer)
        handshake = cem_handshake()
        await peer.send(json.dumps([handshake]))
        result = await stopped_by_s2python(peer, rm)
    assert peer.statuses_for(handshake["message_id"]) == []
    [error] = logged_errors(result)
    assert error == {
        "level": "ERROR",
        "message": STOPPED,
        "exception": "AttributeError: 'list' object has no attribute 'get'",
    }


async def test_second_status_for_a_subject_it_does_not_await_ends_the_session(scripted_cem: ScriptedCEM) -> None:
    subject = new_id()
    async with asyncio.timeout(DEADLINE), s2python_rm(scripted_cem) as (peer, rm):
        await open_session(peer)
        await peer.send(status(subject))
        await probe(peer)  # one stray status is kept silently
        await peer.send(status(subject))
        result = await stopped_by_s2python(peer, rm)
    [error] = logged_errors(result)
    assert error["message"] == STOPPED
    assert (
        error["exception"]
        == f"RuntimeError: ReceptionStatus for message_subject_id {subject} has already been received!"
    )


async def test_non_ok_status_for_its_handshake_ends_the_session(scripted_cem: ScriptedCEM) -> None:
    async with asyncio.timeout(DEADLINE), s2python_rm(scripted_cem) as (peer, rm):
        handshake = await peer.expect("Handshake")
        await peer.ack(handshake, "INVALID_CONTENT")
        result = await stopped_by_s2python(peer, rm)
    assert (
        result.summary["error"]
        == "RuntimeError: ReceptionStatus was not OK but rather ReceptionStatusValues.INVALID_CONTENT"
    )
    assert "ResourceManagerDetails" not in result.summary["sent"]


async def test_unanswered_message_blocks_its_queue_then_ends_the_session(scripted_cem: ScriptedCEM) -> None:
    # s2-python waits (5 s by default) for the ReceptionStatus of its ResourceManagerDetails; while it
    # waits it answers nothing else, and when the wait times out its session ends
    async with asyncio.timeout(DEADLINE), s2python_rm(scripted_cem) as (peer, rm):
        handshake = await peer.expect("Handshake")
        await peer.ack(handshake)
        response = {"message_type": "HandshakeResponse", "message_id": new_id(), "selected_protocol_version": VERSION}
        await peer.send(response)
        details = await peer.expect("ResourceManagerDetails")
        waiting = cem_handshake()
        await peer.send(waiting)
        result = await stopped_by_s2python(peer, rm)
    assert peer.statuses_for(waiting["message_id"]) == []
    assert [r["message"] for r in logged_errors(result)] == [
        f"Did not receive a reception status on time for {details['message_id']}",
        STOPPED,
    ]
    assert logged_errors(result)[1]["exception"] == "TimeoutError: "


# --- what it gets wrong but survives -------------------------------------------------------------


async def test_session_request_and_revoke_object_get_no_reception_status(scripted_cem: ScriptedCEM) -> None:
    terminate = {"message_type": "SessionRequest", "message_id": new_id(), "request": "TERMINATE"}
    revoke = {
        "message_type": "RevokeObject",
        "message_id": new_id(),
        "object_type": "FRBC.Instruction",
        "object_id": new_id(),
    }
    async with asyncio.timeout(DEADLINE), s2python_rm(scripted_cem) as (peer, rm):
        await open_session(peer)
        await peer.send(terminate)
        await peer.send(revoke)
        await probe(peer)  # answered: the session goes on, TERMINATE did not end it
        result = await normal_end(peer, rm)
    assert peer.statuses_for(terminate["message_id"]) == [] and peer.statuses_for(revoke["message_id"]) == []
    assert result.summary["unanswered_received"] == ["RevokeObject", "SessionRequest"]
    warnings = [r["message"] for r in result.summary["s2python_log"] if r["level"] == "WARNING"]
    ignored = "Received an event of type <class 's2python.common.{}'> but no handler is registered. Ignoring the event."
    assert warnings == [
        ignored.format(name) for name in ("session_request.SessionRequest", "revoke_object.RevokeObject")
    ]


async def test_non_uuid_instruction_id_is_refused_as_invalid_message(scripted_cem: ScriptedCEM) -> None:
    async with asyncio.timeout(DEADLINE), s2python_rm(scripted_cem) as (peer, rm):
        await open_session(peer)
        description = (await select_frbc(peer))[0]
        actuator = description["actuators"][0]
        instruction = {
            "message_type": "FRBC.Instruction",
            "message_id": new_id(),
            "id": "instruction-1",
            "actuator_id": actuator["id"],
            "operation_mode": actuator["operation_modes"][1]["id"],
            "operation_mode_factor": 0.5,
            "execution_time": "2024-01-01T00:00:00Z",
            "abnormal_condition": False,
        }
        s2ws.decode(json.dumps(instruction), profile=VERSION)
        await peer.send(instruction)
        answer = await peer.status_for(instruction["message_id"])
        await probe(peer)
        result = await normal_end(peer, rm)
    assert answer["status"] == "INVALID_MESSAGE"
    assert answer["diagnostic_label"] == PYDANTIC_LABEL.format("s2python.frbc.frbc_instruction.FRBCInstruction")
    assert result.summary["instructions"] == [] and "InstructionStatusUpdate" not in result.summary["sent"]


async def test_unparsable_frames_are_answered_with_repr_labels(scripted_cem: ScriptedCEM) -> None:
    unknown_type = {"message_type": "Foo.Bar", "message_id": new_id()}
    bad_enum = select("NOT_A_CONTROL_TYPE")
    async with asyncio.timeout(DEADLINE), s2python_rm(scripted_cem) as (peer, rm):
        await open_session(peer)
        await peer.send("this is not JSON")
        not_json = await peer.status_for(NIL_UUID)
        await peer.send('{"message_type": "Handshake", "role": "CEM"}')
        no_id = await peer.status_for(NIL_UUID)
        await peer.send(unknown_type)
        unknown = await peer.status_for(unknown_type["message_id"])
        await peer.send(bad_enum)
        enum = await peer.status_for(bad_enum["message_id"])
        await probe(peer)
        await normal_end(peer, rm)
    assert not_json == {**status(NIL_UUID, "INVALID_DATA"), "diagnostic_label": "Not valid json."}
    assert no_id == {
        **status(NIL_UUID, "INVALID_DATA"),
        "diagnostic_label": "Message appears valid json but could not find a message_id field.",
    }
    assert unknown["status"] == "INVALID_MESSAGE"
    assert (
        unknown["diagnostic_label"]
        == f"(None, {unknown_type!r}, 'Unable to parse Foo.Bar as an S2 message. Type unknown.')"
    )
    assert enum["status"] == "INVALID_MESSAGE"
    assert enum["diagnostic_label"] == PYDANTIC_LABEL.format("s2python.common.select_control_type.SelectControlType")


async def test_unoffered_control_type_is_answered_ok_and_activates_nothing(scripted_cem: ScriptedCEM) -> None:
    pebc = select("POWER_ENVELOPE_BASED_CONTROL")
    async with asyncio.timeout(DEADLINE), s2python_rm(scripted_cem) as (peer, rm):
        details = await open_session(peer)
        await peer.send(pebc)
        answer = await peer.status_for(pebc["message_id"])
        count = len(peer.received)
        await probe(peer)
        between = peer.received[count:-1]
        activation = await select_frbc(peer)  # a later valid selection still works
        result = await normal_end(peer, rm)
    assert "POWER_ENVELOPE_BASED_CONTROL" not in details["available_control_types"]
    assert answer["status"] == "OK" and between == []
    # its output style: UTC timestamps with "Z", lowercase UUIDs, absent optional fields omitted
    description, actuator_status = activation[0], activation[1]
    assert description["valid_from"].endswith("Z") and activation[3]["measurement_timestamp"].endswith("Z")
    assert all(is_uuid(m["message_id"]) and m["message_id"] == m["message_id"].lower() for m in activation)
    assert "previous_operation_mode_id" not in actuator_status and "transition_timestamp" not in actuator_status
    assert all(v is not None for m in peer.received for v in m.values())
    # its WebSocket client keeps websockets' default keepalive: a ping every 20 s
    assert result.summary["ping_interval"] == 20


async def test_any_handshake_response_is_accepted_even_without_a_cem_handshake(scripted_cem: ScriptedCEM) -> None:
    async with asyncio.timeout(DEADLINE), s2python_rm(scripted_cem) as (peer, rm):
        details = await open_session(peer, version="9.9.9-unheard-of", cem_sends_handshake=False)
        await normal_end(peer, rm)
    assert details["available_control_types"] == [FRBC, "NOT_CONTROLABLE"]


# --- s2-python as the CEM ------------------------------------------------------------------------


def _frbc_description(power_low_to_high: bool) -> dict[str, Any]:
    power = (-4000.0, 0.0) if power_low_to_high else (0.0, -4000.0)
    return {
        "message_type": "FRBC.SystemDescription",
        "message_id": new_id(),
        "valid_from": "2024-01-01T00:00:00Z",
        "actuators": [
            {
                "id": new_id(),
                "supported_commodities": ["ELECTRICITY"],
                "operation_modes": [
                    {
                        "id": new_id(),
                        "elements": [
                            {
                                "fill_level_range": {"start_of_range": 0, "end_of_range": 100},
                                "fill_rate": {"start_of_range": 0, "end_of_range": 0.01},
                                "power_ranges": [
                                    {
                                        "start_of_range": power[0],
                                        "end_of_range": power[1],
                                        "commodity_quantity": "ELECTRIC.POWER.L1",
                                    }
                                ],
                            }
                        ],
                        "abnormal_condition_only": False,
                    }
                ],
                "transitions": [],
                "timers": [],
            }
        ],
        "storage": {
            "provides_leakage_behaviour": False,
            "provides_fill_level_target_profile": False,
            "provides_usage_forecast": False,
            "fill_level_range": {"start_of_range": 0, "end_of_range": 100},
        },
    }


def _ddbc_description() -> dict[str, Any]:
    return {
        "message_type": "DDBC.SystemDescription",
        "message_id": new_id(),
        "valid_from": "2024-01-01T00:00:00Z",
        "actuators": [
            {
                "id": new_id(),
                "supported_commodites": ["ELECTRICITY"],
                "operation_modes": [
                    {
                        "Id": new_id(),
                        "power_ranges": [
                            {"start_of_range": 0, "end_of_range": 1000, "commodity_quantity": "ELECTRIC.POWER.L1"}
                        ],
                        "supply_range": {"start_of_range": 0, "end_of_range": 10},
                        "abnormal_condition_only": False,
                    }
                ],
                "transitions": [],
                "timers": [],
            }
        ],
        "present_demand_rate": {"start_of_range": 0, "end_of_range": 5},
        "provides_average_demand_rate_forecast": False,
    }


def _ppbc_status_with_progress() -> dict[str, Any]:
    return {
        "message_type": "PPBC.PowerProfileStatus",
        "message_id": new_id(),
        "sequence_container_status": [
            {
                "power_profile_id": new_id(),
                "sequence_container_id": new_id(),
                "selected_sequence_id": new_id(),
                "progress": 1000,
                "status": "EXECUTING",
            }
        ],
    }


def _measurement() -> dict[str, Any]:
    return {
        "message_type": "PowerMeasurement",
        "message_id": new_id(),
        "measurement_timestamp": "2024-01-01T00:00:00Z",
        "values": [{"commodity_quantity": "ELECTRIC.POWER.L1", "value": 0.0}],
    }


async def test_s2python_cem_refuses_schema_valid_messages_it_cannot_parse() -> None:
    s2python_interpreter()
    refused = {
        "FRBC.SystemDescription": _frbc_description(power_low_to_high=False),
        "DDBC.SystemDescription": _ddbc_description(),
        "PPBC.PowerProfileStatus": _ppbc_status_with_progress(),
    }
    for message in refused.values():
        s2ws.decode(json.dumps(message), profile=VERSION)  # all three are schema-valid
    unhandled: dict[str, Any] = {
        "message_type": "DDBC.ActuatorStatus",
        "message_id": new_id(),
        "actuator_id": new_id(),
        "active_operation_mode_id": new_id(),
        "operation_mode_factor": 0.0,
    }
    accepted = _frbc_description(power_low_to_high=True)
    answers: dict[str, dict[str, Any]] = {}
    async with (
        asyncio.timeout(DEADLINE),
        s2python_script("s2python_cem.py", "--port", "0", "--timeout", SCRIPT_TIMEOUT) as cem,
        aiohttp.ClientSession() as http,
    ):
        port = await cem.wait_port()
        async with http.ws_connect(f"ws://127.0.0.1:{port}/") as ws:
            peer = Peer(ws)
            handshake: dict[str, Any] = {
                "message_type": "Handshake",
                "message_id": new_id(),
                "role": "RM",
                "supported_protocol_versions": [VERSION],
            }
            await peer.send(handshake)
            assert (await peer.status_for(handshake["message_id"]))["status"] == "OK"
            await peer.ack(await peer.expect("Handshake", role="CEM"))
            await peer.ack(await peer.expect("HandshakeResponse", selected_protocol_version=VERSION))
            details: dict[str, Any] = {
                "message_type": "ResourceManagerDetails",
                "message_id": new_id(),
                "resource_id": new_id(),
                "roles": [{"role": "ENERGY_STORAGE", "commodity": "ELECTRICITY"}],
                "instruction_processing_delay": 0,
                "available_control_types": [FRBC],
                "provides_forecast": False,
                "provides_power_measurement_types": ["ELECTRIC.POWER.L1"],
            }
            await peer.send(details)
            assert (await peer.status_for(details["message_id"]))["status"] == "OK"
            await peer.ack(await peer.expect("SelectControlType", control_type=FRBC))

            for message_type, message in refused.items():
                await peer.send(message)
                answers[message_type] = await peer.status_for(message["message_id"])
            await peer.send(unhandled)
            probe_message = _measurement()
            await peer.send(probe_message)
            assert (await peer.status_for(probe_message["message_id"]))["status"] == "OK"

            await peer.send(accepted)
            assert (await peer.status_for(accepted["message_id"]))["status"] == "OK"
            instruction = await peer.expect("FRBC.Instruction")
            await peer.ack(instruction)
            update = {
                "message_type": "InstructionStatusUpdate",
                "message_id": new_id(),
                "instruction_id": instruction["id"],
                "status_type": "SUCCEEDED",
                "timestamp": "2024-01-01T00:00:00Z",
            }
            await peer.send(update)
            assert (await peer.status_for(update["message_id"]))["status"] == "OK"
            terminate = await peer.expect("SessionRequest")
            await peer.until_closed()
        result = await cem.finish(30)

    for message_type, answer in answers.items():
        assert answer["status"] == "INVALID_MESSAGE", (message_type, answer)
    assert answers["FRBC.SystemDescription"]["diagnostic_label"] == PYDANTIC_LABEL.format(
        "s2python.frbc.frbc_system_description.FRBCSystemDescription"
    )
    assert answers["DDBC.SystemDescription"]["diagnostic_label"] == PYDANTIC_LABEL.format(
        "s2python.ddbc.ddbc_system_description.DDBCSystemDescription"
    )
    assert answers["PPBC.PowerProfileStatus"]["diagnostic_label"] == PYDANTIC_LABEL.format(
        "s2python.ppbc.ppbc_power_profile_status.PPBCPowerProfileStatus"
    )
    assert peer.statuses_for(unhandled["message_id"]) == []
    assert instruction["actuator_id"] == accepted["actuators"][0]["id"]
    assert terminate["request"] == "TERMINATE"
    assert result.returncode == 0, result.describe()
    [session] = result.summary["sessions"]
    assert session["end"] == "cem_terminated" and session["unanswered_received"] == ["DDBC.ActuatorStatus"]


_PARSE_ERRORS = """
import json
from s2python.common import CommodityQuantity, PowerRange
from s2python.ddbc import DDBCSystemDescription
from s2python.ppbc import PPBCPowerProfileStatus
from s2python.s2_parser import S2Parser

def refusal(build):
    try:
        build()
    except Exception as exc:
        cause = exc.__cause__
        return [type(exc).__name__, str(cause if cause is not None else exc)]
    return None

messages = json.loads({messages!r})
print(json.dumps({{
    "build_0_to_-4000": refusal(lambda: PowerRange(
        start_of_range=0, end_of_range=-4000, commodity_quantity=CommodityQuantity.ELECTRIC_POWER_L1)),
    "build_-4000_to_0": refusal(lambda: PowerRange(
        start_of_range=-4000, end_of_range=0, commodity_quantity=CommodityQuantity.ELECTRIC_POWER_L1)),
    **{{name: refusal(lambda m=m: S2Parser.parse_as_any_message(json.dumps(m))) for name, m in messages.items()}},
}}))
"""


def test_s2python_models_refuse_what_the_schema_allows() -> None:
    """Why those messages are refused, straight from s2-python's models (no network)."""
    s2python_interpreter()
    messages = {
        "frbc_0_to_-4000": _frbc_description(power_low_to_high=False),
        "frbc_-4000_to_0": _frbc_description(power_low_to_high=True),
        "ddbc": _ddbc_description(),
        "ppbc_progress": _ppbc_status_with_progress(),
    }
    out = run_s2python_code(_PARSE_ERRORS.format(messages=json.dumps(messages)))
    assert out["build_-4000_to_0"] is None and out["frbc_-4000_to_0"] is None
    kind, reason = out["build_0_to_-4000"]
    assert kind == "S2ValidationError" and "start_of_range should not be higher than end_of_range" in reason
    assert out["frbc_0_to_-4000"][0] == "S2ValidationError"
    assert "start_of_range should not be higher than end_of_range" in out["frbc_0_to_-4000"][1]
    # DDBC: wants `id` besides the schema's `Id`, and a list for `supply_range`
    ddbc = out["ddbc"][1]
    assert "actuators.0.operation_modes.0.supply_range\n  Input should be a valid list" in ddbc
    assert "actuators.0.operation_modes.0.id\n  Field required" in ddbc
    # PPBC: `progress` is a Duration in the schema, a UUID in s2-python
    assert (
        "sequence_container_status.0.progress\n  UUID input should be a string, bytes or UUID object"
        in out["ppbc_progress"][1]
    )
