"""The session engine as the transports see it, and the connection a session factory is given.

The transports drive any object with the sans-I/O session shape, so they do not depend on the
engine's code, and other engines (a proxy, a recorder, a test fake) plug in the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Literal, Protocol

from .channel import Channel

__all__ = ["Connection", "EngineLike", "EventHandler", "SessionFactory", "ended_with_terminate", "make_engine"]


class EngineLike(Protocol):
    """The sans-I/O session engine: text in, text out, time passed in."""

    @property
    def closed(self) -> bool: ...

    @property
    def close_reason(self) -> str | None: ...

    def start(self, now: datetime) -> None: ...

    def receive(self, data: str | bytes, now: datetime) -> None: ...

    def data_to_send(self) -> Sequence[str]: ...

    def events(self) -> Sequence[object]: ...  # Sequence: an engine may return list[ItsEvent]

    def next_wakeup(self) -> datetime | None: ...

    def handle_timeout(self, now: datetime) -> None: ...

    def close(self, reason: str, now: datetime, *, terminate: bool = False) -> None: ...


class _Runner(Protocol):
    """What a connection needs of the driver serving it (the driver satisfies it; no import needed)."""

    channel: Channel

    def wakeup(self) -> None: ...

    def stop(self, code: int = ..., reason: str = ...) -> None: ...


class Connection:
    """One WebSocket as the application sees it: who is on the other end, and a handle on its driver.

    A session factory receives it before the upgrade completes, so it can pick an engine per peer or
    token. Code outside the driver that makes the engine queue frames (a timer, a planner) calls
    ``wakeup()`` so that the driver writes them; it must be called on the event loop's thread.
    """

    # one per session: slots instead of an instance dict
    __slots__ = ("_driver", "_pending_stop", "attempt", "engine", "headers", "remote", "side", "token", "url")

    def __init__(
        self,
        *,
        side: Literal["server", "client"],
        url: str,
        remote: str | None = None,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
        attempt: int = 1,
    ) -> None:
        self.side = side
        self.url = url
        self.remote = remote
        self.headers: Mapping[str, str] = headers if headers is not None else {}
        """The upgrade request's headers (the server gives aiohttp's case-insensitive mapping)."""
        self.token = token
        self.attempt = attempt
        self.engine: EngineLike | None = None
        self._driver: _Runner | None = None
        self._pending_stop: tuple[int, str] | None = None

    def wakeup(self) -> None:
        """Ask the driver to write queued frames, dispatch events and look at the engine's timer again."""
        if self._driver is not None:
            self._driver.wakeup()

    def close(self, code: int = 1000, reason: str = "") -> None:
        """End the session: the engine is closed with ``reason`` and the socket with ``code``."""
        if self._driver is not None:
            self._driver.stop(code, reason)
        else:
            self._pending_stop = (code, reason)

    def _attach(self, driver: _Runner) -> None:
        self._driver = driver
        if self._pending_stop is not None:
            driver.stop(*self._pending_stop)

    def __repr__(self) -> str:
        return f"<Connection {self.side} {self.url} remote={self.remote} attempt={self.attempt}>"


SessionFactory = Callable[[Connection], "EngineLike | Awaitable[EngineLike]"]
"""Makes one engine per WebSocket; may be a coroutine function (to look a peer up, say)."""

EventHandler = Callable[[Connection, object], "Awaitable[None] | None"]
"""Receives every event the engine reports, in order, with the connection it came from."""


async def make_engine(factory: SessionFactory, connection: Connection) -> EngineLike:
    """Call a sync or async session factory and remember the engine on the connection."""
    made = factory(connection)
    engine = await made if isinstance(made, Awaitable) else made
    connection.engine = engine
    return engine


def ended_with_terminate(engine: EngineLike) -> bool:
    """Whether the session ended by a SessionRequest TERMINATE (either side), so a client should not reconnect.

    Reads the engine's ``terminated`` flag when it has one; otherwise looks for "TERMINATE" in its
    ``close_reason``.
    """
    flag = getattr(engine, "terminated", None)
    if isinstance(flag, bool):
        return flag
    return "TERMINATE" in (engine.close_reason or "")
