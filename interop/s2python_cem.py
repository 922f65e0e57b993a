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
- PEBC.PowerConstraints: OK, then one PEBC.Instruction with one PowerEnvelope per commodity quantity the
  constraints limit: one element of one hour whose upper limit is the top of the UPPER_LIMIT range and
  whose lower limit is the middle of the LOWER_LIMIT range (both within the allowed ranges);
- OMBC.SystemDescription and OMBC.Status: OK each; once both are in, one OMBC.Instruction to the target
  of the first normal transition out of the active mode (a reachable mode), factor 0.5;
- PPBC.PowerProfileDefinition: OK, then one PPBC.ScheduleInstruction for the first sequence of the
  first container, execution time now;
- DDBC: nothing to instruct; s2-python 0.11.1 cannot parse a schema-valid DDBC.SystemDescription and
  answers it INVALID_MESSAGE by itself, and once that answer is sent the session has done its job;
- InstructionStatusUpdate: OK; a terminal status for that instruction ends the session: SessionRequest
  TERMINATE; the RM closes the WebSocket once it has the answers to what it sent before the request
  (what crosses the request is still answered); after CLOSE_WAIT seconds without that, the script
  closes it;
- SessionRequest from the RM: OK, then the WebSocket is closed;
- every other RM message of FRBC, of no control type, or of the selected control type: OK (s2-python's
  own answer when it cannot parse one); a message of another control type gets no answer.

Only one instruction is sent per session. A control type with nothing to instruct (NOT_CONTROLABLE)
ends the session as soon as the selection is answered; an instruction that does not reach a terminal
status leaves the end to the RM.

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
    Duration,
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
from s2python.ddbc import DDBCActuatorStatus, DDBCAverageDemandRateForecast, DDBCTimerStatus
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
from s2python.ombc import OMBCInstruction, OMBCStatus, OMBCSystemDescription, OMBCTimerStatus
from s2python.pebc import (
    PEBCEnergyConstraint,
    PEBCInstruction,
    PEBCPowerConstraints,
    PEBCPowerEnvelope,
    PEBCPowerEnvelopeElement,
)
from s2python.ppbc import PPBCPowerProfileDefinition, PPBCPowerProfileStatus, PPBCScheduleInstruction
from s2python.version import S2_VERSION
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State
from wirelog import TERMINAL_INSTRUCTION_STATUSES, Recorder, capture_s2python_logs, print_summary

Handler = Callable[[S2AsyncConnection, S2ConnectionEventsAndMessages, SendOkayRunAsync], Coroutine[Any, Any, None]]

# RM messages that need nothing but the automatic OK
CLOSE_WAIT = 5.0
"""Seconds the script waits, after its TERMINATE, for the RM to close the WebSocket (s2ws waits at
most its 2 s close grace for the answers it is owed)."""
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

# RM messages of the other control types that need nothing but the automatic OK; registered only once
# their control type is selected, so that a message of another type stays one s2-python has no handler for
PLAIN_MESSAGES_OF: dict[ControlType, tuple[type[S2MessageWithID], ...]] = {
    ControlType.POWER_ENVELOPE_BASED_CONTROL: (PEBCEnergyConstraint,),
    ControlType.OPERATION_MODE_BASED_CONTROL: (OMBCTimerStatus,),
    ControlType.POWER_PROFILE_BASED_CONTROL: (PPBCPowerProfileStatus,),
    ControlType.DEMAND_DRIVEN_BASED_CONTROL: (DDBCActuatorStatus, DDBCAverageDemandRateForecast, DDBCTimerStatus),
}

Instruction = FRBCInstruction | PEBCInstruction | OMBCInstruction | PPBCScheduleInstruction

# control types this CEM can instruct, and the one it only watches (s2-python refuses its description)
STEERED = (
    ControlType.FILL_RATE_BASED_CONTROL,
    ControlType.POWER_ENVELOPE_BASED_CONTROL,
    ControlType.OPERATION_MODE_BASED_CONTROL,
    ControlType.POWER_PROFILE_BASED_CONTROL,
)
WATCHED = (ControlType.DEMAND_DRIVEN_BASED_CONTROL,)


