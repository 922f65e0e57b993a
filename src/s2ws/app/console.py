"""What the long-running commands (``s2ws cem``, ``s2ws rm simulate``, ``s2ws demo``) share:
stopping on SIGINT/SIGTERM or after a duration, the live log's clock, logging, HOST:PORT.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from ..transcripts import DEFAULT_KEEP, DEFAULT_MAX_BYTES
from .live_log import LiveLog
from .observe import Observer
from .recorder import Recorder

__all__ = [
    "Stopper",
    "configure_logging",
    "observers_for",
    "parse_listen",
    "parse_origin",
    "ticking",
]


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) as (host, port); ValueError says what is wrong."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT (port 0-65535, 0 picks a free one), got {value!r}")
    return host.removeprefix("[").removesuffix("]"), int(port)


def parse_origin(value: str | None) -> datetime | None:
    """An ISO 8601 instant (naive means UTC) for ``--origin``; None stays None."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"expected an ISO 8601 time such as 2026-03-20T00:00:00Z, got {value!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def configure_logging(verbose: int) -> None:
    """Warnings (refused connections, unanswered messages) on stderr; -v info, -vv debug."""
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


class Stopper:
    """Set by SIGINT/SIGTERM (once: a second signal gets the default behaviour) or a deadline."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.reason = ""
        self._installed: list[signal.Signals] = []

    def install(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self._on_signal, sig)
            except (NotImplementedError, RuntimeError):  # not the main thread, or no signal support
                continue
            self._installed.append(sig)

    def uninstall(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in self._installed:
            loop.remove_signal_handler(sig)
        self._installed.clear()

    def _on_signal(self, sig: signal.Signals) -> None:
        self.stop(sig.name)
        self.uninstall()  # a second Ctrl-C interrupts for real

    def stop(self, reason: str) -> None:
        if not self.event.is_set():
            self.reason = reason
            self.event.set()

    async def wait(self, duration: float | None = None, *also: asyncio.Future[Any]) -> str:
        """Wait for a signal, ``duration`` seconds, or any of ``also`` to finish; say which."""
        waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(self.event.wait()), *also]
        try:
            done, _ = await asyncio.wait(waiters, timeout=duration, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiters[0].cancel()
        if self.event.is_set():
            return self.reason
        if not done:
            self.stop(f"--duration {duration:g} s elapsed")
            return self.reason
        return "finished"


def observers_for(
    live_log: LiveLog | None, record: str | None, *, max_bytes: int = DEFAULT_MAX_BYTES, keep: int = DEFAULT_KEEP
) -> list[Observer]:
    """The live log (when wanted) and the transcript recorder (with ``--record``, rotated by size)."""
    found: list[Observer] = []
    if live_log is not None:
        found.append(live_log)
    if record:
        found.append(Recorder(record, max_bytes=max_bytes, keep=keep))
    return found


@contextlib.asynccontextmanager
async def ticking(live_logs: Sequence[LiveLog], interval: float = 0.2) -> AsyncIterator[None]:
    """Keep the live logs printing lines that wait in vain for an answer."""

    async def tick() -> None:
        while True:
            await asyncio.sleep(interval)
            for live_log in live_logs:
                live_log.tick()

    task = asyncio.create_task(tick()) if live_logs else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def say(text: str, stream: TextIO | None = None) -> None:
    """A status line of the command itself (not of the conversation), flushed at once."""
    out = stream if stream is not None else sys.stdout
    out.write(text + "\n")
    out.flush()
