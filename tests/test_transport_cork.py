"""Corking a burst of frames: held while the loop runs the burst, sent when it turns, never
for a lone frame, and never when the socket cannot be corked. Real sockets, 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import socket
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from s2ws.transport import Client, serve
from s2ws.transport.aiohttp_channel import AiohttpChannel
from transport_fakes import Factory

TCP_CORK: int | None = getattr(socket, "TCP_CORK", None)
needs_cork = pytest.mark.skipif(TCP_CORK is None, reason="TCP_CORK is a Linux socket option; not on this OS")


class Served:
    """The server side's channel (built by the test's factory) and the client's WebSocket."""

    def __init__(self, channel: AiohttpChannel, client: aiohttp.ClientWebSocketResponse) -> None:
        self.channel = channel
        self.client = client

    def corked(self) -> bool:
        assert TCP_CORK is not None
        sock = self.channel.ws.get_extra_info("socket")
        return bool(sock.getsockopt(socket.IPPROTO_TCP, TCP_CORK))

    async def texts(self, n: int) -> list[str]:
        out = []
        for _ in range(n):
            msg = await self.client.receive()
            assert msg.type is aiohttp.WSMsgType.TEXT, msg
            out.append(msg.data)
        return out


@asynccontextmanager
async def served(
    make: Callable[[web.WebSocketResponse], AiohttpChannel] = AiohttpChannel, unix: Path | None = None
) -> AsyncIterator[Served]:
    channels: asyncio.Queue[AiohttpChannel] = asyncio.Queue()

    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await channels.put(make(ws))
        async for _ in ws:  # until the client closes (the tests only write from this side)
            pass
        return ws

    app = web.Application()
    app.router.add_get("/", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site: web.BaseSite
    connector: aiohttp.BaseConnector | None = None
    if unix is None:
        site = web.TCPSite(runner, "127.0.0.1", 0)
    else:
        site = web.UnixSite(runner, str(unix))
        connector = aiohttp.UnixConnector(path=str(unix))
    await site.start()
    url = "http://localhost/" if unix else f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/"  # type: ignore[union-attr]
    try:
        async with (
            asyncio.timeout(10),
            aiohttp.ClientSession(connector=connector) as http,
            http.ws_connect(url) as client,
        ):
            yield Served(await channels.get(), client)
    finally:
        await runner.cleanup()


@needs_cork
async def test_a_burst_is_corked_until_the_loop_turns_and_arrives_in_order() -> None:
    async with served() as s:
        await s.channel.send_text("a")
        assert not s.corked()  # a lone frame goes out at once
        await s.channel.send_text("b")
        assert s.corked()  # the second frame of the turn: the rest of the burst is held
        for text in "cdef":
            await s.channel.send_text(text)
        assert s.corked()
        await asyncio.sleep(0)  # the loop turns
        assert not s.corked()
        assert await s.texts(6) == list("abcdef")


@needs_cork
async def test_one_frame_per_turn_is_never_corked() -> None:
    async with served() as s:
        for text in "abc":
            await s.channel.send_text(text)
            assert not s.corked()
            await asyncio.sleep(0)
        assert await s.texts(3) == list("abc")


@needs_cork
async def test_cork_false_writes_every_frame_at_once() -> None:
    def uncorked(ws: web.WebSocketResponse) -> AiohttpChannel:
        return AiohttpChannel(ws, cork=False)

    async with served(uncorked) as s:
        for text in "abc":
            await s.channel.send_text(text)
            assert not s.corked()
        assert await s.texts(3) == list("abc")


@needs_cork
async def test_closing_sends_what_the_cork_holds_before_the_close_frame() -> None:
    async with served() as s:
        await s.channel.send_text("a")
        await s.channel.send_text("b")
        assert s.corked()
        await s.channel.close(4000, "bye")
        assert await s.texts(2) == ["a", "b"]
        msg = await s.client.receive()
        assert msg.type is aiohttp.WSMsgType.CLOSE and msg.data == 4000 and msg.extra == "bye"


async def test_a_socket_that_cannot_be_corked_writes_as_frames_come() -> None:
    if not hasattr(socket, "AF_UNIX"):
        pytest.skip("no Unix sockets on this OS")
    made: list[AiohttpChannel] = []

    def keep(ws: web.WebSocketResponse) -> AiohttpChannel:
        made.append(AiohttpChannel(ws))
        return made[-1]

    with tempfile.TemporaryDirectory() as tmp:
        async with served(keep, unix=Path(tmp) / "s2.sock") as s:
            for text in "abc":  # one turn: would be corked over TCP
                await s.channel.send_text(text)
            assert await s.texts(3) == list("abc")
            assert made[0]._cork_enabled is False  # found out once, then never tried again


@needs_cork
async def test_a_closed_socket_does_not_break_the_turns_end(monkeypatch: pytest.MonkeyPatch) -> None:
    async with served() as s:
        await s.channel.send_text("a")
        await s.channel.send_text("b")
        sock: Any = s.channel._sock

        def gone(*args: object) -> None:
            raise OSError(9, "Bad file descriptor")

        monkeypatch.setattr(s.channel, "_sock", type("Gone", (), {"setsockopt": gone, "family": sock.family})())
        await asyncio.sleep(0)  # the turn ends: uncorking fails quietly and corking is off for good
        assert s.channel._cork_enabled is False and not s.channel._corked
        monkeypatch.setattr(s.channel, "_sock", sock)
        sock.setsockopt(socket.IPPROTO_TCP, TCP_CORK, 0)  # what the closed socket would no longer hold
        assert await s.texts(2) == ["a", "b"]


@pytest.mark.parametrize("cork", [True, False])
async def test_server_and_client_pass_the_cork_option_to_their_channels(cork: bool) -> None:
    server_factory, client_factory = Factory("server"), Factory("client")
    server = await serve(server_factory, cork=cork)
    client = Client(server.url(), client_factory, reconnect=None, cork=cork)
    task = asyncio.create_task(client.run())
    try:
        async with asyncio.timeout(10):
            while not (server_factory.connections and client_factory.connections):
                await asyncio.sleep(0.005)
            for connection in (server_factory.connections[0], client_factory.connections[0]):
                while connection._driver is None:
                    await asyncio.sleep(0.005)
                channel = connection._driver.channel
                assert isinstance(channel, AiohttpChannel)
                assert channel._cork_enabled is (cork and TCP_CORK is not None)
            client.close()
            await task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await server.close()
