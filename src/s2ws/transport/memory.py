"""Two channels joined back to back in memory: pair tests of CEM and RM without sockets."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ..errors import ChannelClosed
from .channel import CLOSE_NORMAL

__all__ = ["MemoryChannel", "memory_pair"]


@dataclass(frozen=True, slots=True)
class _Close:
    code: int
    reason: str


class MemoryChannel:
    """One end of a :func:`memory_pair`. Frames arrive in order; closing one end closes the other."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._inbox: asyncio.Queue[str | bytes | _Close] = asyncio.Queue()
        self._peer: MemoryChannel | None = None
        self._closed = False
        self._close_code: int | None = None
        self.close_reason: str | None = None

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def close_code(self) -> int | None:
        return self._close_code

    async def send_text(self, text: str) -> None:
        self._deliver(text)

    async def send_bytes(self, data: bytes) -> None:
        """A binary frame, for tests of peers that send them (S2 itself is text only)."""
        self._deliver(bytes(data))

    def _deliver(self, frame: str | bytes) -> None:
        if self._closed or self._peer is None or self._peer._closed:
            raise ChannelClosed(f"memory channel {self.name} is closed")
        self._peer._inbox.put_nowait(frame)

    async def receive(self) -> str | bytes | None:
        if self._closed and self._inbox.empty():
            return None
        item = await self._inbox.get()
        if isinstance(item, _Close):
            self._mark_closed(item.code, item.reason)
            return None
        return item

    async def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        if self._closed:
            return
        self._mark_closed(code, reason)
        self._inbox.put_nowait(_Close(code, reason))  # wakes our own pending receive
        if self._peer is not None and not self._peer._closed:
            self._peer._inbox.put_nowait(_Close(code, reason))

    def _mark_closed(self, code: int, reason: str) -> None:
        if not self._closed:
            self._closed = True
            self._close_code = code
            self.close_reason = reason

    def __repr__(self) -> str:
        return f"<MemoryChannel {self.name} closed={self._closed}>"


def memory_pair(names: tuple[str, str] = ("a", "b")) -> tuple[MemoryChannel, MemoryChannel]:
    """Two connected channels: what one sends, the other receives."""
    a, b = MemoryChannel(names[0]), MemoryChannel(names[1])
    a._peer, b._peer = b, a
    return a, b
