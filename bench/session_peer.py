"""The client side of the session benchmark, run by ``bench.session`` as a child process.

One process per competitor keeps one WebSocket open and runs what the orchestrator asks on stdin, one
JSON command per line, answering each with one JSON line on stdout:

    {"cmd": "pipelined", "n": N}    send N messages without waiting, until all N are answered
    {"cmd": "sequential", "n": N}   send one, wait for its answer, N times
    {"cmd": "quit"}                 close the session gracefully and exit

Kinds of client (the first argument):

- ``rm``: an s2ws RM, the sans-I/O ``Session`` driven by the transport. ``--transport client`` is
  ``s2ws.transport.Client`` as it ships (no permessage-deflate unless asked for);
  ``--transport plain`` is the same engine and driver over a bare aiohttp WebSocket. ``--no-cork``
  writes every frame at once instead of corking a burst until the event loop turns.
  The RM validates every message in ``Session.send`` and decodes and matches every ReceptionStatus.
- ``raw``: a bare aiohttp client loop writing ready-made frames and counting answer frames without
  decoding them: the same loop against the echo floor and (``--s2``, which first runs the handshake with
  an RM engine) against the s2ws CEM, so that only the server differs.
- ``cem``: the s2ws CEM of ``bench.workload`` alone in a process, answering ``{"cmd": "rss"}`` with its
  memory and live session count (the server side of the idle-session measurement).
- ``idle``: opens ``--count`` s2ws RM sessions (engine + driver over one WebSocket each, options as
  ``Client`` sets them), waits until each is handshaken and has its control type, reports its own
  memory, and holds them idle until told to close.

Timing is taken here, from the first write to the last answer read.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp import web

from s2ws.messages import ControlType, EnergyManagementRole, ReceptionStatusValues
from s2ws.session import (
    ControlTypeSelected,
    HandshakeCompleted,
    ReceptionStatusReceived,
    Session,
    SessionClosed,
)
from s2ws.transport import DEFAULT_MAX_FRAME_BYTES, MIN_HEARTBEAT, Client, Connection, Driver, serve, utc_now
from s2ws.transport.aiohttp_channel import AiohttpChannel

from .workload import (
    FRBC,
    cem_factory,
    cem_on_event,
    emit,
    frames,
    open_fds,
    raise_fd_limit,
    rm_details,
    rss_bytes,
    workload,
)

RM = EnergyManagementRole.RM
OK = ReceptionStatusValues.OK
CHUNK = 100
"""Pipelined writers yield to the event loop after every CHUNK messages, so that reading overlaps writing."""
ACK_TIMEOUT = timedelta(minutes=10)
"""Longer than any run: a slow run must not turn into AckTimeout events."""


def _ws_options(deflate: bool) -> dict[str, Any]:
    """What ``s2ws.transport.Client`` passes to ``ws_connect`` (with or without its compression)."""
    return {
        "compress": 15 if deflate else 0,
        "max_msg_size": DEFAULT_MAX_FRAME_BYTES,
        "heartbeat": MIN_HEARTBEAT,
        "autoping": True,
        "timeout": aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5.0),
    }


async def _commands() -> dict[str, Any]:
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    if not line:
        return {"cmd": "quit"}
    command: dict[str, Any] = json.loads(line)
    return command


async def serve_commands(
    run: Callable[[str, int], Awaitable[tuple[float, int, int]]], timeout: float, info: dict[str, Any]
) -> None:
    """Answer the orchestrator's commands until it says quit."""
    emit(ready=True, **info)
    while True:
        command = await _commands()
        if command["cmd"] == "quit":
            return
        n = int(command["n"])
        async with asyncio.timeout(timeout):
            seconds, answered, not_ok = await run(command["cmd"], n)
        emit(cmd=command["cmd"], n=n, seconds=seconds, answered=answered, not_ok=not_ok)


# --- an s2ws RM ---------------------------------------------------------------------------------


