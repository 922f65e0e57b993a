"""The aiohttp WebSocket server: one engine per accepted socket, refused before the upgrade when unauthorised.

Compression (permessage-deflate) is accepted when a client offers it, frames above the cap close only that
socket (1009), and the server never pings more often than every 50 s. Closing the server closes every live
session with 1001. Every limit of :class:`~s2ws.transport.options.ServerOptions` is enforced here or in the
driver; refusals are logged at most once a minute per kind (WARNING for tokens), without traceback and
without any part of the request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from types import MethodType
from typing import Any, Self

from aiohttp import web

from .aiohttp_channel import AiohttpChannel
from .auth import bearer_token, challenge, check_token
from .channel import CLOSE_GOING_AWAY
from .connection import Connection, EventHandler, SessionFactory, make_engine
from .driver import Clock, Driver, utc_now
from .guard import AuthThrottle, HttpLogFilter, LogLimiter, quiet_accept_errors
from .options import ServerOptions

__all__ = ["Server", "create_app", "http_settings", "serve"]

log = logging.getLogger("s2ws.transport")
_http_log = logging.getLogger("s2ws.transport.http")
_http_log.addFilter(HttpLogFilter())

_MAX_HEADERS = 64


@dataclass(slots=True)
class _State:
    session_factory: SessionFactory
    options: ServerOptions
    on_event: EventHandler | None
    clock: Clock
    throttle: AuthThrottle
    refusals: LogLimiter
    drivers: set[Driver] = field(default_factory=set)
    max_msg_size: int = 0
    """aiohttp refuses a frame of exactly max_msg_size and the cap is inclusive: the cap + 1, made once
    (an int this large is an object of its own, which every session would otherwise hold)."""


_STATE = web.AppKey("s2ws_state", _State)


def create_app(
    session_factory: SessionFactory,
    options: ServerOptions | None = None,
    *,
    on_event: EventHandler | None = None,
    clock: Clock = utc_now,
    app: web.Application | None = None,
    **overrides: Any,
) -> web.Application:
    """An aiohttp application serving S2 WebSockets at ``options.path`` (or that route added to ``app``).

    ``options`` (or the same names as keyword arguments) configure everything; see
    :class:`~s2ws.transport.options.ServerOptions`. A failed token check is answered 401 with
    ``WWW-Authenticate`` and no upgrade. The application can be mounted into a larger aiohttp app that
    also serves HTTPS APIs (S2 Connect); give the runner :func:`http_settings` so that the limits on
    the HTTP request (header sizes, the time to the upgrade) hold too. :func:`serve` does that.
    """
    opts = ServerOptions.build(options, overrides)
    state = _State(
        session_factory=session_factory,
        options=opts,
        on_event=on_event,
        clock=clock,
        throttle=AuthThrottle(opts.auth_failures, opts.auth_window),
        refusals=LogLimiter(log),
        max_msg_size=opts.max_frame_bytes + 1,
    )
    app = app if app is not None else web.Application()
    app[_STATE] = state
    app.router.add_get(opts.path, _handle)
    app.on_shutdown.append(_close_sessions)
    return app


def http_settings(options: ServerOptions) -> dict[str, Any]:
    """Keyword arguments for ``web.AppRunner`` that bound the HTTP request before the upgrade.

    ``keepalive_timeout`` closes a socket that has not sent a whole request within
    ``handshake_timeout`` (aiohttp starts that timer when the connection is made); the header limits
    refuse an oversized request head with 400 before it is kept anywhere."""
    field_cap = min(8190, options.max_header_bytes)
    return {
        "keepalive_timeout": options.handshake_timeout,
        "max_line_size": field_cap,
        "max_field_size": field_cap,
        "max_headers": _MAX_HEADERS,
        "logger": _http_log,
    }


def _refuse(state: _State, request: web.Request, why: str, *, level: int = logging.INFO) -> None:
    state.refusals.log(level, why, time.monotonic(), "refused a connection from %s: %s", request.remote, why)


async def _handle(request: web.Request) -> web.StreamResponse:
    # small on purpose: this coroutine waits for the whole session, and its frame is kept that long
    state = request.app[_STATE]
    opened = await _open(request, state)
    if isinstance(opened, web.StreamResponse):
        return opened  # refused, or lost before the upgrade
    ws, driver = opened
    state.drivers.add(driver)
    try:
        await driver.run()
    except Exception as exc:
        log.warning("session with %s failed: %r", request.remote, exc)
        log.debug("session failure", exc_info=True)
    finally:
        state.drivers.discard(driver)
    return ws


async def _open(request: web.Request, state: _State) -> web.StreamResponse | tuple[web.WebSocketResponse, Driver]:
    """Check the request, make the engine and its driver, send the 101: the session ready to run,
    or the response that refused it."""
    opts = state.options
    head = sum(len(name) + len(value) + 4 for name, value in request.raw_headers)
    if head > opts.max_header_bytes:
        _refuse(state, request, f"request headers over {opts.max_header_bytes} bytes")
        return web.Response(status=431, text="request header fields too large\n")
    source = request.remote or "?"
    wait = state.throttle.blocked(source, time.monotonic())
    if wait > 0:
        _refuse(state, request, "too many failed token checks from one address", level=logging.WARNING)
        return web.Response(status=429, text="too many failed attempts\n", headers={"Retry-After": f"{wait:.0f}"})
    token = bearer_token(request.headers.get("Authorization"))
    if opts.token is None or isinstance(opts.token, str):
        accepted = await check_token(opts.token, token)  # decided at once: no timer to arm and cancel
    else:
        try:
            async with asyncio.timeout(opts.handshake_timeout):
                accepted = await check_token(opts.token, token)
        except TimeoutError:
            _refuse(state, request, "the token check did not finish in time", level=logging.WARNING)
            return web.Response(status=503, text="try again later\n")
    if not accepted:
        state.throttle.failed(source, time.monotonic())
        _refuse(state, request, "bad or missing bearer token", level=logging.WARNING)
        return web.Response(status=401, text="unauthorized\n", headers={"WWW-Authenticate": challenge(token)})
    ws = web.WebSocketResponse(
        max_msg_size=state.max_msg_size,
        compress=opts.compress,
        heartbeat=opts.heartbeat,
        autoping=True,
        timeout=opts.close_timeout,
    )
    if not ws.can_prepare(request).ok:
        _refuse(state, request, "not a valid WebSocket upgrade")
        return web.Response(status=426, text="WebSocket upgrade required\n", headers={"Upgrade": "websocket"})
    connection = Connection(
        side="server",
        url=f"{request.scheme}://{request.host}{request.raw_path}",  # one string; request.url builds a URL object
        remote=request.remote,
        headers=request.headers,  # case-insensitive, and kept alive by the request anyway: no copy
        token=token,
    )
    engine = await make_engine(state.session_factory, connection)  # a failing factory is a 500, no upgrade
    # a bound method (one small object) rather than a partial (three: itself, its args, its keywords)
    on_event = MethodType(state.on_event, connection) if state.on_event is not None else None
    driver = Driver(
        engine,
        AiohttpChannel(ws, cork=opts.cork),
        on_event,
        clock=state.clock,
        close_timeout=opts.close_timeout,
        connection=connection,
        write_timeout=opts.write_timeout,
        rate_limit=opts.rate_limit,
        rate_burst=opts.rate_burst,
        rate_close_after=opts.rate_close_after,
    )
    try:
        await driver.bounded(ws.prepare(request), opts.handshake_timeout)
    except (ConnectionError, RuntimeError, TimeoutError) as exc:
        # the peer left (or stalled) before the 101: the session never starts and is forgotten at once
        await driver.abandon(f"the connection was lost before the upgrade ({type(exc).__name__})")
        _refuse(state, request, "the connection was lost before the upgrade")
        return ws
    return ws, driver


async def _close_sessions(app: web.Application) -> None:
    """Close every live session (engine first, then the socket with 1001) and wait for them, bounded."""
    state = app[_STATE]
    drivers = list(state.drivers)
    for driver in drivers:
        driver.stop(CLOSE_GOING_AWAY, "server shutting down")
    if drivers:
        await asyncio.wait(
            [asyncio.ensure_future(d.wait_closed()) for d in drivers], timeout=state.options.close_timeout + 1.0
        )


class _Refused(asyncio.Protocol):
    """Answers a connection over the limit with 503 and closes it, without reading its request."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(
            b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\nRetry-After: 5\r\n\r\n"
        )
        transport.close()


