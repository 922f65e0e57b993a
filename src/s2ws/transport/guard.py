"""Small, clock-injected guards a server facing a network needs: rate-limited log lines, a per-address
throttle for failed tokens, and a token bucket for a session's message rate.

Each takes the time as an argument (``time.monotonic()`` in the transports), so each is tested
without sleeping, and each keeps bounded memory whatever the peers do.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from aiohttp.http_exceptions import HttpProcessingError

__all__ = ["AuthThrottle", "HttpLogFilter", "LogLimiter", "RateLimiter", "quiet_accept_errors"]


class LogLimiter:
    """At most one log line per ``key`` every ``interval`` seconds; the next says how many were dropped.

    Refusals are logged without traceback and without any part of the request beyond the peer's
    address, so a flood of bad requests costs a few lines a minute and leaks no secret.
    """

    def __init__(self, logger: logging.Logger, *, interval: float = 60.0, max_keys: int = 256) -> None:
        self._log = logger
        self._interval = interval
        self._max_keys = max_keys
        self._last: OrderedDict[str, tuple[float, int]] = OrderedDict()  # key -> (time logged, suppressed since)

    def log(
        self, level: int, key: str, now: float, message: str, *args: object, exc_info: BaseException | None = None
    ) -> bool:
        """Log ``message % args`` unless ``key`` was logged less than ``interval`` ago; True if logged.
        ``exc_info`` (a bug, not a refusal) puts its traceback on the lines that are logged."""
        seen = self._last.get(key)
        if seen is not None and now - seen[0] < self._interval:
            self._last[key] = (seen[0], seen[1] + 1)
            return False
        suppressed = seen[1] if seen is not None else 0
        self._last[key] = (now, 0)
        self._last.move_to_end(key)
        while len(self._last) > self._max_keys:
            self._last.popitem(last=False)
        if suppressed:
            message += " (%d more like this in the last %.0f s)"
            args = (*args, suppressed, self._interval)
        self._log.log(level, message, *args, exc_info=exc_info)
        return True


class AuthThrottle:
    """Counts failed token checks per source address; ``limit`` failures within ``window`` seconds
    block that address until the window has passed since its first failure (then it starts again).

    At most ``max_sources`` addresses are remembered (the oldest are forgotten), so a spray of
    addresses costs bounded memory; one address guessing gets ``limit`` tries a window.
    """

    def __init__(self, limit: int, window: float, *, max_sources: int = 4096) -> None:
        self.limit = limit
        self.window = window
        self._max_sources = max_sources
        self._failures: OrderedDict[str, tuple[float, int]] = OrderedDict()  # source -> (first failure, count)

    def blocked(self, source: str, now: float) -> float:
        """Seconds ``source`` must still wait (0.0: it may try)."""
        entry = self._failures.get(source)
        if entry is None:
            return 0.0
        first, count = entry
        if now - first >= self.window:
            del self._failures[source]
            return 0.0
        return self.window - (now - first) if count >= self.limit else 0.0

    def failed(self, source: str, now: float) -> None:
        entry = self._failures.get(source)
        if entry is None or now - entry[0] >= self.window:
            self._failures[source] = (now, 1)
        else:
            self._failures[source] = (entry[0], entry[1] + 1)
        self._failures.move_to_end(source)
        while len(self._failures) > self._max_sources:
            self._failures.popitem(last=False)

    def __len__(self) -> int:
        return len(self._failures)


class RateLimiter:
    """A token bucket: ``rate`` tokens a second, at most ``burst`` saved up.

    ``take(now)`` spends one token and returns 0.0, or returns how long to wait for the next one
    (then nothing is spent).
    """

    __slots__ = ("_level", "_rate", "_stamp", "burst")

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self._rate = rate
        self.burst = burst
        self._level = float(burst)
        self._stamp = now

    def take(self, now: float) -> float:
        if now > self._stamp:
            self._level = min(float(self.burst), self._level + (now - self._stamp) * self._rate)
            self._stamp = now
        if self._level >= 1.0:
            self._level -= 1.0
            return 0.0
        return (1.0 - self._level) / self._rate


class _AcceptErrorFilter(logging.Filter):
    """asyncio logs every ``accept()`` that fails for want of descriptors, with a traceback; keep one a minute."""

    def __init__(self) -> None:
        super().__init__()
        self._last: float | None = None
        self._suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if "out of system resource" not in str(record.msg):
            return True
        now = record.created
        if self._last is not None and now - self._last < 60.0:
            self._suppressed += 1
            return False
        record.exc_info = None
        record.exc_text = None
        record.msg = (
            f"{record.msg} (new connections wait until descriptors are free; "
            f"{self._suppressed} more like this in the last minute)"
        )
        record.args = None
        self._last, self._suppressed = now, 0
        return True


_ACCEPT_FILTER = _AcceptErrorFilter()


class HttpLogFilter(logging.Filter):
    """For aiohttp's request handler logger: one line a minute per kind of refused request.

    A malformed request (bad HTTP, an oversized header) is logged at INFO as the exception's class name
    only: no traceback and no part of the request, which may hold a token. Errors of the application
    (a failing session factory) keep their traceback, rate-limited the same way."""

    def __init__(self, interval: float = 60.0) -> None:
        super().__init__()
        self._interval = interval
        self._last: dict[str, tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        kind = type(exc).__name__ if exc is not None else str(record.msg)[:40]
        seen = self._last.get(kind)
        if seen is not None and record.created - seen[0] < self._interval:
            self._last[kind] = (seen[0], seen[1] + 1)
            return False
        if len(self._last) > 64:
            self._last.clear()
        self._last[kind] = (record.created, 0)
        suppressed = seen[1] if seen is not None else 0
        if isinstance(exc, HttpProcessingError) or (exc is None and record.levelno < logging.ERROR):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info = None
            record.exc_text = None
            record.msg = "refused a malformed HTTP request (%s)"
            record.args = (kind,)
        if suppressed:
            record.msg = f"{record.msg} (%d more like this in the last %.0f s)"
            record.args = (*(record.args if isinstance(record.args, tuple) else ()), suppressed, self._interval)
        return True


def quiet_accept_errors() -> None:
    """Rate-limit asyncio's log line for ``accept()`` at the file-descriptor limit (idempotent)."""
    logger = logging.getLogger("asyncio")
    if _ACCEPT_FILTER not in logger.filters:
        logger.addFilter(_ACCEPT_FILTER)
