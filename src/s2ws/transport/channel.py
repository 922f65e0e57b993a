"""The one interface the driver writes to: a message-oriented, closable duplex of WebSocket frames.

Every socket library (aiohttp server and client, ASGI, an in-memory pair) gets a small adapter, so the
driver is written once and tested without sockets.
"""

from __future__ import annotations

from typing import Final, Protocol

__all__ = [
    "CLOSE_GOING_AWAY",
    "CLOSE_INTERNAL_ERROR",
    "CLOSE_NORMAL",
    "CLOSE_POLICY_VIOLATION",
    "CLOSE_TOO_BIG",
    "SKIP",
    "Channel",
    "close_reason_bytes",
]

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY_VIOLATION = 1008
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL_ERROR = 1011

SKIP: Final = object()
"""What a channel's optional ``unwrap`` returns for a socket message that is no frame for the engine.

A channel may lend the driver its socket's own ``receive_message`` (awaited directly, one coroutine
less per idle session) with ``unwrap`` turning each message into what ``receive`` would have returned
(a frame, ``None`` when closed) or ``SKIP``."""

_MAX_CLOSE_REASON = 123  # RFC 6455 §5.5: control frame payload 125 bytes, minus the 2-byte code


class Channel(Protocol):
    """Frames of one WebSocket. ``receive`` returns ``None`` once the socket is closed, by either side."""

    @property
    def close_code(self) -> int | None:
        """The close code once closed (the peer's, or our own), else ``None``."""
        ...

    async def send_text(self, text: str) -> None:
        """Write one text frame; raises ``ChannelClosed`` when the socket is gone."""
        ...

    async def receive(self) -> str | bytes | None:
        """The next text (``str``) or binary (``bytes``) frame; ``None`` when closed."""
        ...

    async def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        """Close gracefully (close handshake); a no-op when already closed."""
        ...


def close_reason_bytes(reason: str) -> bytes:
    """The close reason cut to what fits in a close frame, without splitting a UTF-8 sequence."""
    return reason.encode("utf-8")[:_MAX_CLOSE_REASON].decode("utf-8", "ignore").encode("utf-8")
