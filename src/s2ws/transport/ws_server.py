"""The aiohttp WebSocket server: one engine per accepted socket, refused before the upgrade when unauthorised.

Compression (permessage-deflate) is accepted when a client offers it, frames above the cap close only that
socket (1009), and the server never pings more often than every 50 s. Closing the server closes every live
session with 1001.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
from dataclasses import dataclass, field
from typing import Self

from aiohttp import web

from .aiohttp_channel import AiohttpChannel
from .auth import TokenCheck, bearer_token, challenge, check_token
from .channel import CLOSE_GOING_AWAY
from .driver import Clock, Driver, utc_now
from .engine import Connection, EventHandler, SessionFactory, make_engine
from .options import DEFAULT_MAX_FRAME_BYTES, check_heartbeat, check_max_frame_bytes

__all__ = ["Server", "create_app", "serve"]

log = logging.getLogger("s2ws.transport")


@dataclass(slots=True)
class _Settings:
    session_factory: SessionFactory
    token: TokenCheck
    max_frame_bytes: int
    heartbeat: float | None
    on_event: EventHandler | None
    clock: Clock
    close_timeout: float
    compress: bool = True
    cork: bool = True
    drivers: set[Driver] = field(default_factory=set)


_SETTINGS = web.AppKey("s2ws_settings", _Settings)


def create_app(
    session_factory: SessionFactory,
    *,
    path: str = "/",
    token: TokenCheck = None,
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    heartbeat: float | None = None,
    on_event: EventHandler | None = None,
    clock: Clock = utc_now,
    close_timeout: float = 5.0,
    app: web.Application | None = None,
    compress: bool = True,
    cork: bool = True,
) -> web.Application:
    """An aiohttp application serving S2 WebSockets at ``path`` (or that route added to ``app``).

    ``token`` is a fixed bearer token, a verifier ``token -> bool`` (sync or async), or ``None`` for no
    check; a failed check is answered 401 with ``WWW-Authenticate`` and no upgrade. ``heartbeat`` is the
    ping interval (``None``, or at least 50 s). The application can be mounted into a larger aiohttp app
    that also serves HTTPS APIs (S2 Connect).

    ``compress`` accepts permessage-deflate when a client offers it (the standard says implementations
    SHOULD support it); the server never asks for it, so a client that does not offer it (the s2ws
    ``Client``'s default) pays nothing. ``compress=False`` refuses it: every connection then skips
    deflate's per-frame CPU and its zlib state (about 100 KiB per connection for its whole life).

    ``cork`` holds a burst of frames written in one turn of the event loop until the turn ends, so
    that it leaves in full TCP segments (see :mod:`s2ws.transport.aiohttp_channel`); ``cork=False``
    writes every frame at once.
    """
    settings = _Settings(
        session_factory=session_factory,
        token=token,
        max_frame_bytes=check_max_frame_bytes(max_frame_bytes),
        heartbeat=check_heartbeat(heartbeat),
        on_event=on_event,
        clock=clock,
        close_timeout=close_timeout,
        compress=bool(compress),
        cork=bool(cork),
    )
    app = app if app is not None else web.Application()
    app[_SETTINGS] = settings
    app.router.add_get(path, _handle)
    app.on_shutdown.append(_close_sessions)
    return app


async def _handle(request: web.Request) -> web.StreamResponse:
    settings = request.app[_SETTINGS]
    token = bearer_token(request.headers.get("Authorization"))
    if not await check_token(settings.token, token):
        log.info("refused %s from %s: bad or missing bearer token", request.path, request.remote)
        return web.Response(status=401, text="unauthorized\n", headers={"WWW-Authenticate": challenge(token)})
    ws = web.WebSocketResponse(
        max_msg_size=settings.max_frame_bytes,
        compress=settings.compress,
        heartbeat=settings.heartbeat,
        autoping=True,
        timeout=settings.close_timeout,
    )
    if not ws.can_prepare(request).ok:
        return web.Response(status=426, text="WebSocket upgrade required\n", headers={"Upgrade": "websocket"})
    connection = Connection(
        side="server",
        url=str(request.url),
        remote=request.remote,
        headers={k.lower(): v for k, v in request.headers.items()},
        token=token,
    )
    engine = await make_engine(settings.session_factory, connection)  # a failing factory is a 500, no upgrade
    await ws.prepare(request)
    on_event = functools.partial(settings.on_event, connection) if settings.on_event is not None else None
    driver = Driver(
        engine,
        AiohttpChannel(ws, cork=settings.cork),
        on_event,
        clock=settings.clock,
        close_timeout=settings.close_timeout,
        connection=connection,
    )
    settings.drivers.add(driver)
    try:
        await driver.run()
    except Exception:
        log.exception("session with %s failed", request.remote)
    finally:
        settings.drivers.discard(driver)
    return ws


async def _close_sessions(app: web.Application) -> None:
    """Close every live session (engine first, then the socket with 1001) and wait for them, bounded."""
    settings = app[_SETTINGS]
    drivers = list(settings.drivers)
    for driver in drivers:
        driver.stop(CLOSE_GOING_AWAY, "server shutting down")
    if drivers:
        await asyncio.wait(
            [asyncio.ensure_future(d.wait_closed()) for d in drivers], timeout=settings.close_timeout + 1.0
        )


class Server:
    """A listening S2 WebSocket server; ``port`` is the bound port (useful with ``port=0``)."""

    def __init__(self, runner: web.AppRunner, site: web.TCPSite, host: str, port: int, tls: bool) -> None:
        self._runner = runner
        self._site = site
        self.host = host
        self.port = port
        self.tls = tls

    @property
    def app(self) -> web.Application:
        return self._runner.app

    def url(self, path: str = "/") -> str:
        """The ``ws://`` or ``wss://`` URL of ``path`` on this server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'wss' if self.tls else 'ws'}://{host}:{self.port}{path}"

    @property
    def session_count(self) -> int:
        return len(self._runner.app[_SETTINGS].drivers)

    async def close(self) -> None:
        """Close every session gracefully, stop listening, free the port.

        Sessions are closed first, while their connections are still read: once aiohttp starts its own
        shutdown a peer's answering close frame is no longer seen, and each close would wait for its timeout.
        """
        await _close_sessions(self._runner.app)
        await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


async def serve(
    session_factory: SessionFactory,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    ssl_context: ssl.SSLContext | None = None,
    path: str = "/",
    token: TokenCheck = None,
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    heartbeat: float | None = None,
    on_event: EventHandler | None = None,
    clock: Clock = utc_now,
    close_timeout: float = 5.0,
    compress: bool = True,
    cork: bool = True,
) -> Server:
    """Listen on ``host:port`` (``wss`` when ``ssl_context`` is given) and return the running :class:`Server`.

    ``compress``: accept permessage-deflate when a client offers it; ``cork``: hold a burst of
    frames until the loop turns (both: see :func:`create_app`).
    """
    app = create_app(
        session_factory,
        path=path,
        token=token,
        max_frame_bytes=max_frame_bytes,
        heartbeat=heartbeat,
        on_event=on_event,
        clock=clock,
        close_timeout=close_timeout,
        compress=compress,
        cork=cork,
    )
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=close_timeout + 2.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    addresses = runner.addresses
    bound = int(addresses[0][1]) if addresses else port
    return Server(runner, site, host, bound, ssl_context is not None)
