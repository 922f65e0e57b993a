"""A CEM built on s2-python 0.11.1's connection API, serving RMs over WebSockets.

Run it with the interpreter of the s2-python virtual environment (`.venv-s2python/bin/python`); s2ws
never imports it. s2-python ships only a WebSocket *client* medium, so this script accepts connections
with `websockets` (the version s2-python pins), wraps each one in an `S2AsyncMediumConnection` and runs
s2-python's `S2AsyncConnection` on it with these handlers:

- on connect: send Handshake(role CEM) and wait for its ReceptionStatus;
- Handshake from the RM: OK, then HandshakeResponse selecting the RM's version (the RM's first one when
  s2-python's own version is not in its list);
- ResourceManagerDetails: OK, then SelectControlType FILL_RATE_BASED_CONTROL (or the first type offered);
- FRBC.SystemDescription: OK, then one FRBC.Instruction for its first actuator, in a mode that can raise
  the fill level (else its first normal mode), factor 0.5, execution time now;
- InstructionStatusUpdate: OK; a terminal status for that instruction ends the session: SessionRequest
  TERMINATE, then the WebSocket is closed;
- SessionRequest from the RM: OK, then the WebSocket is closed;
- every other RM message of FRBC or of no control type: OK.

Messages the CEM starts itself from inside a handler are sent from a separate task: s2-python handles
received messages one at a time, and a handler that waits for a ReceptionStatus blocks the queue; when
both peers do that the session deadlocks until the 5 s ReceptionStatus timeout ends it.

    python interop/s2python_cem.py [--host 127.0.0.1] [--port 0] [--timeout 30] [--sessions 1] [--log FILE]

The first line on stdout is "PORT <n>" once the server listens; the last is a JSON summary. Exit
status: 0 when every session ended by the CEM's or the RM's choice, 1 when s2-python stopped a session
by itself, 3 on --timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import uuid
from collections.abc import AsyncGenerator, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from s2python.common import (
    ControlType,
    EnergyManagementRole,
    Handshake,
    HandshakeResponse,
    InstructionStatusUpdate,
    PowerForecast,
    PowerMeasurement,
    ReceptionStatusValues,
    ResourceManagerDetails,
    RevokeObject,
    SelectControlType,
    SessionRequest,
    SessionRequestType,
)
from s2python.connection import ConnectionStarted, ConnectionStopped
from s2python.connection.async_ import S2AsyncConnection
from s2python.connection.async_.medium.s2_medium import (
    MediumClosedConnectionError,
    S2AsyncMediumConnection,
    UnparsedMediumData,
)
from s2python.connection.types import S2ConnectionEventsAndMessages, SendOkayRunAsync
from s2python.frbc import (
    FRBCActuatorStatus,
    FRBCFillLevelTargetProfile,
    FRBCInstruction,
    FRBCLeakageBehaviour,
    FRBCStorageStatus,
    FRBCSystemDescription,
    FRBCTimerStatus,
    FRBCUsageForecast,
)
from s2python.message import S2MessageWithID
from s2python.version import S2_VERSION
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State
from wirelog import TERMINAL_INSTRUCTION_STATUSES, Recorder, capture_s2python_logs, print_summary

Handler = Callable[[S2AsyncConnection, S2ConnectionEventsAndMessages, SendOkayRunAsync], Coroutine[Any, Any, None]]

# RM messages that need nothing but the automatic OK
PLAIN_RM_MESSAGES: tuple[type[S2MessageWithID], ...] = (
    PowerMeasurement,
    PowerForecast,
    RevokeObject,
    FRBCActuatorStatus,
    FRBCStorageStatus,
    FRBCLeakageBehaviour,
    FRBCUsageForecast,
    FRBCFillLevelTargetProfile,
    FRBCTimerStatus,
)


class ServerConnectionMedium(S2AsyncMediumConnection):
    """An accepted `websockets` server connection as an s2-python medium, recording every frame."""

    def __init__(self, ws: ServerConnection, recorder: Recorder) -> None:
        self.ws = ws
        self.recorder = recorder
        self.peer_closed = False

    async def is_connected(self) -> bool:
        return self.ws.state is State.OPEN

    async def messages(self) -> AsyncGenerator[UnparsedMediumData, None]:
        try:
            async for message in self.ws:
                self.recorder.incoming(message)
                yield message
        except ConnectionClosed as exc:
            self.peer_closed = True
            raise MediumClosedConnectionError(f"connection closed: {exc}") from exc
        self.peer_closed = True

    async def send(self, message: str) -> None:
        self.recorder.outgoing(message)
        try:
            await self.ws.send(message)
        except ConnectionClosed as exc:
            raise MediumClosedConnectionError(f"could not send: {exc}") from exc


def pick_instruction(description: FRBCSystemDescription) -> FRBCInstruction:
    actuator = description.actuators[0]
    normal = [mode for mode in actuator.operation_modes if not mode.abnormal_condition_only] or list(
        actuator.operation_modes
    )
    raising = [mode for mode in normal if any(element.fill_rate.end_of_range > 0 for element in mode.elements)]
    mode = (raising or normal)[0]
    return FRBCInstruction(
        message_id=uuid.uuid4(),
        id=uuid.uuid4(),
        actuator_id=actuator.id,
        operation_mode=mode.id,
        operation_mode_factor=0.5,
        execution_time=datetime.now(UTC),
        abnormal_condition=False,
    )


class CemSession:
    def __init__(self, ws: ServerConnection, recorder: Recorder) -> None:
        self.ws = ws
        self.recorder = recorder
        self.medium = ServerConnectionMedium(ws, recorder)
        self.connection = S2AsyncConnection(self.medium, eventloop=asyncio.get_running_loop())
        self.finish = asyncio.Event()
        self.tasks: set[asyncio.Task[None]] = set()
        self.rm_request: str | None = None
        self.info: dict[str, Any] = {
            "rm_versions": None,
            "selected_version": None,
            "available_control_types": None,
            "selected_control_type": None,
            "instruction": None,
            "errors": [],
        }
        self.instruction: FRBCInstruction | None = None
        handlers: dict[type[S2ConnectionEventsAndMessages], Handler] = {
            ConnectionStarted: self.on_started,
            ConnectionStopped: self.on_stopped,
            Handshake: self.on_handshake,
            ResourceManagerDetails: self.on_details,
            FRBCSystemDescription: self.on_frbc_system_description,
            InstructionStatusUpdate: self.on_instruction_status,
            SessionRequest: self.on_session_request,
        }
        for message_type in PLAIN_RM_MESSAGES:
            handlers[message_type] = self.on_plain
        for event_type, handler in handlers.items():
            self.connection.register_handler(event_type, handler)

    def send_in_background(self, message: S2MessageWithID, then: Callable[[str], None] | None = None) -> None:
        """Send and await the ReceptionStatus without blocking s2-python's message queue."""

        async def send() -> None:
            try:
                status = await self.connection.send_msg_and_await_reception_status(message, raise_on_error=False)
            except Exception as exc:
                self.info["errors"].append(f"{message.message_type}: {type(exc).__name__}: {exc}")
                return
            value = status.status.value
            if value != ReceptionStatusValues.OK.value:
                self.info["errors"].append(f"{message.message_type} answered {value}: {status.diagnostic_label}")
            if then is not None:
                then(value)

        task = asyncio.get_running_loop().create_task(send())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def on_started(self, connection: S2AsyncConnection, _: S2ConnectionEventsAndMessages, __: Any) -> None:
        handshake = Handshake(
            message_id=uuid.uuid4(), role=EnergyManagementRole.CEM, supported_protocol_versions=[S2_VERSION]
        )
        status = await connection.send_msg_and_await_reception_status(handshake, raise_on_error=False)
        if status.status != ReceptionStatusValues.OK:
            self.info["errors"].append(f"Handshake answered {status.status.value}: {status.diagnostic_label}")

    async def on_stopped(self, _: S2AsyncConnection, __: S2ConnectionEventsAndMessages, ___: Any) -> None:
        self.finish.set()

    async def on_handshake(
        self, _: S2AsyncConnection, event: S2ConnectionEventsAndMessages, send_okay: SendOkayRunAsync
    ) -> None:
        assert isinstance(event, Handshake) and send_okay is not None
        await send_okay()
        offered = list(event.supported_protocol_versions or [])
        self.info["rm_versions"] = offered
        version = S2_VERSION if S2_VERSION in offered or not offered else offered[0]
        self.info["selected_version"] = version
        self.send_in_background(HandshakeResponse(message_id=uuid.uuid4(), selected_protocol_version=version))

    async def on_details(
        self, _: S2AsyncConnection, event: S2ConnectionEventsAndMessages, send_okay: SendOkayRunAsync
    ) -> None:
        assert isinstance(event, ResourceManagerDetails) and send_okay is not None
        await send_okay()
        offered = list(event.available_control_types)
        self.info["available_control_types"] = [control_type.value for control_type in offered]
        frbc = ControlType.FILL_RATE_BASED_CONTROL
        chosen = frbc if frbc in offered else offered[0]
        self.info["selected_control_type"] = chosen.value

        def after(status: str) -> None:
            if chosen != frbc:  # nothing this CEM can instruct: the session has done its job
                self.finish.set()

        self.send_in_background(SelectControlType(message_id=uuid.uuid4(), control_type=chosen), after)

    async def on_frbc_system_description(
        self, _: S2AsyncConnection, event: S2ConnectionEventsAndMessages, send_okay: SendOkayRunAsync
    ) -> None:
        assert isinstance(event, FRBCSystemDescription) and send_okay is not None
        await send_okay()
        if self.instruction is not None:
            return
        self.instruction = pick_instruction(event)
        self.info["instruction"] = {
            "id": str(self.instruction.id),
            "actuator_id": str(self.instruction.actuator_id),
            "operation_mode": str(self.instruction.operation_mode),
            "operation_mode_factor": self.instruction.operation_mode_factor,
        }
        self.send_in_background(self.instruction)

    async def on_instruction_status(
        self, _: S2AsyncConnection, event: S2ConnectionEventsAndMessages, send_okay: SendOkayRunAsync
    ) -> None:
        assert isinstance(event, InstructionStatusUpdate) and send_okay is not None
        await send_okay()
        ours = self.instruction is not None and event.instruction_id == self.instruction.id
        if ours and event.status_type.value in TERMINAL_INSTRUCTION_STATUSES:
            self.finish.set()

    async def on_session_request(
        self, _: S2AsyncConnection, event: S2ConnectionEventsAndMessages, send_okay: SendOkayRunAsync
    ) -> None:
        assert isinstance(event, SessionRequest) and send_okay is not None
        await send_okay()
        self.rm_request = event.request.value
        self.finish.set()

    async def on_plain(
        self, _: S2AsyncConnection, __: S2ConnectionEventsAndMessages, send_okay: SendOkayRunAsync
    ) -> None:
        if send_okay is not None:
            await send_okay()

    async def run(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        run_task = loop.create_task(self.connection.run())
        finish_task = loop.create_task(self.finish.wait())
        error = None
        end = None
        try:
            await asyncio.wait({run_task, finish_task}, return_when=asyncio.FIRST_COMPLETED)
            if not run_task.done():
                if self.rm_request is not None:
                    end = "rm_requested"
                elif not self.medium.peer_closed:
                    end = "cem_terminated"
                    with contextlib.suppress(MediumClosedConnectionError):
                        await self.connection.send_and_forget(
                            SessionRequest(
                                message_id=uuid.uuid4(),
                                request=SessionRequestType.TERMINATE,
                                diagnostic_label="interop scenario complete",
                            )
                        )
                # the receive loop ends once the close handshake is done, and run() with it
                await self.ws.close()
            await run_task
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        finally:
            finish_task.cancel()
            for task in list(self.tasks):
                task.cancel()
            await asyncio.gather(finish_task, *self.tasks, return_exceptions=True)
        if end is None:
            end = "rm_closed" if self.medium.peer_closed else "s2python_stopped"
        summary: dict[str, Any] = {"session": self.recorder.session, "end": end, "error": error}
        summary.update(self.info)
        summary["rm_request"] = self.rm_request
        summary["close_code"] = self.ws.protocol.close_code
        summary.update(self.recorder.summary())
        return summary


async def serve_cem(args: argparse.Namespace) -> int:
    logs = capture_s2python_logs()
    sessions: list[dict[str, Any]] = []
    all_done = asyncio.Event()
    counter = 0

    async def handle(ws: ServerConnection) -> None:
        nonlocal counter
        counter += 1
        recorder = Recorder("cem", args.log)
        recorder.session = f"s2python-cem-{counter}"
        session = CemSession(ws, recorder)
        try:
            sessions.append(await session.run())
        finally:
            recorder.close()
            if len(sessions) >= args.sessions:
                all_done.set()

    summary: dict[str, Any] = {"role": "CEM"}
    code = 0
    async with serve(handle, args.host, args.port) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        summary["port"] = port
        sys.stdout.write(f"PORT {port}\n")
        sys.stdout.flush()
        deadline = asyncio.timeout(args.timeout)
        try:
            async with deadline:
                await all_done.wait()
        except TimeoutError:
            code = 3
    summary["end"] = "timeout" if code == 3 else "done"
    summary["sessions"] = sessions
    if code == 0 and any(session["end"] == "s2python_stopped" for session in sessions):
        code = 1
    summary["s2python_log"] = logs.records
    summary["exit_code"] = code
    print_summary(summary)
    return code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed as 'PORT <n>')")
    parser.add_argument("--timeout", type=float, default=30.0, help="give up after this many seconds")
    parser.add_argument("--sessions", type=int, default=1, help="exit after this many sessions have ended")
    parser.add_argument("--log", help="append every frame to this JSON Lines transcript")
    args = parser.parse_args()
    return asyncio.run(serve_cem(args))


if __name__ == "__main__":
    raise SystemExit(main())