class ServerConnectionMedium(S2AsyncMediumConnection):
    """An accepted `websockets` server connection as an s2-python medium, recording every frame."""

    def __init__(self, ws: ServerConnection, recorder: Recorder) -> None:
        self.ws = ws
        self.recorder = recorder
        self.peer_closed = False
        self.on_sent: Callable[[], None] | None = None

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
        if self.on_sent is not None:
            self.on_sent()


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


def pick_pebc_instruction(constraints: PEBCPowerConstraints) -> PEBCInstruction:
    limits: dict[Any, dict[str, float]] = {}
    for allowed in constraints.allowed_limit_ranges:
        if allowed.abnormal_condition_only:
            continue
        boundary = allowed.range_boundary
        entry = limits.setdefault(allowed.commodity_quantity, {})
        if allowed.limit_type.value == "UPPER_LIMIT":
            entry["upper"] = boundary.end_of_range
        else:
            entry["lower"] = (boundary.start_of_range + boundary.end_of_range) / 2
    envelopes = []
    for quantity, entry in limits.items():
        upper = entry.get("upper", entry.get("lower", 0.0))
        lower = min(entry.get("lower", upper), upper)
        element = PEBCPowerEnvelopeElement(
            duration=Duration.from_milliseconds(3_600_000), upper_limit=upper, lower_limit=lower
        )
        envelopes.append(
            PEBCPowerEnvelope(id=str(uuid.uuid4()), commodity_quantity=quantity, power_envelope_elements=[element])
        )
    return PEBCInstruction(
        message_id=uuid.uuid4(),
        id=uuid.uuid4(),
        execution_time=datetime.now(UTC),
        abnormal_condition=False,
        power_constraints_id=constraints.id,
        power_envelopes=envelopes,
    )


def pick_ombc_instruction(description: OMBCSystemDescription, status: OMBCStatus) -> OMBCInstruction:
    active = status.active_operation_mode_id
    targets = [
        transition.to
        for transition in description.transitions
        if transition.from_ == active and transition.to != active and not transition.abnormal_condition_only
    ]
    normal = [mode.id for mode in description.operation_modes if not mode.abnormal_condition_only]
    mode = (targets or [m for m in normal if m != active] or normal)[0]
    return OMBCInstruction(
        message_id=uuid.uuid4(),
        id=uuid.uuid4(),
        execution_time=datetime.now(UTC),
        operation_mode_id=mode,
        operation_mode_factor=0.5,
        abnormal_condition=False,
    )


def pick_ppbc_instruction(definition: PPBCPowerProfileDefinition) -> PPBCScheduleInstruction:
    container = definition.power_sequences_containers[0]
    return PPBCScheduleInstruction(
        message_id=uuid.uuid4(),
        id=uuid.uuid4(),
        power_profile_id=definition.id,
        sequence_container_id=container.id,
        power_sequence_id=container.power_sequences[0].id,
        execution_time=datetime.now(UTC),
        abnormal_condition=False,
    )


