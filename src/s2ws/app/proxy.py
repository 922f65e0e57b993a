"""An S2 proxy that judges and never repairs: RM -> proxy -> CEM, every frame forwarded as it came.

Each RM that connects gets its own upstream connection to the CEM. Text frames are forwarded with
the same text (so the same bytes), binary frames with the same bytes, whatever the rules say; the
observers (the UI's monitor, the transcript recorder) see each frame as the receiver gets it, and
the monitor judges it with the session's rule context. When one side closes, the other is closed
with the same code and reason. The ``Authorization`` header of the RM is passed upstream and never
shown or logged.

Fault injection (:class:`Faults`) is off unless asked for: delay, drop, duplicate, or corrupt one
field of a frame, each with its own probability, from one seeded random generator so a run can be
repeated.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
import msgspec
from aiohttp import web

from .observe import Frame, Observer

__all__ = ["Faults", "Proxy"]

log = logging.getLogger(__name__)
_SENDABLE_CLOSE = frozenset(range(3000, 5000)) | {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013}


@dataclass(frozen=True, slots=True)
class Faults:
    """Probabilities (0..1) of each fault per frame, a fixed delay in seconds, and the seed."""

    delay: float = 0.0
    drop: float = 0.0
    duplicate: float = 0.0
    corrupt: float = 0.0
    seed: int = 0

    @property
    def any(self) -> bool:
        return bool(self.delay or self.drop or self.duplicate or self.corrupt)


def corrupt_field(text: str, rng: random.Random) -> str:
    """``text`` with one top-level field other than ``message_type`` replaced by a value of the wrong
    type (a string becomes a number, anything else a string); unreadable text gets a byte dropped."""
    try:
        body = msgspec.json.decode(text)
    except msgspec.DecodeError:
        body = None
    if not isinstance(body, dict):
        return text[:-1] if text else text
    keys = sorted(k for k in body if k != "message_type")
    if not keys:
        return text
    key = rng.choice(keys)
    body[key] = 12345 if isinstance(body[key], str) else "corrupted"
    return msgspec.json.encode(body).decode()


class Proxy:
    """Serve ``listen``; for every RM, open ``upstream`` and pump frames both ways."""

    def __init__(self, upstream: str, *, observers: Sequence[Observer] = (), faults: Faults | None = None) -> None:
        self.upstream = upstream
        self.observers = list(observers)
        self.faults = faults or Faults()
        self._rng = random.Random(self.faults.seed)
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0
        self.sessions = 0

    async def start(self, host: str = "127.0.0.1", port: int = 0, path: str = "/") -> int:
        """Start listening; returns the bound port."""
        app = web.Application()
        app.router.add_get(path, self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1]) if sockets else port
        return self.port

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for observer in self.observers:
            observer.close()

    def _emit(self, session: str, direction: str, text: str) -> None:
        frame = Frame(datetime.now(UTC), session, direction, text, False)  # type: ignore[arg-type]
        for observer in self.observers:
            observer.frame(frame)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        protocols = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
        headers = {}
        if "Authorization" in request.headers:
            headers["Authorization"] = request.headers["Authorization"]
        session = f"proxy-{next(self._ids)}"
        async with aiohttp.ClientSession() as client:
            try:
                upstream = await client.ws_connect(
                    self.upstream, headers=headers, protocols=protocols, autoclose=False, max_msg_size=0
                )
            except (aiohttp.ClientError, OSError) as exc:
                log.warning("%s: cannot reach the upstream %s: %s", session, self.upstream, exc)
                return web.Response(status=502, text="the upstream CEM cannot be reached")
            downstream = web.WebSocketResponse(
                protocols=[upstream.protocol] if upstream.protocol else (), autoclose=False, max_msg_size=0
            )
            await downstream.prepare(request)
            self.sessions += 1
            peer = request.remote
            for observer in self.observers:
                observer.session_started(session, "proxy", peer)
            up = asyncio.ensure_future(self._pump(session, downstream, upstream, "rm>cem"))
            down = asyncio.ensure_future(self._pump(session, upstream, downstream, "cem>rm"))
            done, pending = await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
            reasons = [task.result() for task in done]
            # the other direction may still carry the peer's answer to the close: give it a moment
            if pending:
                _, pending = await asyncio.wait(pending, timeout=2.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            reason = next((r for r in reasons if not r.endswith("side was closed")), reasons[0])
            await upstream.close()
            await downstream.close()
            for observer in self.observers:
                observer.session_ended(session, reason)
        return downstream

    async def _pump(
        self,
        session: str,
        source: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
        target: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
        direction: str,
    ) -> str:
        """Forward until ``source`` closes; then close ``target`` the same way. Returns the reason."""
        faults = self.faults
        while True:
            msg = await source.receive()
            if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                copies = 1
                data = msg.data
                if faults.any:
                    if faults.drop and self._rng.random() < faults.drop:
                        log.info("%s %s: fault: frame dropped", session, direction)
                        continue
                    if faults.corrupt and msg.type is aiohttp.WSMsgType.TEXT and self._rng.random() < faults.corrupt:
                        data = corrupt_field(data, self._rng)
                    if faults.duplicate and self._rng.random() < faults.duplicate:
                        copies = 2
                    if faults.delay:
                        await asyncio.sleep(faults.delay)
                for _ in range(copies):
                    if msg.type is aiohttp.WSMsgType.TEXT:
                        self._emit(session, direction, data)
                        await target.send_str(data)
                    else:
                        self._emit(session, direction, bytes(data).decode("utf-8", "replace"))
                        await target.send_bytes(data)
                continue
            side = "RM" if direction == "rm>cem" else "CEM"
            if msg.type is aiohttp.WSMsgType.CLOSE:
                code = int(msg.data) if msg.data is not None else 1000
                reason = str(msg.extra or "")
                send = code if code in _SENDABLE_CLOSE else 1000
                await target.close(code=send, message=reason.encode()[:123])
                await source.close(code=send, message=reason.encode()[:123])  # echo the close to its sender
                return f"the {side} closed ({code}{': ' + reason if reason else ''})"
            if msg.type is aiohttp.WSMsgType.CLOSING:  # our own close of this side, from the other pump
                return f"the {side} side was closed"
            await target.close(code=1001, message=b"the other side went away")
            return f"the {side} connection ended"
