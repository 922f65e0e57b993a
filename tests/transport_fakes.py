"""A tiny engine with the session engine's shape, and helpers shared by the transport tests (no tests here)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from s2ws.transport import Connection


class FakeEngine:
    """Says "hello" on start and echoes frames; a few frames are commands.

    "close" closes the engine; "terminate" closes it sending "TERMINATE" first; a received "TERMINATE"
    closes it as terminated; "tick" arms a timer ``tick_after`` ahead that sends "tick:N".
    """

    def __init__(self, name: str = "engine", *, greeting: str | None = "hello", tick_after: timedelta | None = None):
        self.name = name
        self.greeting = greeting
        self.tick_after = tick_after
        self.closed = False
        self.close_reason: str | None = None
        self.terminated = False
        self.received: list[str | bytes] = []
        self.timeouts: list[datetime] = []
        self.started: datetime | None = None
        self._out: list[str] = []
        self._events: list[object] = []
        self._wakeup: datetime | None = None

    def start(self, now: datetime) -> None:
        self.started = now
        if self.greeting is not None:
            self._out.append(self.greeting)
        self._events.append(("started", self.name))

    def receive(self, data: str | bytes, now: datetime) -> None:
        assert not self.closed, "receive after close"
        self.received.append(data)
        self._events.append(("frame", data))
        if data == "close":
            self.close("asked to close", now)
        elif data == "terminate":
            self.close("terminating", now, terminate=True)
        elif data == "TERMINATE":
            self.terminated = True
            self.close("peer sent TERMINATE", now)
        elif data == "tick":
            self.arm(now + (self.tick_after or timedelta(milliseconds=1)))
        elif isinstance(data, bytes):
            self._out.append(f"binary:{data.hex()}")
        else:
            self._out.append(f"echo:{data}")

    def arm(self, at: datetime | None) -> None:
        self._wakeup = at

    def push(self, text: str) -> None:
        """Queue a frame as the application would, outside the driver."""
        self._out.append(text)

    def data_to_send(self) -> list[str]:
        out, self._out = self._out, []
        return out

    def events(self) -> list[object]:
        out, self._events = self._events, []
        return out

    def next_wakeup(self) -> datetime | None:
        return self._wakeup

    def handle_timeout(self, now: datetime) -> None:
        if self._wakeup is not None and now >= self._wakeup:
            self._wakeup = None
            self.timeouts.append(now)
            self._out.append(f"tick:{len(self.timeouts)}")

    def close(self, reason: str, now: datetime, *, terminate: bool = False) -> None:
        if self.closed:
            return
        if terminate:
            self._out.append("TERMINATE")
            self.terminated = True
        self.closed = True
        self.close_reason = reason
        self._events.append(("closed", reason))


class Factory:
    """A session factory that keeps every engine and connection it made, and signals each new one."""

    def __init__(self, name: str = "engine", *, greeting: str | None = "hello") -> None:
        self.name = name
        self.greeting = greeting
        self.engines: list[FakeEngine] = []
        self.connections: list[Connection] = []
        self.made = asyncio.Event()

    def __call__(self, connection: Connection) -> FakeEngine:
        engine = FakeEngine(f"{self.name}{len(self.engines) + 1}", greeting=self.greeting)
        self.engines.append(engine)
        self.connections.append(connection)
        self.made.set()
        return engine


class Events:
    """Records events per connection and lets a test wait for one."""

    def __init__(self) -> None:
        self.seen: list[tuple[Connection, object]] = []
        self._changed = asyncio.Condition()

    async def __call__(self, connection: Connection, event: object) -> None:
        async with self._changed:
            self.seen.append((connection, event))
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[object], bool], count: int = 1) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: sum(1 for _, e in self.seen if predicate(e)) >= count)
