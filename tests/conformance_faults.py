"""Deliberately broken RMs for the conformance suite's own tests.

A broken RM is s2ws's battery simulator behind a proxy that changes what crosses it: the proxy
listens for the simulator, opens one connection to the tester per simulator connection, and hands
every frame to a :class:`Fault`, which forwards, drops, rewrites, delays or closes.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

from s2ws.conformance.harness import StartRM, Stop, simulated_rm
from s2ws.messages.catalogue import MESSAGE_INFO


class Pipe:
    def __init__(self, rm: web.WebSocketResponse, cem: aiohttp.ClientWebSocketResponse) -> None:
        self.rm, self.cem = rm, cem
        self._late: asyncio.Queue[tuple[float, str]] = asyncio.Queue()
        self._late_task: asyncio.Task[None] | None = None

    async def to_cem(self, text: str) -> None:
        if not self.cem.closed:
            await self.cem.send_str(text)

    async def to_rm(self, text: str) -> None:
        if not self.rm.closed:
            await self.rm.send_str(text)

    def to_cem_later(self, text: str, delay: float) -> None:
        """Forward ``text`` after ``delay`` seconds, keeping the order of delayed frames."""
        loop = asyncio.get_running_loop()
        self._late.put_nowait((loop.time() + delay, text))
        if self._late_task is None:
            self._late_task = asyncio.ensure_future(self._send_late())

    async def _send_late(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due, text = await self._late.get()
            await asyncio.sleep(max(0.0, due - loop.time()))
            with suppress(Exception):
                await self.to_cem(text)

    async def close(self) -> None:
        if self._late_task is not None:
            self._late_task.cancel()
        await self.rm.close()
        await self.cem.close()


class Fault:
    """Forwards everything unchanged: the correct peer."""

    async def from_rm(self, text: str, message: dict[str, Any], pipe: Pipe) -> None:
        await pipe.to_cem(text)

    async def from_cem(self, text: str, message: dict[str, Any], pipe: Pipe) -> None:
        await pipe.to_rm(text)


class NoReceptionStatus(Fault):
    async def from_rm(self, text: str, message: dict[str, Any], pipe: Pipe) -> None:
        if message.get("message_type") != "ReceptionStatus":
            await pipe.to_cem(text)


class AcceptsEverything(Fault):
    """Answers OK whatever the RM decided: accepts a factor of 1.5."""

    async def from_rm(self, text: str, message: dict[str, Any], pipe: Pipe) -> None:
        if message.get("message_type") == "ReceptionStatus" and message.get("status") != "OK":
            text = json.dumps({**message, "status": "OK", "diagnostic_label": ""})
        await pipe.to_cem(text)


class SucceededBeforeStarted(Fault):
    def __init__(self) -> None:
        self.held: dict[str, str] = {}

    async def from_rm(self, text: str, message: dict[str, Any], pipe: Pipe) -> None:
        if message.get("message_type") == "InstructionStatusUpdate":
            instruction = str(message.get("instruction_id"))
            if message.get("status_type") == "STARTED":
                self.held[instruction] = text
                return
            await pipe.to_cem(text)
            if message.get("status_type") == "SUCCEEDED" and instruction in self.held:
                await pipe.to_cem(self.held.pop(instruction))
            return
        await pipe.to_cem(text)


class IgnoresRevocation(Fault):
    """Says OK to RevokeObject but never tells the RM."""

    async def from_cem(self, text: str, message: dict[str, Any], pipe: Pipe) -> None:
        if message.get("message_type") == "RevokeObject":
            answer = {"message_type": "ReceptionStatus", "subject_message_id": message["message_id"], "status": "OK"}
            await pipe.to_cem(json.dumps(answer))
            return
        await pipe.to_rm(text)


class ClosesOnUnknownType(Fault):
    async def from_cem(self, text: str, message: dict[str, Any], pipe: Pipe) -> None:
        if message.get("message_type") not in MESSAGE_INFO:
            await pipe.close()
            return
        await pipe.to_rm(text)


class AnswersLate(Fault):
    """Answers SelectControlType and instructions ``delay`` seconds late (the battery declares 500 ms)."""

    def __init__(self, delay: float = 4.0) -> None:
        self.delay = delay
        self.slow: set[str] = set()

    async def from_cem(self, text: str, message: dict[str, Any], pipe: Pipe) -> None:
        kind = str(message.get("message_type"))
        if kind == "SelectControlType" or kind.endswith("Instruction"):
            self.slow.add(str(message.get("message_id")))
        await pipe.to_rm(text)

    async def from_rm(self, text: str, message: dict[str, Any], pipe: Pipe) -> None:
        if message.get("message_type") == "ReceptionStatus" and message.get("subject_message_id") in self.slow:
            pipe.to_cem_later(text, self.delay)
        else:
            await pipe.to_cem(text)


class IgnoresBlockingTimer(Fault):
    """Switches although a running timer blocks the transition: where the RM refused an instruction for a
    blocking timer, the CEM is told OK and that the switch was carried out."""

    TIMER_RULES = ("S2-FRBC-026", "S2-OMBC-015", "S2-DDBC-021")

    def __init__(self) -> None:
        self.instructions: dict[str, str] = {}
        """message_id of an instruction -> its id."""

    async def from_cem(self, text: str, message: dict[str, Any], pipe: Pipe) -> None:
        if str(message.get("message_type")).endswith("Instruction"):
            self.instructions[str(message.get("message_id"))] = str(message.get("id"))
        await pipe.to_rm(text)

    async def from_rm(self, text: str, message: dict[str, Any], pipe: Pipe) -> None:
        instruction = self.instructions.get(str(message.get("subject_message_id")))
        label = str(message.get("diagnostic_label", ""))
        if (
            message.get("message_type") != "ReceptionStatus"
            or instruction is None
            or not label.startswith(self.TIMER_RULES)
        ):
            await pipe.to_cem(text)
            return
        await pipe.to_cem(json.dumps({**message, "status": "OK", "diagnostic_label": ""}))
        for status in ("ACCEPTED", "STARTED", "SUCCEEDED"):
            update = {
                "message_type": "InstructionStatusUpdate",
                "message_id": str(uuid.uuid4()),
                "instruction_id": instruction,
                "status_type": status,
                "timestamp": datetime.now(UTC).isoformat(),
            }
            await pipe.to_cem(json.dumps(update))


def broken_rm(fault: Fault, device: str = "battery") -> StartRM:
    """A ``start_rm`` for the harness: the simulator behind a proxy that applies ``fault``."""

    async def start(tester_url: str) -> Stop:
        http = aiohttp.ClientSession()
        pipes: list[Pipe] = []

        async def handle(request: web.Request) -> web.WebSocketResponse:
            rm = web.WebSocketResponse()
            await rm.prepare(request)
            try:
                cem = await http.ws_connect(tester_url)
            except aiohttp.ClientError:
                await rm.close()
                return rm
            pipe = Pipe(rm, cem)
            pipes.append(pipe)

            async def pump(source: Any, forward: Any) -> None:
                async for frame in source:
                    if frame.type is not aiohttp.WSMsgType.TEXT:
                        break
                    try:
                        message = json.loads(frame.data)
                    except ValueError:
                        message = {}
                    await forward(frame.data, message if isinstance(message, dict) else {}, pipe)
                await pipe.close()

            await asyncio.gather(pump(rm, fault.from_rm), pump(cem, fault.from_cem), return_exceptions=True)
            return rm

        app = web.Application()
        app.router.add_get("/", handle)
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        stop_rm = await simulated_rm(device)(f"ws://127.0.0.1:{port}/")

        async def stop() -> None:
            await stop_rm()
            for pipe in pipes:
                await pipe.close()
            await runner.cleanup()
            await http.close()

        return stop

    return start


async def timer_ignoring_cem() -> tuple[str, Stop]:
    """A ``start_cem`` for the harness: a bare CEM that, told a timer is running, switches along the very
    transition it blocks (selects what the RM offers, answers OK to everything)."""

    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        transitions: list[dict[str, Any]] = []
        active: dict[str, str] = {}

        async def send(message: dict[str, Any]) -> None:
            await ws.send_str(json.dumps({"message_id": str(uuid.uuid4()), **message}))

        async for frame in ws:
            if frame.type is not aiohttp.WSMsgType.TEXT:
                break
            message = json.loads(frame.data)
            kind = message.get("message_type")
            if kind == "ReceptionStatus":
                continue
            await ws.send_str(
                json.dumps(
                    {"message_type": "ReceptionStatus", "subject_message_id": message["message_id"], "status": "OK"}
                )
            )
            if kind == "Handshake":
                await send({"message_type": "Handshake", "role": "CEM", "supported_protocol_versions": ["0.0.2-beta"]})
                version = message["supported_protocol_versions"][0]
                await send({"message_type": "HandshakeResponse", "selected_protocol_version": version})
            elif kind == "ResourceManagerDetails":
                await send({"message_type": "SelectControlType", "control_type": message["available_control_types"][0]})
            elif kind == "OMBC.SystemDescription":
                transitions = message["transitions"]
            elif kind == "OMBC.Status":
                active["mode"] = message["active_operation_mode_id"]
            elif kind == "OMBC.TimerStatus":
                for transition in transitions:
                    if (
                        transition["from"] == active.get("mode")
                        and message["timer_id"] in transition["blocking_timers"]
                    ):
                        await send(
                            {
                                "message_type": "OMBC.Instruction",
                                "id": str(uuid.uuid4()),
                                "execution_time": datetime.now(UTC).isoformat(),
                                "operation_mode_id": transition["to"],
                                "operation_mode_factor": 1.0,
                                "abnormal_condition": False,
                            }
                        )
        return ws

    app = web.Application()
    app.router.add_get("/", handle)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop() -> None:
        await runner.cleanup()

    return f"ws://127.0.0.1:{port}/", stop
