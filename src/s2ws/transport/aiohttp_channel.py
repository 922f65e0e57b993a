"""Channel adapter for aiohttp's server and client WebSockets (they share the needed methods)."""

from __future__ import annotations

from aiohttp import ClientError, ClientWebSocketResponse, WSMsgType, web

from ..errors import ChannelClosed
from .channel import CLOSE_NORMAL, close_reason_bytes

__all__ = ["AiohttpChannel"]


class AiohttpChannel:
    """Text frames as ``str``, binary frames as ``bytes``; close, closing and errors all read as ``None``.

    Pings and pongs are answered by aiohttp (``autoping``); an oversized frame makes aiohttp close the
    socket with 1009 and ``receive`` return ``None``.
    """

    def __init__(self, ws: web.WebSocketResponse | ClientWebSocketResponse) -> None:
        self.ws = ws

    @property
    def close_code(self) -> int | None:
        return self.ws.close_code

    async def send_text(self, text: str) -> None:
        if self.ws.closed:
            raise ChannelClosed("WebSocket is closed")
        try:
            await self.ws.send_str(text)
        except (ConnectionError, ClientError, RuntimeError) as exc:
            raise ChannelClosed(f"WebSocket write failed: {exc}") from exc

    async def receive(self) -> str | bytes | None:
        while True:
            msg = await self.ws.receive()
            if msg.type is WSMsgType.TEXT:
                return str(msg.data)
            if msg.type is WSMsgType.BINARY:
                return bytes(msg.data)
            if msg.type in (WSMsgType.PING, WSMsgType.PONG):
                continue  # only seen with autoping off
            return None  # CLOSE, CLOSING, CLOSED, ERROR

    async def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        if not self.ws.closed:
            await self.ws.close(code=code, message=close_reason_bytes(reason))
