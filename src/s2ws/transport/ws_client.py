"""The aiohttp WebSocket client: one engine per connection, reconnecting with backoff until told to stop.

``wss://`` is verified against the system CAs unless a private CA (the S2 Connect pinned root), a pinned
leaf fingerprint or a ready ``SSLContext`` is given; plain ``ws://`` is used only when the URL says so.
Under S2 Connect every connection needs a fresh URL and single-use token: pass an async endpoint
provider instead of a URL and it is asked again before every attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import ssl as ssl_module
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import urlsplit

import aiohttp

from ..errors import AuthenticationError, CertificateError, ConnectError, TransportConfigError, TransportError
from .aiohttp_channel import AiohttpChannel
from .backoff import Backoff, ReconnectPolicy
from .channel import CLOSE_INTERNAL_ERROR, CLOSE_NORMAL
from .connection import Connection, EngineLike, EventHandler, SessionFactory, ended_with_terminate, make_engine
from .driver import Clock, Driver, utc_now
from .options import ClientOptions
from .tls import client_ssl_context, parse_fingerprint

__all__ = ["Client", "Endpoint", "EndpointProvider", "connect"]

log = logging.getLogger("s2ws.transport")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where to connect for one attempt, and with which bearer token."""

    url: str
    token: str | None = None


EndpointProvider = Callable[[], Awaitable[Endpoint]]
"""Called before every attempt (S2 Connect: initiateSession + confirmAccessToken give a fresh URL and token)."""

_DEFAULT_POLICY = ReconnectPolicy()


