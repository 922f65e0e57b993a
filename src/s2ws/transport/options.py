"""Every knob of the server and of the client, each with one name and one documented default.

:class:`ServerOptions` and :class:`ClientOptions` are frozen: build one, pass it to ``serve`` /
``create_app`` or ``Client`` / ``connect``, or give the same names as keyword arguments to those
functions (they build the options object; an unknown name is a ``TypeError``). Values are checked
here, once, so a bad value fails where it is given.
"""

from __future__ import annotations

import dataclasses
import resource
import ssl as ssl_module
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from ..errors import TransportConfigError
from .auth import TokenCheck
from .backoff import ReconnectPolicy
from .tls import StrPath

__all__ = [
    "DEFAULT_HEARTBEAT",
    "DEFAULT_MAX_FRAME_BYTES",
    "MIN_HEARTBEAT",
    "ClientOptions",
    "ServerOptions",
    "check_heartbeat",
    "check_max_frame_bytes",
    "default_max_connections",
]

MIN_HEARTBEAT = 50.0
"""S2 over WebSockets: do not send pings more often than every 50 s."""

DEFAULT_HEARTBEAT = MIN_HEARTBEAT
"""Ping every 50 s; a peer whose pong has not come 25 s (half the interval) later is closed."""

DEFAULT_MAX_FRAME_BYTES = 1024 * 1024
"""Generous for the largest S2 messages (1000-transition descriptions), small enough to refuse abuse.
The cap is inclusive: a frame of exactly this many bytes is accepted."""

_FD_RESERVE = 64  # descriptors left for the listening socket, log files, transcripts, DNS


