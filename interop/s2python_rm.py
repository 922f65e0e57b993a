"""An FRBC battery Resource Manager written only against s2-python 0.11.1's public connection API.

Run it with the interpreter of the s2-python virtual environment (`.venv-s2python/bin/python`); s2ws
never imports it. It connects to a CEM with s2-python's `WebsocketClientMedium`, runs
`S2AsyncConnection` with s2-python's class-based `ResourceManagerHandler`, and offers
FILL_RATE_BASED_CONTROL and NOT_CONTROLABLE. Once FRBC is selected it sends FRBC.SystemDescription,
FRBC.ActuatorStatus, FRBC.StorageStatus and a PowerMeasurement; each FRBC.Instruction is answered with
InstructionStatusUpdates ACCEPTED, STARTED, an FRBC.ActuatorStatus and SUCCEEDED (REJECTED when the
actuator or operation mode is unknown). Everything else (handshake, ReceptionStatuses, what happens on
errors) is s2-python's own behaviour, untouched.

    python interop/s2python_rm.py --url ws://127.0.0.1:PORT [--timeout 30] [--log FILE]

Exit status: 0 when the CEM ended the session (it closed the WebSocket), 1 when s2-python stopped the
session itself (its reason is in the summary), 2 when it could not connect, 3 on --timeout. The last
line on stdout is a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any

from s2python.common import (
    Commodity,
    CommodityQuantity,
    Duration,
    InstructionStatus,
    InstructionStatusUpdate,
    NumberRange,
    PowerMeasurement,
    PowerRange,
    PowerValue,
    Role,
    RoleType,
    Transition,
)
from s2python.connection import AssetDetails
from s2python.connection.async_ import S2AsyncConnection
from s2python.connection.async_.control_type.class_based import (
    FRBCControlType,
    NoControlControlType,
    ResourceManagerHandler,
)
from s2python.connection.async_.medium.s2_medium import (
    MediumClosedConnectionError,
    MediumCouldNotConnectError,
    UnparsedMediumData,
)
from s2python.connection.async_.medium.websocket import WebsocketClientMedium
from s2python.connection.types import S2ConnectionEventsAndMessages, SendOkayRunAsync
from s2python.frbc import (
    FRBCActuatorDescription,
    FRBCActuatorStatus,
    FRBCInstruction,
    FRBCOperationMode,
    FRBCOperationModeElement,
    FRBCStorageDescription,
    FRBCStorageStatus,
    FRBCSystemDescription,
)
from wirelog import Recorder, capture_s2python_logs, print_summary

PHASE = CommodityQuantity.ELECTRIC_POWER_L1
MAX_POWER_W = 5000.0
CAPACITY_WH = 10000.0
# % state of charge per second at full power
FULL_RATE = MAX_POWER_W / CAPACITY_WH * 100.0 / 3600.0


class RecordingClientMedium(WebsocketClientMedium):
    """s2-python's WebSocket client medium, with every frame recorded and the peer's close noticed."""

    def __init__(self, url: str, recorder: Recorder) -> None:
        super().__init__(url=url)
        self.recorder = recorder
        self.peer_closed = False

    async def messages(self) -> AsyncGenerator[UnparsedMediumData, None]:
        try:
            async for message in super().messages():
                self.recorder.incoming(message)
                yield message
        except MediumClosedConnectionError:
            self.peer_closed = True
            raise
        self.peer_closed = True

    async def send(self, message: str) -> None:
        self.recorder.outgoing(message)
        await super().send(message)

    def close_code(self) -> int | None:
        ws = self._ws
        return None if ws is None else ws.protocol.close_code

    def ping_interval(self) -> float | None:
        ws = self._ws
        return None if ws is None else ws.ping_interval


class BatteryFRBC(FRBCControlType):
    """A 10 kWh / 5 kW battery: fill level = % state of charge, modes idle, charge and discharge."""

    def __init__(self) -> None:
        self.actuator_id = uuid.uuid4()
        self.modes = {"idle": uuid.uuid4(), "charge": uuid.uuid4(), "discharge": uuid.uuid4()}
        self.active_mode = self.modes["idle"]
        self.factor = 0.0
        self.fill_level = 50.0
        self.instructions: list[dict[str, Any]] = []

    def _mode(self, label: str, power: tuple[float, float], rate: tuple[float, float]) -> FRBCOperationMode:
        # PowerRange and fill_rate are both written low..high (s2-python refuses start > end), so for
        # "discharge" factor 0 is full discharge and factor 1 is standstill.
        return FRBCOperationMode(
            id=self.modes[label],
            diagnostic_label=label,
            abnormal_condition_only=False,
            elements=[
                FRBCOperationModeElement(
                    fill_level_range=NumberRange(start_of_range=0.0, end_of_range=100.0),
                    fill_rate=NumberRange(start_of_range=rate[0], end_of_range=rate[1]),
                    power_ranges=[PowerRange(start_of_range=power[0], end_of_range=power[1], commodity_quantity=PHASE)],
                )
            ],
        )

    def system_description(self) -> FRBCSystemDescription:
        modes = [
            self._mode("idle", (0.0, 0.0), (0.0, 0.0)),
            self._mode("charge", (0.0, MAX_POWER_W), (0.0, FULL_RATE)),
            self._mode("discharge", (-MAX_POWER_W, 0.0), (-FULL_RATE, 0.0)),
        ]
        transitions = [
            Transition(
                id=uuid.uuid4(),
                from_=a,
                to=b,
                start_timers=[],
                blocking_timers=[],
                abnormal_condition_only=False,
                transition_costs=None,
            )
            for a in self.modes.values()
            for b in self.modes.values()
            if a != b
        ]
        return FRBCSystemDescription(
            message_id=uuid.uuid4(),
            valid_from=datetime.now(UTC),
            actuators=[
                FRBCActuatorDescription(
                    id=self.actuator_id,
                    diagnostic_label="battery inverter",
                    supported_commodities=[Commodity.ELECTRICITY],
                    operation_modes=modes,
                    transitions=transitions,
                    timers=[],
                )
            ],
            storage=FRBCStorageDescription(
                diagnostic_label="battery",
                fill_level_label="%",
                provides_leakage_behaviour=False,
                provides_fill_level_target_profile=False,
                provides_usage_forecast=False,
                fill_level_range=NumberRange(start_of_range=0.0, end_of_range=100.0),
            ),
        )

    def power_w(self) -> float:
        if self.active_mode == self.modes["charge"]:
            return MAX_POWER_W * self.factor
        if self.active_mode == self.modes["discharge"]:
            return -MAX_POWER_W * (1.0 - self.factor)
        return 0.0

    def actuator_status(self, previous: uuid.UUID | None = None) -> FRBCActuatorStatus:
        return FRBCActuatorStatus(
            message_id=uuid.uuid4(),
            actuator_id=self.actuator_id,
            active_operation_mode_id=self.active_mode,
            operation_mode_factor=self.factor,
            previous_operation_mode_id=previous,
            transition_timestamp=None if previous is None else datetime.now(UTC),
        )

    def measurement(self) -> PowerMeasurement:
        return PowerMeasurement(
            message_id=uuid.uuid4(),
            measurement_timestamp=datetime.now(UTC),
            values=[PowerValue(commodity_quantity=PHASE, value=self.power_w())],
        )

    async def activate(self, connection: S2AsyncConnection) -> None:
        await connection.send_msg_and_await_reception_status(self.system_description())
        await connection.send_msg_and_await_reception_status(self.actuator_status())
        await connection.send_msg_and_await_reception_status(
            FRBCStorageStatus(message_id=uuid.uuid4(), present_fill_level=self.fill_level)
        )
        await connection.send_msg_and_await_reception_status(self.measurement())

    async def deactivate(self, connection: S2AsyncConnection) -> None:
        return None

    async def _status(
        self, connection: S2AsyncConnection, instruction_id: uuid.UUID, status: InstructionStatus
    ) -> None:
        await connection.send_msg_and_await_reception_status(
            InstructionStatusUpdate(
                message_id=uuid.uuid4(),
                instruction_id=instruction_id,
                status_type=status,
                timestamp=datetime.now(UTC),
            )
        )

    async def handle_instruction(
        self, connection: S2AsyncConnection, msg: S2ConnectionEventsAndMessages, send_okay: SendOkayRunAsync
    ) -> None:
        if not isinstance(msg, FRBCInstruction) or send_okay is None:
            return
        await send_okay()
        known = msg.actuator_id == self.actuator_id and msg.operation_mode in self.modes.values()
        factor_ok = 0.0 <= msg.operation_mode_factor <= 1.0
        self.instructions.append(
            {
                "id": str(msg.id),
                "actuator_id": str(msg.actuator_id),
                "operation_mode": str(msg.operation_mode),
                "operation_mode_factor": msg.operation_mode_factor,
                "accepted": known and factor_ok,
            }
        )
        if not (known and factor_ok):
            await self._status(connection, msg.id, InstructionStatus.REJECTED)
            return
        await self._status(connection, msg.id, InstructionStatus.ACCEPTED)
        await self._status(connection, msg.id, InstructionStatus.STARTED)
        previous = self.active_mode
        self.active_mode, self.factor = msg.operation_mode, msg.operation_mode_factor
        await connection.send_msg_and_await_reception_status(self.actuator_status(previous))
        await self._status(connection, msg.id, InstructionStatus.SUCCEEDED)


class NotControllable(NoControlControlType):
    async def activate(self, connection: S2AsyncConnection) -> None:
        return None

    async def deactivate(self, connection: S2AsyncConnection) -> None:
        return None


async def run(args: argparse.Namespace) -> int:
    logs = capture_s2python_logs()
    recorder = Recorder("rm", args.log)
    recorder.session = f"s2python-rm-{uuid.uuid4()}"
    medium = RecordingClientMedium(args.url, recorder)
    battery = BatteryFRBC()
    summary: dict[str, Any] = {"role": "RM", "session": recorder.session}
    code = 1
    try:
        try:
            async with asyncio.timeout(args.timeout):
                await medium.connect()
        except (MediumCouldNotConnectError, TimeoutError) as exc:
            summary.update(end="connect_failed", error=f"{type(exc).__name__}: {exc}")
            code = 2
            return code
        connection = S2AsyncConnection(medium, eventloop=asyncio.get_running_loop())
        handler = ResourceManagerHandler(
            control_types=[battery, NotControllable()],
            asset_details=AssetDetails(
                resource_id=uuid.uuid4(),
                name="s2-python battery",
                manufacturer="interop",
                model="FRBC battery",
                provides_forecast=False,
                provides_power_measurements=[PHASE],
                instruction_processing_delay=Duration.from_milliseconds(100),
                roles=[Role(role=RoleType.ENERGY_STORAGE, commodity=Commodity.ELECTRICITY)],
            ),
        )
        handler.register_handlers(connection)
        error = None
        deadline = asyncio.timeout(args.timeout)
        try:
            async with deadline:
                await connection.run()
        except TimeoutError as exc:
            if not deadline.expired():
                error = f"{type(exc).__name__}: {exc}"
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        summary["ping_interval"] = medium.ping_interval()
        if deadline.expired():
            summary["end"], code = "timeout", 3
        elif medium.peer_closed:
            summary["end"], code = "peer_closed", 0
        else:
            summary["end"], code = "s2python_stopped", 1
        summary["error"] = error
        await medium.disconnect()
        summary["close_code"] = medium.close_code()
        return code
    finally:
        summary.update(recorder.summary())
        summary["instructions"] = battery.instructions
        summary["actuator_id"] = str(battery.actuator_id)
        summary["operation_modes"] = {label: str(mode) for label, mode in battery.modes.items()}
        summary["s2python_log"] = logs.records
        summary["exit_code"] = code
        recorder.close()
        print_summary(summary)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="ws:// URL of the CEM")
    parser.add_argument("--timeout", type=float, default=30.0, help="give up after this many seconds")
    parser.add_argument("--log", help="append every frame to this JSON Lines transcript")
    args = parser.parse_args()
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
