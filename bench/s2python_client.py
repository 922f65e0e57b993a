"""The s2-python 0.11.1 RM of the session benchmark: s2-python's own connection API against the s2ws CEM.

Run by ``bench.session`` with the interpreter of the s2-python environment (``.venv-s2python``, which
has the websockets version s2-python's WebSocket medium needs); it imports nothing from s2ws. It connects
with ``WebsocketClientMedium`` and ``S2AsyncConnection``, acknowledges the CEM's Handshake,
HandshakeResponse and SelectControlType through s2-python's handlers, offers FRBC and NOT_CONTROLABLE,
and then answers the orchestrator's commands on stdin, one JSON line each (see ``bench.session_peer``):

- ``sequential``: ``send_msg_and_await_reception_status`` for one message after the other, the way
  s2-python's own control types send;
- ``pipelined``: ``send_and_forget`` for every message, then the ReceptionStatuses are collected from the
  connection's reception-status awaiter (where s2-python files every status it receives);
- ``gathered``: ``send_msg_and_await_reception_status`` for every message at once, in concurrent tasks
  (``asyncio.gather``), the only pipelined way with s2-python's public API.

The messages are the same as the s2ws RM's: PowerMeasurement and FRBC.StorageStatus in turn, UUID ids.

    .venv-s2python/bin/python bench/s2python_client.py --url ws://127.0.0.1:PORT/
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from s2python.common import (
    Commodity,
    CommodityQuantity,
    ControlType,
    Duration,
    EnergyManagementRole,
    Handshake,
    HandshakeResponse,
    PowerMeasurement,
    PowerValue,
    ReceptionStatusValues,
    ResourceManagerDetails,
    Role,
    RoleType,
    SelectControlType,
)
from s2python.connection.async_ import S2AsyncConnection
from s2python.connection.async_.medium.websocket import WebsocketClientMedium
from s2python.frbc import FRBCStorageStatus

PHASE = CommodityQuantity.ELECTRIC_POWER_L1
S2_VERSION = "0.0.2-beta"


def emit(**fields: Any) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def workload(n: int) -> list[Any]:
    now = datetime.now(UTC)
    out: list[Any] = []
    for i in range(n):
        if i % 2 == 0:
            value = 1000.0 + (i % 4000) / 4
            out.append(
                PowerMeasurement(
                    message_id=uuid.uuid4(),
                    measurement_timestamp=now,
                    values=[PowerValue(commodity_quantity=PHASE, value=value)],
                )
            )
        else:
            out.append(FRBCStorageStatus(message_id=uuid.uuid4(), present_fill_level=40.0 + (i % 200) / 10))
    return out


def details() -> Any:
    return ResourceManagerDetails(
        message_id=uuid.uuid4(),
        resource_id=uuid.uuid4(),
        name="bench battery",
        roles=[Role(role=RoleType.ENERGY_STORAGE, commodity=Commodity.ELECTRICITY)],
        instruction_processing_delay=Duration.from_milliseconds(100),
        available_control_types=[ControlType.FILL_RATE_BASED_CONTROL, ControlType.NOT_CONTROLABLE],
        provides_forecast=False,
        provides_power_measurement_types=[PHASE],
    )


class Bench:
    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.selected = asyncio.Event()
        self.handshaken = asyncio.Event()

    async def on_handshake(self, connection: Any, event: Any, send_okay: Any) -> None:
        await send_okay()

    async def on_handshake_response(self, connection: Any, event: Any, send_okay: Any) -> None:
        await send_okay()
        self.handshaken.set()

    async def on_select_control_type(self, connection: Any, event: Any, send_okay: Any) -> None:
        await send_okay()
        if event.control_type == ControlType.FILL_RATE_BASED_CONTROL:
            self.selected.set()

    async def setup(self) -> None:
        c = self.connection
        c.register_handler(Handshake, self.on_handshake)
        c.register_handler(HandshakeResponse, self.on_handshake_response)
        c.register_handler(SelectControlType, self.on_select_control_type)
        handshake = Handshake(
            message_id=uuid.uuid4(), role=EnergyManagementRole.RM, supported_protocol_versions=[S2_VERSION]
        )
        await c.send_msg_and_await_reception_status(handshake)
        await self.handshaken.wait()
        await c.send_msg_and_await_reception_status(details())
        await self.selected.wait()

    async def run(self, mode: str, n: int, timeout: float) -> tuple[float, int, int]:
        c = self.connection
        messages = workload(n)
        not_ok = 0
        t0 = time.perf_counter()
        if mode == "sequential":
            for message in messages:
                status = await c.send_msg_and_await_reception_status(message, timeout, raise_on_error=False)
                not_ok += status.status != ReceptionStatusValues.OK
        elif mode == "gathered":
            statuses = await asyncio.gather(
                *(c.send_msg_and_await_reception_status(m, timeout, raise_on_error=False) for m in messages)
            )
            not_ok = sum(s.status != ReceptionStatusValues.OK for s in statuses)
        else:
            awaiter = c._reception_status_awaiter
            for message in messages:
                await c.send_and_forget(message)
            for message in messages:
                status = await awaiter.wait_for_reception_status(message.message_id, timeout)
                not_ok += status.status != ReceptionStatusValues.OK
        return time.perf_counter() - t0, n, not_ok


async def main_async(args: argparse.Namespace) -> None:
    logging.getLogger("s2python").setLevel(logging.CRITICAL)  # keep its warnings (unhandled events) quiet
    medium = WebsocketClientMedium(url=args.url)
    await medium.connect()
    connection = S2AsyncConnection(medium, eventloop=asyncio.get_running_loop())
    bench = Bench(connection)
    runner = asyncio.create_task(connection.run())
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(args.timeout):
            await bench.setup()
        emit(ready=True, kind="s2python")
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            command = json.loads(line) if line else {"cmd": "quit"}
            if command["cmd"] == "quit":
                return
            n = int(command["n"])
            async with asyncio.timeout(args.timeout):
                seconds, answered, not_ok = await bench.run(command["cmd"], n, args.timeout)
            emit(cmd=command["cmd"], n=n, seconds=seconds, answered=answered, not_ok=not_ok)
    finally:
        await connection.stop()
        await medium.disconnect()
        await asyncio.wait_for(runner, args.timeout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="ws:// URL of the s2ws CEM")
    parser.add_argument("--timeout", type=float, default=120.0, help="bound on each step, in seconds")
    asyncio.run(main_async(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