def describe_instruction(instruction: Instruction) -> dict[str, Any]:
    info: dict[str, Any] = {"message_type": instruction.message_type, "id": str(instruction.id)}
    if isinstance(instruction, FRBCInstruction):
        info["actuator_id"] = str(instruction.actuator_id)
        info["operation_mode"] = str(instruction.operation_mode)
        info["operation_mode_factor"] = instruction.operation_mode_factor
    elif isinstance(instruction, OMBCInstruction):
        info["operation_mode_id"] = str(instruction.operation_mode_id)
        info["operation_mode_factor"] = instruction.operation_mode_factor
    elif isinstance(instruction, PPBCScheduleInstruction):
        info["power_profile_id"] = str(instruction.power_profile_id)
        info["sequence_container_id"] = str(instruction.sequence_container_id)
        info["power_sequence_id"] = str(instruction.power_sequence_id)
    else:
        info["power_constraints_id"] = str(instruction.power_constraints_id)
        info["power_envelopes"] = [
            {
                "commodity_quantity": envelope.commodity_quantity.value,
                "elements": [
                    {"upper_limit": element.upper_limit, "lower_limit": element.lower_limit}
                    for element in envelope.power_envelope_elements
                ],
            }
            for envelope in instruction.power_envelopes
        ]
    return info


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
        self.instruction: Instruction | None = None
        self.ombc_description: OMBCSystemDescription | None = None
        self.ombc_status: OMBCStatus | None = None
        self.medium.on_sent = self.after_sent
        handlers: dict[type[S2ConnectionEventsAndMessages], Handler] = {
            ConnectionStarted: self.on_started,
            ConnectionStopped: self.on_stopped,
            Handshake: self.on_handshake,
            ResourceManagerDetails: self.on_details,
            FRBCSystemDescription: self.on_frbc_system_description,
            PEBCPowerConstraints: self.on_pebc_power_constraints,
            OMBCSystemDescription: self.on_ombc_system_description,
            OMBCStatus: self.on_ombc_status,
            PPBCPowerProfileDefinition: self.on_ppbc_power_profile_definition,
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
        for message_type in PLAIN_MESSAGES_OF.get(chosen, ()):
            self.connection.register_handler(message_type, self.on_plain)

        def after(status: str) -> None:
            if chosen not in STEERED and chosen not in WATCHED:  # nothing to instruct: the job is done
                self.finish.set()

        self.send_in_background(SelectControlType(message_id=uuid.uuid4(), control_type=chosen), after)

    async def on_frbc_system_description(
        self, _: S2AsyncConnection, event: S2ConnectionEventsAndMessages, send_okay: SendOkayRunAsync
    ) -> None:
        assert isinstance(event, FRBCSystemDescription) and send_okay is not None
        await send_okay()
        if self.instruction is not None:
            return
        self.instruct(pick_instruction(event))

    def instruct(self, instruction: Instruction) -> None:
        self.instruction = instruction
        self.info["instruction"] = describe_instruction(instruction)
        self.send_in_background(instruction)

    def after_sent(self) -> None:
        """Once s2-python has answered a DDBC.SystemDescription (it cannot parse one), the DDBC session is done."""
        if self.info["selected_control_type"] != ControlType.DEMAND_DRIVEN_BASED_CONTROL.value:
            return
        answered = self.recorder.statuses_sent
        if answered and answered[-1]["subject_type"] == "DDBC.SystemDescription":
            self.finish.set()

    async def on_pebc_power_constraints(
        self, _: S2AsyncConnection, event: S2ConnectionEventsAndMessages, send_okay: SendOkayRunAsync
    ) -> None:
        assert isinstance(event, PEBCPowerConstraints) and send_okay is not None
        await send_okay()
        if self.instruction is None:
            self.instruct(pick_pebc_instruction(event))

    async def on_ombc_system_description(
        self, _: S2AsyncConnection, event: S2ConnectionEventsAndMessages, send_okay: SendOkayRunAsync
    ) -> None:
        assert isinstance(event, OMBCSystemDescription) and send_okay is not None
        await send_okay()
        self.ombc_description = event
        self.instruct_ombc()

    async def on_ombc_status(
        self, _: S2AsyncConnection, event: S2ConnectionEventsAndMessages, send_okay: SendOkayRunAsync
    ) -> None:
        assert isinstance(event, OMBCStatus) and send_okay is not None
        await send_okay()
        self.ombc_status = event
        self.instruct_ombc()

    def instruct_ombc(self) -> None:
        if self.instruction is None and self.ombc_description is not None and self.ombc_status is not None:
            self.instruct(pick_ombc_instruction(self.ombc_description, self.ombc_status))

    async def on_ppbc_power_profile_definition(
        self, _: S2AsyncConnection, event: S2ConnectionEventsAndMessages, send_okay: SendOkayRunAsync
    ) -> None:
        assert isinstance(event, PPBCPowerProfileDefinition) and send_okay is not None
        await send_okay()
        if self.instruction is None:
            self.instruct(pick_ppbc_instruction(event))

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
                    # the RM closes once it has our answers to what it sent before the request; closing
                    # first would cut off an answer s2-python is still writing (it logs an error then)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(run_task), CLOSE_WAIT)
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
