"""One session's queue of application coroutines, run one at a time so handlers never interleave.

The transport hands events over synchronously; whatever the application does about them in async
code waits its turn here, so a slow handler delays only its own session and never the driver.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from ..errors import SessionClosedError

__all__ = ["SessionWorker"]

log = logging.getLogger("s2ws.app")


class SessionWorker:
    """Runs one session's application coroutines one at a time, in the order they were queued."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: deque[tuple[str, Callable[[], Awaitable[object]]]] = deque()
        self._task: asyncio.Task[None] | None = None

    def submit(self, what: str, job: Callable[[], Awaitable[object]]) -> None:
        self._jobs.append((what, job))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"s2ws worker {self.name}")

    async def _run(self) -> None:
        while self._jobs:
            what, job = self._jobs.popleft()
            try:
                await job()
            except SessionClosedError as exc:
                log.info("%s: %s stopped: %s", self.name, what, exc)
            except Exception:
                log.exception("%s: %s failed", self.name, what)

    async def join(self, timeout: float) -> None:
        """Let queued work finish for up to ``timeout`` seconds, then cancel what is left."""
        task = self._task
        if task is None or task.done():
            return
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            self._jobs.clear()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