class RMPeer:
    """An s2ws RM engine whose ReceptionStatusReceived events are counted."""

    def __init__(self, max_outstanding: int) -> None:
        self.max_outstanding = max_outstanding
        self.engine: Session | None = None
        self.connection: Connection | None = None
        self.selected = asyncio.Event()
        self.closed = asyncio.Event()
        self.reached = asyncio.Event()
        self.answered = 0
        self.not_ok = 0
        self.target = 0

    def factory(self, connection: Connection) -> Session:
        self.connection = connection
        self.engine = Session(RM, max_outstanding=self.max_outstanding, ack_timeout=ACK_TIMEOUT)
        return self.engine

    def on_event(self, connection: Connection, event: object) -> None:
        if isinstance(event, ReceptionStatusReceived):
            self.answered += 1
            if event.status.status is not OK:
                self.not_ok += 1
            if self.answered >= self.target:
                self.reached.set()
        elif isinstance(event, HandshakeCompleted):
            assert self.engine is not None
            self.engine.send(rm_details(), utc_now())  # the driver's flush writes it
        elif isinstance(event, ControlTypeSelected) and event.control_type is FRBC:
            self.selected.set()
        elif isinstance(event, SessionClosed):
            self.closed.set()
            self.reached.set()

    async def run(self, mode: str, n: int) -> tuple[float, int, int]:
        engine, connection = self.engine, self.connection
        assert engine is not None and connection is not None
        messages = workload(n)
        self.answered = self.not_ok = 0
        self.reached.clear()
        t0 = time.perf_counter()
        if mode == "pipelined":
            self.target = n
            for start in range(0, n, CHUNK):
                now = utc_now()
                for message in messages[start : start + CHUNK]:
                    engine.send(message, now)
                connection.wakeup()
                await asyncio.sleep(0)
            await self.reached.wait()
        else:
            for message in messages:
                self.target = self.answered + 1
                self.reached.clear()
                engine.send(message, utc_now())
                connection.wakeup()
                await self.reached.wait()
        seconds = time.perf_counter() - t0
        if self.closed.is_set():
            raise RuntimeError(f"the session closed: {engine.close_reason}")
        return seconds, self.answered, self.not_ok


async def rm_main(args: argparse.Namespace) -> None:
    peer = RMPeer(max_outstanding=args.max_outstanding)
    stop: Callable[[], None]
    async with aiohttp.ClientSession() as http:  # used by the plain transport only
        if args.transport == "client":
            client = Client(args.url, peer.factory, reconnect=None, on_event=peer.on_event, cork=args.cork)
            task = asyncio.create_task(client.run())
            stop = client.close
        else:
            ws = await http.ws_connect(args.url, **_ws_options(deflate=False))
            connection = Connection(side="client", url=args.url)
            engine = peer.factory(connection)
            driver = Driver(
                engine,
                AiohttpChannel(ws, cork=args.cork),
                functools.partial(peer.on_event, connection),
                connection=connection,
            )
            task = asyncio.create_task(driver.run())
            stop = driver.stop
        try:
            async with asyncio.timeout(args.timeout):
                await peer.selected.wait()
            await serve_commands(peer.run, args.timeout, {"kind": "rm", "transport": args.transport})
        finally:
            stop()
            await asyncio.wait_for(task, args.timeout)


# --- the bare client loop -----------------------------------------------------------------------