class Client:
    """Connects ``session_factory``'s engines to a server, again and again per ``reconnect``.

    ``options`` (or the same names as keyword arguments) configure everything: see
    :class:`~s2ws.transport.options.ClientOptions`.

    ``run()`` returns when ``close()`` is called, when a session ends with TERMINATE (per the policy)
    or, with ``reconnect=None``, after one session; it raises :class:`ConnectError` (or its subclasses
    :class:`AuthenticationError`, :class:`CertificateError`) when the policy gives up. Cancelling
    ``run()`` closes the live session gracefully (engine closed, socket closed with 1001).

    ``compress=True`` offers permessage-deflate (RFC 7692), which the s2ws server accepts. It is off
    by default: S2 frames are mostly 100-300 bytes, where deflate saves little on the wire but costs
    CPU on every frame at both ends (about 4 µs per message each over loopback) and keeps zlib's
    compressor and decompressor state for the life of the connection (about 100 KiB per session at
    each end, idle or not). The standard says implementations SHOULD support the extension; the s2ws
    server does, so a peer that offers it still gets it. Offer it for a slow or metered link that
    carries many large descriptions and forecasts.

    ``cork`` (on by default) holds a burst of frames written in one turn of the event loop until the
    turn ends, so that it leaves in full TCP segments; a lone frame is written at once either way
    (see :mod:`s2ws.transport.aiohttp_channel`).
    """

    def __init__(
        self,
        url: str | EndpointProvider,
        session_factory: SessionFactory,
        options: ClientOptions | None = None,
        *,
        on_event: EventHandler | None = None,
        clock: Clock = utc_now,
        rng: random.Random | None = None,
        **overrides: Any,
    ) -> None:
        opts = ClientOptions.build(options, overrides)
        self.options = opts
        if not isinstance(url, str) and opts.token is not None:
            raise TransportConfigError("with an endpoint provider, the token comes from the provider")
        given = [name for name in ("ssl", "ca_file", "pinned_sha256") if getattr(opts, name) is not None]
        self._tls_given = given[0] if given else None
        self._tls: ssl_module.SSLContext | aiohttp.Fingerprint
        if opts.pinned_sha256 is not None:
            self._tls = aiohttp.Fingerprint(parse_fingerprint(opts.pinned_sha256))
        elif opts.ssl is not None:
            self._tls = opts.ssl
        else:
            self._tls = client_ssl_context(ca_file=opts.ca_file)
        self._url = url
        if isinstance(url, str):
            self._check_url(url)
        self._factory = session_factory
        self._policy = opts.reconnect
        self._on_event = on_event
        self._clock = clock
        self._backoff = Backoff(opts.reconnect or _DEFAULT_POLICY, rng)
        self._closing = False
        self._stop_event: asyncio.Event | None = None
        self._driver: Driver | None = None
        self._task: asyncio.Task[None] | None = None
        self.connection: Connection | None = None
        """The current (or last) connection."""
        self.attempts = 0
        """Connection attempts so far."""
        self.sessions = 0
        """Sessions started so far."""

    @property
    def backoff(self) -> Backoff:
        """The delay schedule; ``failures`` is back to 0 whenever a session starts."""
        return self._backoff

    @property
    def engine(self) -> EngineLike | None:
        """The engine of the current (or last) session."""
        return self.connection.engine if self.connection is not None else None

    def _check_url(self, url: str) -> None:
        scheme = urlsplit(url).scheme.lower()
        if scheme == "ws" and self._tls_given is not None:
            raise TransportConfigError(f"{self._tls_given} given for a plain ws:// URL ({url}); use wss://")
        if scheme not in ("ws", "wss"):
            raise TransportConfigError(f"not a WebSocket URL (ws:// or wss://): {url!r}")

    def close(self) -> None:
        """Stop: close the live session gracefully and make ``run()`` return instead of reconnecting."""
        self._closing = True
        if self._stop_event is not None:
            self._stop_event.set()
        if self._driver is not None:
            self._driver.stop(CLOSE_NORMAL, "client closing")

    async def run(self) -> None:
        """Connect, run the session, and reconnect per the policy; see the class docstring."""
        policy = self._policy
        self._stop_event = asyncio.Event()
        if self._closing:
            return
        failures = 0
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as http:
            while not self._closing:
                try:
                    engine = await self._one_session(http)
                except ConnectError as exc:
                    refused = isinstance(exc, AuthenticationError | CertificateError)
                    failures += 1
                    if policy is None or (refused and policy.stop_on_refusal):
                        raise
                    if policy.max_attempts is not None and failures >= policy.max_attempts:
                        raise
                    log.warning("connection attempt %d failed: %s", self.attempts, exc)
                else:
                    failures = 0
                    if engine is None or policy is None or self._closing:
                        return
                    if policy.stop_on_terminate and ended_with_terminate(engine):
                        log.info("session ended with TERMINATE; not reconnecting")
                        return
                    log.info("session ended (%s); reconnecting", engine.close_reason)
                delay = self._backoff.next_delay()
                log.debug("next attempt in %.3f s", delay)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._stop_event.wait()

    async def _endpoint(self) -> Endpoint:
        if isinstance(self._url, str):
            return Endpoint(self._url, self.options.token)
        try:
            endpoint = await self._url()
        except TransportError:
            raise
        except Exception as exc:
            raise ConnectError(f"endpoint provider failed: {exc!r}") from exc
        self._check_url(endpoint.url)
        return endpoint

    async def _one_session(self, http: aiohttp.ClientSession) -> EngineLike | None:
        """One attempt: open the socket (errors as ConnectError), then drive one engine over it."""
        self.attempts += 1
        endpoint = await self._endpoint()
        ws = await self._open(http, endpoint)
        if self._closing:
            await ws.close()
            return None
        self._backoff.reset()
        split = urlsplit(endpoint.url)
        connection = Connection(
            side="client",
            url=endpoint.url,
            remote=f"{split.hostname}:{split.port}" if split.port else split.hostname,
            token=endpoint.token,
            attempt=self.attempts,
        )
        self.connection = connection
        try:
            engine = await make_engine(self._factory, connection)
        except BaseException:
            await ws.close(code=CLOSE_INTERNAL_ERROR, message=b"session factory failed")
            raise
        on_event = functools.partial(self._on_event, connection) if self._on_event is not None else None
        opts = self.options
        driver = Driver(
            engine,
            AiohttpChannel(ws, cork=opts.cork),
            on_event,
            clock=self._clock,
            close_timeout=opts.close_timeout,
            connection=connection,
            write_timeout=opts.write_timeout,
        )
        self._driver = driver
        self.sessions += 1
        try:
            await driver.run()
        finally:
            self._driver = None
        return engine

    async def _open(self, http: aiohttp.ClientSession, endpoint: Endpoint) -> aiohttp.ClientWebSocketResponse:
        opts = self.options
        headers = dict(opts.headers)
        if endpoint.token is not None:
            headers["Authorization"] = f"Bearer {endpoint.token}"
        tls = self._tls if urlsplit(endpoint.url).scheme.lower() == "wss" else False
        try:
            async with asyncio.timeout(opts.connect_timeout):
                return await http.ws_connect(
                    endpoint.url,
                    headers=headers,
                    ssl=tls,
                    compress=15 if opts.compress else 0,  # 15: offer a window of 2**15 bytes
                    max_msg_size=opts.max_frame_bytes + 1,  # aiohttp refuses exactly max_msg_size; the cap is inclusive
                    heartbeat=opts.heartbeat,
                    autoping=True,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=opts.close_timeout),
                )
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise _connect_error(exc, endpoint.url) from exc

    async def __aenter__(self) -> Self:
        """Run in a background task; leaving the block closes the client and waits for it."""
        self._task = asyncio.create_task(self.run())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()
        if self._task is not None:
            await self._task


def _connect_error(exc: BaseException, url: str) -> ConnectError:
    """Name the reason a connection failed, so a refusal is not retried like a network blip."""
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        if exc.status in (401, 403):
            return AuthenticationError(
                f"server refused the bearer token (HTTP {exc.status})", url=url, status=exc.status
            )
        return ConnectError(f"WebSocket upgrade refused (HTTP {exc.status} {exc.message})", url=url, status=exc.status)
    if isinstance(exc, aiohttp.ServerFingerprintMismatch):
        return CertificateError(
            f"server certificate SHA-256 {exc.got.hex()} does not match the pinned {exc.expected.hex()}", url=url
        )
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return CertificateError(f"server certificate verification failed: {exc.certificate_error}", url=url)
    if isinstance(exc, TimeoutError):
        return ConnectError("timed out while connecting", url=url)
    return ConnectError(f"{type(exc).__name__}: {exc}", url=url)


async def connect(
    url: str | EndpointProvider,
    session_factory: SessionFactory,
    options: ClientOptions | None = None,
    *,
    on_event: EventHandler | None = None,
    clock: Clock = utc_now,
    rng: random.Random | None = None,
    **overrides: Any,
) -> None:
    """Run a :class:`Client` until it stops; cancel the call to disconnect gracefully.

    ``options`` or the same names as keyword arguments: see :class:`~s2ws.transport.options.ClientOptions`."""
    client = Client(url, session_factory, options, on_event=on_event, clock=clock, rng=rng, **overrides)
    await client.run()
