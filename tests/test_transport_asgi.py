"""The raw ASGI app with a hand-written ASGI server double; a real uvicorn loopback when it is installed."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

import aiohttp
import pytest

from s2ws.errors import TransportConfigError
from s2ws.transport import asgi_app
from transport_fakes import Events, Factory

Message = MutableMapping[str, Any]


class FakeAsgiServer:
    """Both ends of one ASGI connection: what the app receives, and what it sent."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.outbox: asyncio.Queue[Message] = asyncio.Queue()

    async def receive(self) -> Message:
        return await self.inbox.get()

    async def send(self, message: Message) -> None:
        await self.outbox.put(message)

    async def sent(self) -> Message:
        return await self.outbox.get()


def ws_scope(token: str | None = None, *, deny_extension: bool = True) -> dict[str, Any]:
    headers = [(b"host", b"cem.local")]
    if token is not None:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    return {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "path": "/s2",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "extensions": {"websocket.http.response": {}} if deny_extension else {},
    }


async def test_http_requests_get_404() -> None:
    app = asgi_app(Factory())
    peer = FakeAsgiServer()
    async with asyncio.timeout(5):
        await app({"type": "http", "path": "/", "headers": []}, peer.receive, peer.send)
        start = await peer.sent()
        assert start["type"] == "http.response.start" and start["status"] == 404
        assert (await peer.sent())["type"] == "http.response.body"


async def test_lifespan_is_acknowledged() -> None:
    app = asgi_app(Factory())
    peer = FakeAsgiServer()
    async with asyncio.timeout(5):
        task = asyncio.create_task(app({"type": "lifespan"}, peer.receive, peer.send))
        await peer.inbox.put({"type": "lifespan.startup"})
        assert (await peer.sent())["type"] == "lifespan.startup.complete"
        await peer.inbox.put({"type": "lifespan.shutdown"})
        assert (await peer.sent())["type"] == "lifespan.shutdown.complete"
        await task


async def test_session_over_asgi_frames_flow_and_disconnect_closes_engine() -> None:
    factory = Factory("server")
    events = Events()
    app = asgi_app(factory, token="s3cret", on_event=events)
    peer = FakeAsgiServer()
    async with asyncio.timeout(5):
        task = asyncio.create_task(app(ws_scope("s3cret"), peer.receive, peer.send))
        await peer.inbox.put({"type": "websocket.connect"})
        assert await peer.sent() == {"type": "websocket.accept"}
        assert await peer.sent() == {"type": "websocket.send", "text": "hello"}
        await peer.inbox.put({"type": "websocket.receive", "text": "frame"})
        assert await peer.sent() == {"type": "websocket.send", "text": "echo:frame"}
        await peer.inbox.put({"type": "websocket.receive", "bytes": b"\x01"})
        assert await peer.sent() == {"type": "websocket.send", "text": "binary:01"}
        await peer.inbox.put({"type": "websocket.disconnect", "code": 1000})
        await task
    engine = factory.engines[0]
    assert engine.close_reason == "peer closed"
    connection = factory.connections[0]
    assert connection.token == "s3cret" and connection.remote == "127.0.0.1:50000" and connection.url == "/s2"
    assert events.seen[-1][1] == ("closed", "peer closed")


@pytest.mark.parametrize("token", ["wrong", None])
async def test_refused_token_gets_401_when_the_server_can_send_it(token: str | None) -> None:
    factory = Factory()
    app = asgi_app(factory, token="s3cret")
    peer = FakeAsgiServer()
    async with asyncio.timeout(5):
        await peer.inbox.put({"type": "websocket.connect"})
        await app(ws_scope(token), peer.receive, peer.send)
        start = await peer.sent()
        assert start["type"] == "websocket.http.response.start"
        assert start["status"] == 401
        assert dict(start["headers"])[b"www-authenticate"].startswith(b"Bearer")
        assert (await peer.sent())["type"] == "websocket.http.response.body"
    assert factory.engines == []


async def test_refused_token_closes_with_1008_without_the_extension() -> None:
    app = asgi_app(Factory(), token="s3cret")
    peer = FakeAsgiServer()
    async with asyncio.timeout(5):
        await peer.inbox.put({"type": "websocket.connect"})
        await app(ws_scope("wrong", deny_extension=False), peer.receive, peer.send)
        closing = await peer.sent()
        assert closing["type"] == "websocket.close" and closing["code"] == 1008


@pytest.mark.parametrize("frame", ["x" * 65, "é" * 33, b"\x00" * 65])
async def test_oversized_frame_closes_with_1009(frame: str | bytes) -> None:
    app = asgi_app(Factory(), max_frame_bytes=64)
    peer = FakeAsgiServer()
    async with asyncio.timeout(5):
        task = asyncio.create_task(app(ws_scope(), peer.receive, peer.send))
        await peer.inbox.put({"type": "websocket.connect"})
        assert (await peer.sent())["type"] == "websocket.accept"
        assert (await peer.sent())["text"] == "hello"
        key = "text" if isinstance(frame, str) else "bytes"
        await peer.inbox.put({"type": "websocket.receive", key: frame})
        closing = await peer.sent()
        assert closing["type"] == "websocket.close" and closing["code"] == 1009
        await task


async def test_close_stops_live_sessions_with_1001() -> None:
    factory = Factory()
    app = asgi_app(factory)
    peer = FakeAsgiServer()
    async with asyncio.timeout(5):
        task = asyncio.create_task(app(ws_scope(), peer.receive, peer.send))
        await peer.inbox.put({"type": "websocket.connect"})
        assert (await peer.sent())["type"] == "websocket.accept"
        assert (await peer.sent())["text"] == "hello"
        closer = asyncio.create_task(app.close())
        closing = await peer.sent()
        assert closing["type"] == "websocket.close" and closing["code"] == 1001
        await closer
        await task
    assert factory.engines[0].close_reason == "server shutting down"


def test_frame_cap_is_checked() -> None:
    with pytest.raises(TransportConfigError):
        asgi_app(Factory(), max_frame_bytes=0)


async def test_real_uvicorn_loopback() -> None:
    uvicorn = pytest.importorskip("uvicorn", reason="uvicorn is not installed; the ASGI app is tested with a double")
    factory = Factory("server")
    app = asgi_app(factory, token="s3cret")
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", ws_ping_interval=None, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(20):
            while not server.started:
                await asyncio.sleep(0.01)
            port = server.servers[0].sockets[0].getsockname()[1]
            url = f"ws://127.0.0.1:{port}/s2"
            async with aiohttp.ClientSession() as http:
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await http.ws_connect(url, headers={"Authorization": "Bearer wrong"})
                assert refused.value.status in (401, 403)  # 401 where the server supports the deny extension
                async with http.ws_connect(url, headers={"Authorization": "Bearer s3cret"}) as ws:
                    assert await ws.receive_str() == "hello"
                    await ws.send_str("hi")
                    assert await ws.receive_str() == "echo:hi"
    finally:
        server.should_exit = True
        async with asyncio.timeout(10):  # a hang or a crash while shutting down fails the test
            await task
    assert task.exception() is None and not server.servers[0].is_serving()