async def _s2_setup(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Handshake, ResourceManagerDetails and the CEM's SelectControlType, with an RM engine fed by hand."""
    engine = Session(RM)
    engine.start(utc_now())
    selected = False
    while True:
        for frame in engine.data_to_send():
            await ws.send_str(frame)
        if selected:
            return
        msg = await ws.receive()
        if msg.type is not aiohttp.WSMsgType.TEXT:
            raise RuntimeError(f"the CEM closed the socket during the handshake ({msg.type!r})")
        engine.receive(msg.data, utc_now())
        for event in engine.events():
            if isinstance(event, HandshakeCompleted):
                engine.send(rm_details(), utc_now())
            elif isinstance(event, ControlTypeSelected) and event.control_type is ControlType.FILL_RATE_BASED_CONTROL:
                selected = True  # our ReceptionStatus for it is queued: write it, then start


def _raw_runner(ws: aiohttp.ClientWebSocketResponse) -> Callable[[str, int], Awaitable[tuple[float, int, int]]]:
    async def receive() -> str:
        msg = await ws.receive()
        if msg.type is not aiohttp.WSMsgType.TEXT:
            raise RuntimeError(f"the server closed the socket ({msg.type!r})")
        data: str = msg.data
        return data

    async def run(mode: str, n: int) -> tuple[float, int, int]:
        texts = frames(n)
        not_ok = 0
        t0 = time.perf_counter()
        if mode == "pipelined":

            async def write() -> None:
                for start in range(0, n, CHUNK):
                    for text in texts[start : start + CHUNK]:
                        await ws.send_str(text)
                    await asyncio.sleep(0)

            writer = asyncio.create_task(write())
            for _ in range(n):
                if '"OK"' not in await receive():
                    not_ok += 1
            await writer
        else:
            for text in texts:
                await ws.send_str(text)
                if '"OK"' not in await receive():
                    not_ok += 1
        return time.perf_counter() - t0, n, not_ok

    return run


async def raw_main(args: argparse.Namespace) -> None:
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(args.url, **_ws_options(args.deflate))
        try:
            if args.s2:
                async with asyncio.timeout(args.timeout):
                    await _s2_setup(ws)
            await serve_commands(_raw_runner(ws), args.timeout, {"kind": "raw", "deflate": bool(ws.compress)})
        finally:
            await ws.close()


# --- many idle RMs --------------------------------------------------------------------------------


class IdleRMs:
    """``count`` RM sessions over one aiohttp ClientSession, each an engine and a driver."""

    def __init__(self, url: str, deflate: bool, bare: bool = False) -> None:
        self.url = url
        self.deflate = deflate
        self.bare = bare
        self.sockets: list[aiohttp.ClientWebSocketResponse] = []
        self.drivers: list[Driver] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.waiting: dict[int, asyncio.Future[None]] = {}
        self.failed = 0

    def on_event(self, engine: Session, event: object) -> None:
        if isinstance(event, HandshakeCompleted):
            engine.send(rm_details(), utc_now())
        elif isinstance(event, ControlTypeSelected | SessionClosed):
            future = self.waiting.pop(id(engine), None)
            if future is not None and not future.done():
                future.set_result(None)

    async def open_one(self, http: aiohttp.ClientSession, gate: asyncio.Semaphore) -> None:
        async with gate:
            ws = await http.ws_connect(self.url, **_ws_options(self.deflate))
            if self.bare:  # a bare WebSocket server: nothing to say, the socket is held open
                self.sockets.append(ws)
                return
            connection = Connection(side="client", url=self.url)
            engine = Session(RM)
            ready = asyncio.get_running_loop().create_future()
            self.waiting[id(engine)] = ready
            driver = Driver(engine, AiohttpChannel(ws), functools.partial(self.on_event, engine), connection=connection)
            self.drivers.append(driver)
            self.tasks.append(asyncio.create_task(driver.run()))
            await ready
            if engine.closed or engine.active_control_type is not FRBC:
                self.failed += 1

    @property
    def count(self) -> int:
        return len(self.drivers) + len(self.sockets)

    async def open(self, http: aiohttp.ClientSession, count: int, concurrency: int) -> None:
        gate = asyncio.Semaphore(concurrency)
        await asyncio.gather(*(self.open_one(http, gate) for _ in range(count)))

    async def close(self) -> None:
        for driver in self.drivers:
            driver.stop()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)


async def idle_main(args: argparse.Namespace) -> None:
    soft, hard = raise_fd_limit(args.count + 256)
    rms = IdleRMs(args.url, args.deflate, args.bare)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        try:
            async with asyncio.timeout(args.timeout):
                await rms.open(http, args.warm, args.concurrency)
                await asyncio.sleep(0.2)
                emit(phase="warm", sessions=rms.count, rss=rss_bytes(), fd_soft=soft, fd_hard=hard)
                await _commands()  # "go": the orchestrator has read its own baseline
                t0 = time.perf_counter()
                await rms.open(http, args.count - args.warm, args.concurrency)
                seconds = time.perf_counter() - t0
                await asyncio.sleep(1.0)  # let the last frames and acks settle
            emit(
                phase="open",
                sessions=rms.count,
                failed=rms.failed,
                seconds=seconds,
                rss=rss_bytes(),
                fds=open_fds(),
            )
            await _commands()  # "close"
        finally:
            t0 = time.perf_counter()
            async with asyncio.timeout(args.timeout):
                await rms.close()
            emit(phase="closed", seconds=time.perf_counter() - t0)


