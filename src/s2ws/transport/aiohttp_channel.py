"""Channel adapter for aiohttp's server and client WebSockets (they share the needed methods).

When a task writes a second frame before the event loop turns (a pipelining peer's answers, a
burst of statuses), the socket is corked (Linux ``TCP_CORK``) until the loop turns, so the rest
of the burst leaves in full segments instead of one packet per frame. On loopback each packet
also costs the sender the receiver's wakeup, which is most of what separates a session from a
bare echo. A lone frame (request and answer, one at a time) is written at once, as without
corking, and the cork is always pulled with ``call_soon``, before the loop next waits for I/O.
Where the option does not exist (another OS, a Unix socket) frames are written as they come.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientError, ClientWebSocketResponse, WSMessage, WSMsgType, web

from ..errors import ChannelClosed
from .channel import CLOSE_NORMAL, SKIP, close_reason_bytes

__all__ = ["AiohttpChannel"]

_TCP_CORK: int | None = getattr(socket, "TCP_CORK", None)


class AiohttpChannel:
    """Text frames as ``str``, binary frames as ``bytes``; close, closing and errors all read as ``None``.

    Pings and pongs are answered by aiohttp (``autoping``); an oversized frame makes aiohttp close the
    socket with 1009 and ``receive`` return ``None``. ``cork=False`` writes every frame at once.
    """

    __slots__ = ("_cork_enabled", "_corked", "_sock", "_turn_open", "ws")

    def __init__(self, ws: web.WebSocketResponse | ClientWebSocketResponse, *, cork: bool = True) -> None:
        self.ws = ws
        self._cork_enabled = cork and _TCP_CORK is not None
        self._sock: Any = None  # resolved at the first write: the socket exists once the upgrade is done
        self._turn_open = False  # a frame was written since the loop last turned
        self._corked = False

    @property
    def close_code(self) -> int | None:
        return self.ws.close_code

    async def send_text(self, text: str) -> None:
        if self.ws.closed:
            raise ChannelClosed("WebSocket is closed")
        if self._cork_enabled and not self._corked:
            if self._turn_open:
                self._cork()  # the second frame of this turn: hold the rest until the loop turns
            else:
                self._turn_open = True
                asyncio.get_running_loop().call_soon(self._end_turn)
        try:
            await self.ws.send_str(text)
        except (ConnectionError, ClientError, RuntimeError) as exc:
            raise ChannelClosed(f"WebSocket write failed: {exc}") from exc

    async def receive(self) -> str | bytes | None:
        while True:
            data = self.unwrap(await self.ws.receive())
            if data is not SKIP:
                return data  # type: ignore[return-value]

    @property
    def receive_message(self) -> Callable[[], Awaitable[WSMessage]]:
        """The WebSocket's own ``receive``: the driver awaits it directly (see ``channel.SKIP``)."""
        return self.ws.receive

    @staticmethod
    def unwrap(msg: WSMessage) -> str | bytes | object | None:
        """What ``receive`` returns for ``msg``, or ``SKIP``."""
        if msg.type is WSMsgType.TEXT:
            return str(msg.data)
        if msg.type is WSMsgType.BINARY:
            return bytes(msg.data)
        if msg.type in (WSMsgType.PING, WSMsgType.PONG):
            return SKIP  # only seen with autoping off
        return None  # CLOSE, CLOSING, CLOSED, ERROR

    async def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        self._end_turn()
        if not self.ws.closed:
            await self.ws.close(code=code, message=close_reason_bytes(reason))

    def abort(self) -> None:
        """Drop the connection without a closing handshake (a peer that does not read would not see it)."""
        transport = getattr(getattr(self.ws, "_writer", None), "transport", None)
        if transport is not None:
            transport.abort()

    def _cork(self) -> None:
        """Hold the frames written until the turn ends; give up corking for good on any failure."""
        assert _TCP_CORK is not None
        sock = self._sock
        if sock is None:
            sock = self._sock = self.ws.get_extra_info("socket")
            if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
                self._cork_enabled = False
                return
        try:
            sock.setsockopt(socket.IPPROTO_TCP, _TCP_CORK, 1)
        except (OSError, ValueError):
            self._cork_enabled = False
            return
        self._corked = True

    def _end_turn(self) -> None:
        """The loop turned (or the channel closes): send what the cork holds."""
        self._turn_open = False
        if not self._corked:
            return
        self._corked = False
        try:
            self._sock.setsockopt(socket.IPPROTO_TCP, _TCP_CORK, 0)
        except (OSError, ValueError):  # the socket is gone: nothing is held any more
            self._cork_enabled = False
