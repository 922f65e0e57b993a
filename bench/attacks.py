"""The attacks of a test lab against an s2ws CEM on loopback, measured after the fixes.

    python -m bench.attacks

Each row runs one attack against a fresh ``CEM().serve`` in this process (limits shortened where the
attack would otherwise just wait out a default, and said so in the row) and reports what the server
did: sessions leaked, sockets held, answers given, log lines written. The figures go into
docs/reliability.md by hand, with this command.
"""

from __future__ import annotations

import asyncio
import io
import logging
import socket
import struct
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from s2ws.app.cem import CEM

UPGRADE = (
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
)


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.stream = io.StringIO()
        self.count = 0
        self.tracebacks = 0
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        self.tracebacks += record.exc_info is not None
        self.stream.write(self.format(record) + "\n")


async def _status(port: int, request: bytes) -> int:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return -1
    try:
        writer.write(request)
        await writer.drain()
        line = await reader.readline()
        return int(line.split()[1]) if line.startswith(b"HTTP/1.1") else 0
    except ConnectionError:
        return 0
    finally:
        writer.close()


async def phantoms(n: int = 1000) -> str:
    cem = CEM()
    server = await cem.serve("127.0.0.1", 0)
    loop = asyncio.get_running_loop()
    for _ in range(n):
        sock = socket.socket()
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", server.port))
        await loop.sock_sendall(sock, UPGRADE + b"\r\n")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    await asyncio.sleep(1.0)
    leaked = len(cem.rms)
    t0 = time.perf_counter()
    await cem.close()
    took = time.perf_counter() - t0
    return f"{n:,} upgrades reset before the 101: {leaked} sessions left in cem.rms; shutdown {took:.2f} s"


async def silent(n: int = 300, timeout: float = 2.0) -> str:
    cem = CEM()
    server = await cem.serve("127.0.0.1", 0, handshake_timeout=timeout)
    socks = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(n)]
    await asyncio.sleep(0.2)
    held = server.connection_count
    t0 = time.perf_counter()
    while server.connection_count and time.perf_counter() - t0 < 60:
        await asyncio.sleep(0.05)
    closed_after = time.perf_counter() - t0
    for _, writer in socks:
        writer.close()
    await cem.close()
    return (
        f"{n} silent sockets (handshake_timeout {timeout:g} s, default 10 s): {held} held, all closed"
        f" {closed_after:.1f} s later"
    )


async def over_limit(limit: int = 100, extra: int = 200, lines: _Lines | None = None) -> str:
    cem = CEM()
    server = await cem.serve("127.0.0.1", 0, max_connections=limit, handshake_timeout=30)
    held = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(limit)]
    await asyncio.sleep(0.2)
    before = lines.count if lines else 0
    statuses = [await _status(server.port, UPGRADE + b"\r\n") for _ in range(extra)]
    logged = (lines.count if lines else 0) - before
    for _, writer in held:
        writer.close()
    await cem.close()
    return (
        f"{extra} connections past max_connections={limit}: {statuses.count(503)} answered 503 at once,"
        f" {logged} log line(s)"
    )


async def big_head(lines: _Lines) -> str:
    cem = CEM()
    server = await cem.serve("127.0.0.1", 0)
    pad = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 8000) for i in range(100))  # 800 KB in 8 KB lines
    status = await _status(server.port, UPGRADE + pad + b"\r\n")
    auth = await _status(server.port, UPGRADE + b"Authorization: Bearer " + b"A" * 65536 + b"\r\n\r\n")
    await asyncio.sleep(0.1)
    await cem.close()
    return f"800 KB header block: HTTP {status}, no session; 64 KiB Authorization header: HTTP {auth or 'reset'}"


async def log_flood(n: int, lines: _Lines) -> str:
    cem = CEM()
    server = await cem.serve("127.0.0.1", 0, token="s3cret", auth_failures=10**9)
    before, size_before, tb_before = lines.count, len(lines.stream.getvalue()), lines.tracebacks
    t0 = time.perf_counter()
    for i in range(n):
        await _status(server.port, b"\x16\x03\x01 not HTTP at all\r\n\r\n")
        await _status(server.port, UPGRADE + b"Authorization: Bearer " + b"S" * 65536 + b"\r\n\r\n")
        await _status(server.port, UPGRADE + b"Authorization: Bearer guess-%d\r\n\r\n" % i)
    seconds = time.perf_counter() - t0
    await cem.close()
    size = len(lines.stream.getvalue()) - size_before
    return (
        f"{3 * n:,} bad requests in {seconds:.1f} s (malformed HTTP, 64 KiB token, wrong token): {lines.count - before}"
        f" log lines, {size} bytes, {lines.tracebacks - tb_before} tracebacks"
    )


async def guessing(n: int = 1000) -> str:
    cem = CEM()
    server = await cem.serve("127.0.0.1", 0, token="s3cret")
    opts = server.options
    statuses = [await _status(server.port, UPGRADE + b"Authorization: Bearer guess-%d\r\n\r\n" % i) for i in range(n)]
    await cem.close()
    return (
        f"{n:,} wrong tokens from one address: {statuses.count(401)} checked (401), {statuses.count(429)} refused"
        f" unchecked (429): at most {opts.auth_failures} guesses per {opts.auth_window:g} s per address"
    )


async def frozen(write_timeout: float = 2.0) -> str:
    """An RM that completes the upgrade and then reads nothing while the CEM writes to it."""
    from s2ws.transport import serve
    from s2ws.transport.connection import Connection

    class Flood:
        closed = False
        close_reason: str | None = None

        def start(self, now: Any) -> None:
            self._out = ["x" * 65536] * 256

        def receive(self, data: Any, now: Any) -> None: ...

        def data_to_send(self) -> list[str]:
            out, self._out = self._out, []
            return out

        def events(self) -> list[object]:
            return []

        def next_wakeup(self) -> None:
            return None

        def handle_timeout(self, now: Any) -> None: ...

        def close(self, reason: str, now: Any, *, terminate: bool = False) -> None:
            self.closed, self.close_reason = True, reason

    engines: list[Flood] = []

    def factory(connection: Connection) -> Flood:
        engines.append(Flood())
        return engines[-1]

    server = await serve(factory, write_timeout=write_timeout)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", server.port))
    await loop.sock_sendall(sock, UPGRADE + b"\r\n")
    await loop.sock_recv(sock, 1024)
    t0 = time.perf_counter()
    while not (engines and engines[0].closed) and time.perf_counter() - t0 < 60:
        await asyncio.sleep(0.05)
    seconds = time.perf_counter() - t0
    sock.close()
    await server.close()
    return f"a peer that stops reading (write_timeout {write_timeout:g} s, default 30 s): closed after {seconds:.1f} s"


async def main_async() -> list[str]:
    lines = _Lines()
    for name in ("s2ws", "aiohttp", "asyncio"):
        logging.getLogger(name).addHandler(lines)
        logging.getLogger(name).setLevel(logging.INFO)
    steps: list[Callable[[], Awaitable[str]]] = [
        phantoms,
        silent,
        lambda: over_limit(lines=lines),
        lambda: big_head(lines),
        lambda: log_flood(300, lines),
        guessing,
        frozen,
    ]
    rows = []
    for step in steps:
        row = await step()
        print(f"- {row}", flush=True)
        rows.append(row)
    return rows


def main() -> int:
    asyncio.run(main_async())
    return 0


if __name__ == "__main__":
    sys.exit(main())