# --- the CEM alone ---------------------------------------------------------------------------------


async def cem_main(args: argparse.Namespace) -> None:
    if args.server == "bare":
        await bare_main(args)
        return
    soft, hard = raise_fd_limit(args.fds)
    server = await serve(cem_factory, on_event=cem_on_event)
    try:
        emit(ready=True, url=server.url(), rss=rss_bytes(), fd_soft=soft, fd_hard=hard)
        while (await _commands())["cmd"] != "quit":
            emit(rss=rss_bytes(), sessions=server.session_count)
    finally:
        t0 = time.perf_counter()
        async with asyncio.timeout(args.timeout):
            await server.close()
        emit(phase="closed", seconds=time.perf_counter() - t0)


async def bare_main(args: argparse.Namespace) -> None:
    """A bare aiohttp WebSocket server (same ping interval and frame cap as s2ws), reading and dropping frames."""
    soft, hard = raise_fd_limit(args.fds)
    live: set[web.WebSocketResponse] = set()

    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=MIN_HEARTBEAT, max_msg_size=DEFAULT_MAX_FRAME_BYTES + 1)
        await ws.prepare(request)
        live.add(ws)
        try:
            async for _ in ws:
                pass
        finally:
            live.discard(ws)
        return ws

    app = web.Application()
    app.router.add_get("/", handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = int(runner.addresses[0][1])
    try:
        emit(ready=True, url=f"ws://127.0.0.1:{port}/", rss=rss_bytes(), fd_soft=soft, fd_hard=hard)
        while (await _commands())["cmd"] != "quit":
            emit(rss=rss_bytes(), sessions=len(live))
    finally:
        t0 = time.perf_counter()
        async with asyncio.timeout(args.timeout):
            await runner.cleanup()
        emit(phase="closed", seconds=time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.session_peer", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="kind", required=True)
    rm = sub.add_parser("rm", help="an s2ws RM engine driven by the transport")
    rm.add_argument("--transport", choices=("client", "plain"), default="client")
    rm.add_argument("--max-outstanding", type=int, default=1000)
    rm.add_argument("--cork", action=argparse.BooleanOptionalAction, default=True, help="cork bursts (as shipped)")
    raw = sub.add_parser("raw", help="the bare aiohttp client loop")
    raw.add_argument("--s2", action="store_true", help="run the S2 handshake first (the server is a CEM)")
    raw.add_argument("--deflate", action="store_true", help="offer permessage-deflate as s2ws's Client does")
    idle = sub.add_parser("idle", help="many idle s2ws RM sessions")
    idle.add_argument("--count", type=int, default=10_000)
    idle.add_argument("--warm", type=int, default=10, help="sessions opened before the baseline is read")
    idle.add_argument("--concurrency", type=int, default=100, help="handshakes in flight at once")
    idle.add_argument("--deflate", action=argparse.BooleanOptionalAction, default=True)
    idle.add_argument("--bare", action="store_true", help="only hold WebSockets open (the server is bare aiohttp)")
    for p in (rm, raw, idle):
        p.add_argument("--url", required=True)
    cem = sub.add_parser("cem", help="the s2ws CEM alone, reporting its memory")
    cem.add_argument("--server", choices=("s2ws", "bare"), default="s2ws", help="bare: a bare aiohttp WebSocket server")
    cem.add_argument(
        "--fds", type=int, default=10_256, help="raise the descriptor limit to this (at most the hard one)"
    )
    for p in (rm, raw, idle, cem):
        p.add_argument("--timeout", type=float, default=120.0, help="bound on each step, in seconds")
    args = parser.parse_args(argv)
    runner = {"rm": rm_main, "raw": raw_main, "idle": idle_main, "cem": cem_main}[args.kind]
    asyncio.run(runner(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