class Server:
    """A listening S2 WebSocket server; ``port`` is the bound port (useful with ``port=0``)."""

    def __init__(self, runner: web.AppRunner, host: str, tls: bool) -> None:
        self._runner = runner
        self._listener: asyncio.AbstractServer | None = None
        self._limits = LogLimiter(log)
        self.host = host
        self.port = 0
        self.tls = tls
        self.refused = 0
        """Connections refused at once because ``max_connections`` were open."""

    @property
    def app(self) -> web.Application:
        return self._runner.app

    @property
    def options(self) -> ServerOptions:
        return self._runner.app[_STATE].options

    def url(self, path: str = "/") -> str:
        """The ``ws://`` or ``wss://`` URL of ``path`` on this server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'wss' if self.tls else 'ws'}://{host}:{self.port}{path}"

    @property
    def session_count(self) -> int:
        return len(self._runner.app[_STATE].drivers)

    @property
    def connection_count(self) -> int:
        """Open sockets, upgraded or not."""
        server = self._runner.server
        return len(server.connections) if server is not None else 0

    async def _listen(self, port: int, limit: int) -> None:
        server = self._runner.server
        assert server is not None

        def protocol() -> asyncio.BaseProtocol:
            if len(server.connections) >= limit:
                self.refused += 1
                self._limits.log(
                    logging.WARNING,
                    "limit",
                    time.monotonic(),
                    "connection limit of %d reached: new connections are refused (503) until some close",
                    limit,
                )
                return _Refused()
            return server()

        self._listener = await asyncio.get_running_loop().create_server(
            protocol, self.host, port, ssl=self.options.ssl, reuse_address=True
        )
        sockets = self._listener.sockets
        self.port = int(sockets[0].getsockname()[1]) if sockets else port

    async def close(self) -> None:
        """Close every session gracefully, stop listening, free the port.

        Sessions are closed first, while their connections are still read: once aiohttp starts its own
        shutdown a peer's answering close frame is no longer seen, and each close would wait for its timeout.
        """
        await _close_sessions(self._runner.app)
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


async def serve(
    session_factory: SessionFactory,
    host: str = "127.0.0.1",
    port: int = 0,
    options: ServerOptions | None = None,
    *,
    on_event: EventHandler | None = None,
    clock: Clock = utc_now,
    **overrides: Any,
) -> Server:
    """Listen on ``host:port`` (``wss`` when ``options.ssl`` is given) and return the running :class:`Server`.

    ``options`` or the same names as keyword arguments: see :class:`~s2ws.transport.options.ServerOptions`.
    """
    opts = ServerOptions.build(options, overrides)
    app = create_app(session_factory, opts, on_event=on_event, clock=clock)
    runner = web.AppRunner(
        app, handle_signals=False, access_log=None, shutdown_timeout=opts.close_timeout + 2.0, **http_settings(opts)
    )
    await runner.setup()
    quiet_accept_errors()
    server = Server(runner, host, opts.ssl is not None)
    try:
        await server._listen(port, opts.connection_limit)
    except BaseException:
        await runner.cleanup()
        raise
    return server
