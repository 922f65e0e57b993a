"""What the session benchmark sends and who answers it: the RM's messages, the CEM as served, the echo floor.

Shared by the orchestrator (``bench.session``, which hosts the throughput servers) and the client and
server processes (``bench.session_peer``). The s2-python client (``bench/s2python_client.py``) builds the same messages
with s2-python's own models.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import sys
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

from s2ws.codec import encode_checked
from s2ws.messages import (
    CommodityQuantity,
    ControlType,
    EnergyManagementRole,
    FRBCStorageStatus,
    PowerMeasurement,
    PowerValue,
    ResourceManagerDetails,
    Role,
    RoleType,
    S2Message,
    SelectControlType,
    new_id,
)
from s2ws.messages.enums import Commodity
from s2ws.rules import SessionContext
from s2ws.session import MessageReceived, Session
from s2ws.transport import Connection, utc_now

__all__ = [
    "FRBC",
    "PHASE",
    "cem_factory",
    "cem_factory_unchecked",
    "cem_on_event",
    "echo_app",
    "emit",
    "frames",
    "open_fds",
    "raise_fd_limit",
    "rm_details",
    "rss_bytes",
    "workload",
]

FRBC = ControlType.FILL_RATE_BASED_CONTROL
PHASE = CommodityQuantity.ELECTRIC_POWER_L1


# --- the RM's side ------------------------------------------------------------------------------


def rm_details() -> ResourceManagerDetails:
    """A battery offering FRBC (which the benchmark CEM selects) and NOT_CONTROLABLE."""
    return ResourceManagerDetails(
        message_id=new_id(),
        resource_id=new_id(),
        name="bench battery",
        roles=[Role(role=RoleType.ENERGY_STORAGE, commodity=Commodity.ELECTRICITY)],
        instruction_processing_delay=100,
        available_control_types=[FRBC, ControlType.NOT_CONTROLABLE],
        provides_forecast=False,
        provides_power_measurement_types=[PHASE],
    )


def workload(n: int) -> list[S2Message]:
    """``n`` small validated RM messages, fresh ids: PowerMeasurement and FRBC.StorageStatus in turn."""
    now = datetime.now(UTC)
    out: list[S2Message] = []
    for i in range(n):
        if i % 2 == 0:
            value = 1000.0 + (i % 4000) / 4
            out.append(
                PowerMeasurement(
                    message_id=new_id(),
                    measurement_timestamp=now,
                    values=[PowerValue(commodity_quantity=PHASE, value=value)],
                )
            )
        else:
            out.append(FRBCStorageStatus(message_id=new_id(), present_fill_level=40.0 + (i % 200) / 10))
    return out


def frames(n: int) -> list[str]:
    """The text frames of :func:`workload`, each checked by the codec as ``Session.send`` would."""
    return [encode_checked(m).decode() for m in workload(n)]


# --- the CEM as served ----------------------------------------------------------------------------


def cem_factory(connection: Connection) -> Session:
    """One CEM engine per WebSocket, with the rule catalogue's session context as its checker."""
    return Session(EnergyManagementRole.CEM, checker=SessionContext())


def cem_factory_unchecked(connection: Connection) -> Session:
    """The same CEM without the session context: what the rule context costs, by difference."""
    return Session(EnergyManagementRole.CEM)


def cem_on_event(connection: Connection, event: object) -> None:
    """Select FRBC as soon as an RM offers it (what a CEM does once it knows the RM)."""
    if not isinstance(event, MessageReceived) or not isinstance(event.message, ResourceManagerDetails):
        return
    engine = connection.engine
    if isinstance(engine, Session) and FRBC in event.message.available_control_types:
        engine.send(SelectControlType(message_id=new_id(), control_type=FRBC), utc_now())
        connection.wakeup()


# --- the floor ------------------------------------------------------------------------------------

_ID_KEY = '"message_id":"'
_STATUS_HEAD = '{"message_type":"ReceptionStatus","subject_message_id":"'
_STATUS_TAIL = '","status":"OK"}'


def echo_app() -> web.Application:
    """A bare aiohttp WebSocket server (its defaults) answering every text frame at once with a
    ReceptionStatus OK for the frame's message_id: the same bytes the s2ws CEM writes, found by a string
    search instead of decoding and checking the message."""

    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            if msg.type is WSMsgType.TEXT:
                data: str = msg.data
                start = data.find(_ID_KEY) + len(_ID_KEY)
                await ws.send_str(_STATUS_HEAD + data[start : data.find('"', start)] + _STATUS_TAIL)
        return ws

    app = web.Application()
    app.router.add_get("/", handle)
    return app


# --- process helpers ----------------------------------------------------------------------------


def rss_bytes() -> int:
    """Resident set size of this process (VmRSS), after a full garbage collection."""
    gc.collect()
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("VmRSS not found in /proc/self/status")


def raise_fd_limit(wanted: int) -> tuple[int, int]:
    """Raise the soft RLIMIT_NOFILE towards ``wanted`` (at most the hard limit); returns (soft, hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft, hard


def emit(**fields: Any) -> None:
    """One JSON line on stdout: how a client process answers the orchestrator."""
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def open_fds() -> int:
    """File descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))
