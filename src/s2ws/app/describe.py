"""The one-line text the application logs when something it tried to send was refused, and the
rate-limited line it logs when its own code failed on something a peer sent."""

from __future__ import annotations

import logging
import time

from ..errors import S2Error
from ..transport.guard import LogLimiter

__all__ = ["describe_error", "log_fault"]

_limiters: dict[str, LogLimiter] = {}


def describe_error(exc: BaseException) -> str:
    """One line for a refusal: the exception's own text, which names rule, pointer and reason."""
    return f"{type(exc).__name__}: {exc}" if not isinstance(exc, S2Error) else str(exc)


def log_fault(logger: logging.Logger, key: str, exc: BaseException, message: str, *args: object) -> None:
    """Log a failure of our code on a peer's message (with its traceback) at most once a minute per
    ``key``: a peer repeating the message that triggers it cannot flood the log."""
    limiter = _limiters.get(logger.name)
    if limiter is None:
        limiter = _limiters[logger.name] = LogLimiter(logger, interval=60.0)
    limiter.log(logging.ERROR, key, time.monotonic(), message, *args, exc_info=exc)
