"""Limits shared by every transport, checked once so that a bad value fails where it is given."""

from __future__ import annotations

from ..errors import TransportConfigError

__all__ = ["DEFAULT_MAX_FRAME_BYTES", "MIN_HEARTBEAT", "check_heartbeat", "check_max_frame_bytes"]

MIN_HEARTBEAT = 50.0
"""S2 over WebSockets: do not send pings more often than every 50 s."""

DEFAULT_MAX_FRAME_BYTES = 1024 * 1024
"""Generous for the largest S2 messages (1000-transition descriptions), small enough to refuse abuse."""


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
