"""Run cases against peers started in-process: a fresh peer for every case, on 127.0.0.1.

``start_rm(url)`` starts an RM that connects to ``url`` and returns a coroutine function that
stops it; ``start_cem()`` starts a CEM and returns its URL and the same kind of stopper. The pytest
plugin builds on these; so can any test runner. :class:`FrameLog` is an observer that keeps what
an s2ws CEM or RM exchanged, for tests that assert on what was received.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ..app.observe import Frame, Observer
from .cases import Case, CaseContext
from .runner import CaseResult, Dialer, Listener, run_case

__all__ = [
    "FrameLog",
    "StartCEM",
    "StartRM",
    "Stop",
    "run_against_cem",
    "run_against_rm",
    "simulated_rm",
]

Stop = Callable[[], Awaitable[None]]
StartRM = Callable[[str], Awaitable[Stop]]
StartCEM = Callable[[], Awaitable[tuple[str, Stop]]]


async def run_against_rm(
    case: Case, start_rm: StartRM, *, profile: str = "0.0.2-beta", timeout: float = 5.0, allowance: float = 1.0
) -> CaseResult:
    """One RM case: listen on a free port, start a fresh RM toward it, run the case, stop the RM."""
    async with Listener("127.0.0.1", 0) as listener:
        stop = await start_rm(listener.url)
        try:
            return await run_case(case, listener, CaseContext(profile, allowance), timeout=timeout)
        finally:
            await stop()


async def run_against_cem(
    case: Case, start_cem: StartCEM, *, profile: str = "0.0.2-beta", timeout: float = 5.0, allowance: float = 1.0
) -> CaseResult:
    """One CEM case: start a fresh CEM, connect to it, run the case, stop the CEM."""
    url, stop = await start_cem()
    try:
        async with Dialer(url) as dialer:
            return await run_case(case, dialer, CaseContext(profile, allowance), timeout=timeout)
    finally:
        await stop()


def simulated_rm(device: str, **options: Any) -> StartRM:
    """A ``start_rm`` for one of s2ws's simulators (``DeviceRM(device)``), reconnecting quickly."""

    async def start(url: str) -> Stop:
        from ..app.device_rm import DeviceRM
        from ..transport.backoff import ReconnectPolicy

        rm = DeviceRM(device, interval=timedelta(seconds=5), **options)
        policy = ReconnectPolicy(initial=0.05, max=0.5, stop_on_terminate=False, stop_on_refusal=False)
        task = asyncio.ensure_future(rm.run(url, reconnect=policy))

        async def stop() -> None:
            await rm.close("test over")
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

        return stop

    return start


@dataclass(eq=False)
class FrameLog(Observer):
    """Every frame an s2ws CEM or RM saw, with the messages it received parsed for assertions."""

    frames: list[Frame] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def frame(self, frame: Frame) -> None:
        self.frames.append(frame)
        self._changed.set()

    def received(self, message_type: str | None = None) -> list[dict[str, Any]]:
        """Messages that arrived from the peer (parsed JSON objects), optionally of one type."""
        out = []
        for frame in self.frames:
            if frame.outgoing:
                continue
            try:
                message = json.loads(frame.text)
            except ValueError:
                continue
            if isinstance(message, dict) and message_type in (None, message.get("message_type")):
                out.append(message)
        return out

    async def wait_for(self, message_type: str, timeout: float = 5.0) -> dict[str, Any]:
        """The first received message of ``message_type``, waiting up to ``timeout`` seconds for it."""
        async with asyncio.timeout(timeout):
            while True:
                found = self.received(message_type)
                if found:
                    return found[0]
                self._changed.clear()
                await self._changed.wait()