def default_max_connections() -> int:
    """The open-file soft limit minus a reserve, so that ``accept()`` never fails for want of descriptors."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 100_000
    return max(1, soft - _FD_RESERVE)


def check_heartbeat(heartbeat: float | None) -> float | None:
    """``None`` (no pings) or an interval of at least 50 s; anything else is refused."""
    if heartbeat is None:
        return None
    if isinstance(heartbeat, bool) or not isinstance(heartbeat, int | float) or not heartbeat >= MIN_HEARTBEAT:
        raise TransportConfigError(
            f"heartbeat must be None or at least {MIN_HEARTBEAT:g} s (S2 peers must not ping more often), "
            f"got {heartbeat!r}"
        )
    return float(heartbeat)


def check_max_frame_bytes(max_frame_bytes: int) -> int:
    """A positive frame cap; 0 ("unlimited" in aiohttp) is refused on purpose."""
    if isinstance(max_frame_bytes, bool) or not isinstance(max_frame_bytes, int) or max_frame_bytes <= 0:
        raise TransportConfigError(f"max_frame_bytes must be a positive int, got {max_frame_bytes!r}")
    return max_frame_bytes


def _positive(name: str, value: object, *, optional: bool = False, integer: bool = False) -> None:
    if value is None and optional:
        return
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok or not value > 0:  # type: ignore[operator]
        what = "a positive int" if integer else "a positive number of seconds"
        raise TransportConfigError(f"{name} must be {what}{' or None' if optional else ''}, got {value!r}")


class _Options:
    """``build``: the keyword-argument convenience of the entry points, defined once."""

    __slots__ = ()

    @classmethod
    def build(cls, options: Self | None, overrides: Mapping[str, Any]) -> Self:
        base = options if options is not None else cls()
        if not overrides:
            return base
        names = {f.name for f in dataclasses.fields(base)}  # type: ignore[arg-type]
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise TypeError(f"unknown {cls.__name__} option(s): {', '.join(unknown)}")
        return dataclasses.replace(base, **overrides)  # type: ignore[type-var]


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerOptions(_Options):
    """How the WebSocket server behaves; every limit has a default that is safe facing a network.

    Before the upgrade: ``handshake_timeout`` bounds the time from accepting the TCP connection to the
    101 (a silent or slow socket is closed after it); ``max_connections`` bounds the sockets held at once
    (default: the open-file limit minus 64; past it new connections get 503 and one log line);
    ``max_header_bytes`` bounds the whole request head (431 past it); ``auth_failures`` wrong or missing
    tokens from one address within ``auth_window`` seconds make that address wait out the window (429).

    During the session: ``heartbeat`` pings every so many seconds (``None``: never; else at least 50 s)
    and closes a peer whose pong is not back within half the interval; ``write_timeout`` closes a
    peer that stops reading for that long while frames wait for it; with ``rate_limit`` (messages per
    second, ``rate_burst`` at once; off by default, ``s2ws cem`` sets 100) frames past the rate wait in
    the socket (every one is still answered, in order), and a peer held back without a pause for
    ``rate_close_after`` seconds (``None``: never) is sent SessionRequest TERMINATE with the reason
    and closed with 1008; ``close_timeout`` bounds the closing handshake.
    """

    path: str = "/"
    """URL path of the WebSocket endpoint."""
    token: TokenCheck = None
    """No check, one fixed bearer token, or a verifier ``token -> bool`` (sync or async)."""
    ssl: ssl_module.SSLContext | None = None
    """Serve ``wss://`` with this context."""
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    """Largest frame accepted (inclusive); a larger one closes the socket with 1009."""
    heartbeat: float | None = DEFAULT_HEARTBEAT
    compress: bool = True
    """Accept permessage-deflate when a client offers it (the server never asks for it)."""
    cork: bool = True
    """Hold a burst of frames written in one loop turn until the turn ends (full TCP segments)."""
    close_timeout: float = 5.0
    handshake_timeout: float = 10.0
    max_connections: int | None = None
    max_header_bytes: int = 16 * 1024
    write_timeout: float | None = 30.0
    rate_limit: float | None = None
    rate_burst: int = 200
    rate_close_after: float | None = 10.0
    auth_failures: int = 10
    auth_window: float = 60.0

    def __post_init__(self) -> None:
        if not isinstance(self.path, str) or not self.path.startswith("/"):
            raise TransportConfigError(f"path must start with '/', got {self.path!r}")
        check_max_frame_bytes(self.max_frame_bytes)
        object.__setattr__(self, "heartbeat", check_heartbeat(self.heartbeat))
        for name in ("close_timeout", "handshake_timeout", "auth_window"):
            _positive(name, getattr(self, name))
        _positive("write_timeout", self.write_timeout, optional=True)
        _positive("rate_limit", self.rate_limit, optional=True)
        _positive("rate_close_after", self.rate_close_after, optional=True)
        _positive("max_connections", self.max_connections, optional=True, integer=True)
        for name in ("max_header_bytes", "rate_burst", "auth_failures"):
            _positive(name, getattr(self, name), integer=True)
        object.__setattr__(self, "compress", bool(self.compress))
        object.__setattr__(self, "cork", bool(self.cork))

    @property
    def connection_limit(self) -> int:
        """``max_connections``, or the default derived from the open-file limit."""
        return self.max_connections if self.max_connections is not None else default_max_connections()


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientOptions(_Options):
    """How the WebSocket client connects and behaves.

    TLS: at most one of ``ssl`` (a ready context), ``ca_file`` (a private CA, the S2 Connect pinned
    root) and ``pinned_sha256`` (the server leaf's fingerprint); none: the system CAs. ``compress``
    offers permessage-deflate (off: S2 frames are small, deflate costs CPU per frame and about
    100 KiB of zlib state per connection; turn it on for a slow or metered link). ``heartbeat`` and
    ``write_timeout`` work as on the server; ``connect_timeout`` bounds one attempt up to the 101.
    """

    token: str | None = None
    """Bearer token sent on the upgrade (with an endpoint provider, the provider gives it)."""
    ssl: ssl_module.SSLContext | None = None
    ca_file: StrPath | None = None
    pinned_sha256: str | bytes | None = None
    reconnect: ReconnectPolicy | None = field(default_factory=ReconnectPolicy)
    """When and how fast to reconnect; ``None``: one session only."""
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    heartbeat: float | None = DEFAULT_HEARTBEAT
    headers: Mapping[str, str] = field(default_factory=dict)
    """Extra HTTP headers on the upgrade request."""
    compress: bool = False
    cork: bool = True
    connect_timeout: float = 30.0
    close_timeout: float = 5.0
    write_timeout: float | None = 30.0

    def __post_init__(self) -> None:
        given = [name for name in ("ssl", "ca_file", "pinned_sha256") if getattr(self, name) is not None]
        if len(given) > 1:
            raise TransportConfigError(f"give at most one of ssl, ca_file, pinned_sha256 (got {', '.join(given)})")
        check_max_frame_bytes(self.max_frame_bytes)
        object.__setattr__(self, "heartbeat", check_heartbeat(self.heartbeat))
        object.__setattr__(self, "headers", dict(self.headers))
        for name in ("connect_timeout", "close_timeout"):
            _positive(name, getattr(self, name))
        _positive("write_timeout", self.write_timeout, optional=True)
        object.__setattr__(self, "compress", bool(self.compress))
        object.__setattr__(self, "cork", bool(self.cork))
