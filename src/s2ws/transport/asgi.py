"""A raw ASGI application, so a CEM can live inside Starlette/FastAPI under uvicorn or any ASGI server.

No framework is imported: mount the returned callable (``Mount("/s2", app=...)`` or ``app.mount``).
The ASGI server owns the socket, so it also owns pings and compression: run uvicorn with
``ws_ping_interval`` of at least 50 s (its default is 20 s) and ``ws_max_size`` at or above the cap here.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ..errors import ChannelClosed
from .auth import TokenCheck, bearer_token, challenge, check_token
from .channel import (
    CLOSE_GOING_AWAY,
    CLOSE_INTERNAL_ERROR,
    CLOSE_NORMAL,
    CLOSE_POLICY_VIOLATION,
    CLOSE_TOO_BIG,
    close_reason_bytes,
)
from .connection import Connection, EventHandler, SessionFactory, make_engine
from .driver import Clock, Driver, utc_now
from .options import ServerOptions, check_max_frame_bytes

__all__ = ["ASGIReceive", "ASGIScope", "ASGISend", "AsgiApp", "AsgiChannel", "asgi_app"]

log = logging.getLogger("s2ws.transport")

ASGIScope = MutableMapping[str, Any]
ASGIMessage = MutableMapping[str, Any]
ASGIReceive = Callable[[], Awaitable[ASGIMessage]]
ASGISend = Callable[[ASGIMessage], Awaitable[None]]


class AsgiChannel:
    """Channel over an accepted ASGI websocket; enforces the frame cap itself (1009), as servers differ."""

    def __init__(self, receive: ASGIReceive, send: ASGISend, max_frame_bytes: int) -> None:
        self._receive = receive
        self._send = send
        self._max = max_frame_bytes
        self._closed = False
        self._close_code: int | None = None

    @property
    def close_code(self) -> int | None:
        return self._close_code

    async def send_text(self, text: str) -> None:
        if self._closed:
            raise ChannelClosed("ASGI websocket is closed")
        try:
            await self._send({"type": "websocket.send", "text": text})
        except Exception as exc:  # servers raise their own types (OSError, ClientDisconnected, RuntimeError)
            self._closed = True
            raise ChannelClosed(f"ASGI websocket write failed: {exc!r}") from exc

    async def receive(self) -> str | bytes | None:
        if self._closed:
            return None
        message = await self._receive()
        kind = message.get("type")
        if kind == "websocket.receive":
            text = message.get("text")
            payload: str | bytes = text if text is not None else bytes(message.get("bytes") or b"")
            if self._too_big(payload):
                await self.close(CLOSE_TOO_BIG, "frame too large")
                return None
            return payload
        # websocket.disconnect, or anything unexpected: the socket is gone
        self._closed = True
        self._close_code = int(message.get("code", 1005))
        return None

    def _too_big(self, payload: str | bytes) -> bool:
        if len(payload) > self._max:
            return True  # a str never has fewer UTF-8 bytes than characters
        if isinstance(payload, str) and len(payload) * 4 > self._max:
            return len(payload.encode("utf-8")) > self._max
        return False

    async def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        if self._closed:
            return
        self._closed = True
        self._close_code = code
        with contextlib.suppress(Exception):
            await self._send(
                {"type": "websocket.close", "code": code, "reason": close_reason_bytes(reason).decode("utf-8")}
            )


class AsgiApp:
    """The ASGI callable returned by :func:`asgi_app`; ``close()`` ends every live session (1001)."""

    def __init__(
        self,
        session_factory: SessionFactory,
        *,
        token: TokenCheck,
        max_frame_bytes: int,
        on_event: EventHandler | None,
        clock: Clock,
        close_timeout: float,
    ) -> None:
        self._factory = session_factory
        self._token = token
        self._max = check_max_frame_bytes(max_frame_bytes)
        self._on_event = on_event
        self._clock = clock
        self._close_timeout = close_timeout
        self.drivers: set[Driver] = set()

    async def __call__(self, scope: ASGIScope, receive: ASGIReceive, send: ASGISend) -> None:
        kind = scope.get("type")
        if kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "http":
            await send({"type": "http.response.start", "status": 404, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"S2 WebSocket endpoint; connect with a WebSocket\n"})

    async def close(self) -> None:
        """Stop every live session (engine closed, socket closed with 1001) and wait for them, bounded."""
        drivers = list(self.drivers)
        for driver in drivers:
            driver.stop(CLOSE_GOING_AWAY, "server shutting down")
        if drivers:
            await asyncio.wait([asyncio.ensure_future(d.wait_closed()) for d in drivers], timeout=self._close_timeout)

    async def _lifespan(self, receive: ASGIReceive, send: ASGISend) -> None:
        while True:
            message = await receive()
            if message.get("type") == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message.get("type") == "lifespan.shutdown":
                await self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _websocket(self, scope: ASGIScope, receive: ASGIReceive, send: ASGISend) -> None:
        message = await receive()
        if message.get("type") != "websocket.connect":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        token = bearer_token(headers.get("authorization"))
        if not await check_token(self._token, token):
            await _deny(scope, send, token)
            return
        client = scope.get("client")
        connection = Connection(
            side="server",
            url=str(scope.get("root_path", "")) + str(scope.get("path", "/")),
            remote=f"{client[0]}:{client[1]}" if client else None,
            headers=headers,
            token=token,
        )
        try:
            engine = await make_engine(self._factory, connection)
        except Exception:
            log.exception("session factory failed")
            await send({"type": "websocket.close", "code": CLOSE_INTERNAL_ERROR, "reason": ""})
            return
        await send({"type": "websocket.accept"})
        on_event = functools.partial(self._on_event, connection) if self._on_event is not None else None
        driver = Driver(
            engine,
            AsgiChannel(receive, send, self._max),
            on_event,
            clock=self._clock,
            close_timeout=self._close_timeout,
            connection=connection,
        )
        self.drivers.add(driver)
        try:
            await driver.run()
        except Exception:
            log.exception("session with %s failed", connection.remote)
        finally:
            self.drivers.discard(driver)


async def _deny(scope: ASGIScope, send: ASGISend, token: str | None) -> None:
    """A 401 with a challenge where the server can send one; otherwise a close before accept (1008)."""
    if "websocket.http.response" in (scope.get("extensions") or {}):
        await send(
            {
                "type": "websocket.http.response.start",
                "status": 401,
                "headers": [(b"www-authenticate", challenge(token).encode()), (b"content-type", b"text/plain")],
            }
        )
        await send({"type": "websocket.http.response.body", "body": b"unauthorized\n"})
    else:
        await send({"type": "websocket.close", "code": CLOSE_POLICY_VIOLATION, "reason": "unauthorized"})


def asgi_app(
    session_factory: SessionFactory,
    options: ServerOptions | None = None,
    *,
    on_event: EventHandler | None = None,
    clock: Clock = utc_now,
    **overrides: Any,
) -> AsgiApp:
    """An ASGI app serving one S2 session per WebSocket; HTTP requests get 404, lifespan is acknowledged.

    ``options`` or the same names as keyword arguments, as for :func:`~s2ws.transport.serve`; the
    ASGI server owns the socket, so only ``token``, ``max_frame_bytes`` and ``close_timeout`` apply
    here (the HTTP limits, pings and timeouts are the ASGI server's settings).

    The bearer token is checked before ``websocket.accept``: refused with HTTP 401 when the server
    supports the ``websocket.http.response`` extension, else closed with 1008 (the server answers 403).
    """
    opts = ServerOptions.build(options, overrides)
    return AsgiApp(
        session_factory,
        token=opts.token,
        max_frame_bytes=opts.max_frame_bytes,
        on_event=on_event,
        clock=clock,
        close_timeout=opts.close_timeout,
    )
