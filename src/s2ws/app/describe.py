"""The one-line text the application logs when something it tried to send was refused."""

from __future__ import annotations

from ..errors import S2Error

__all__ = ["describe_error"]


def describe_error(exc: BaseException) -> str:
    """One line for a refusal: the exception's own text, which names rule, pointer and reason."""
    return f"{type(exc).__name__}: {exc}" if not isinstance(exc, S2Error) else str(exc)
