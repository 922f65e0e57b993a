"""The aiohttp server on loopback: bearer tokens, the frame cap, the ping floor, shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from s2ws.errors import TransportConfigError
from s2ws.transport import Connection, Server, create_app, serve
from transport_fakes import Events, Factory


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def echo_server() -> AsyncIterator[tuple[Server, Factory]]:
    factory = Factory("server")
    server = await serve(factory, "127.0.0.1", 0, token="s3cret", max_frame_bytes=1024)
    try:
        yield server, factory
    finally:
        await server.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_right_token_is_accepted_and_frames_flow(
    echo_server: tuple[Server, Factory], http: aiohttp.ClientSession
) -> None:
    server, factory = echo_server
    async with asyncio.timeout(10), http.ws_connect(server.url(), headers=bearer("s3cret")) as ws:
        assert await ws.receive_str() == "hello"
        await ws.send_str("frame")
        assert await ws.receive_str() == "echo:frame"
        await ws.close()
    assert factory.connections[0].token == "s3cret"
    assert factory.connections[0].side == "server"


@pytest.mark.parametrize(
    "headers", [bearer("wrong"), {}, {"Authorization": "Basic czNjcmV0"}, {"Authorization": "Bearer"}]
)
async def test_wrong_or_missing_token_is_refused_before_the_upgrade(
    echo_server: tuple[Server, Factory], http: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    server, factory = echo_server
    async with asyncio.timeout(10):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(server.url(), headers=headers)
        assert refused.value.status == 401
        assert refused.value.headers is not None
        challenge = refused.value.headers.get("WWW-Authenticate", "")
        assert challenge.startswith("Bearer")
        if headers.get("Authorization", "").startswith("Bearer "):  # a token was sent, and it was wrong
            assert 'error="invalid_token"' in challenge
        # the plain HTTP view of the same refusal: 401 and no upgrade
        async with http.get(server.url().replace("ws://", "http://"), headers=headers) as response:
            assert response.status == 401
            assert "Bearer" in response.headers["WWW-Authenticate"]
    assert factory.engines == []  # no session was ever made


async def test_token_verifier_callable(http: aiohttp.ClientSession) -> None:
    seen: list[str] = []

    async def verify(token: str) -> bool:
        seen.append(token)
        return token == "one-time"

    server = await serve(Factory(), token=verify)
    try:
        async with asyncio.timeout(10):
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await http.ws_connect(server.url(), headers=bearer("other"))
            async with http.ws_connect(server.url(), headers=bearer("one-time")) as ws:
                assert await ws.receive_str() == "hello"
        assert seen == ["other", "one-time"]
    finally:
        await server.close()


@pytest.mark.parametrize("compress", [0, 15])
async def test_oversized_frame_closes_that_connection_with_1009_only(
    echo_server: tuple[Server, Factory], http: aiohttp.ClientSession, compress: int
) -> None:
    """The cap holds on the decompressed size too, so a compressed bomb is refused as well."""
    server, factory = echo_server
    async with asyncio.timeout(10):
        async with http.ws_connect(server.url(), headers=bearer("s3cret")) as bystander:
            assert await bystander.receive_str() == "hello"
            async with http.ws_connect(server.url(), headers=bearer("s3cret"), compress=compress) as ws:
                assert await ws.receive_str() == "hello"
                await ws.send_str("x" * 2048)
                message = await ws.receive()
                assert message.type is aiohttp.WSMsgType.CLOSE
                assert message.data == 1009
                assert ws.close_code == 1009
            # the other session is untouched and a new connection is served
            await bystander.send_str("still here")
            assert await bystander.receive_str() == "echo:still here"
            async with http.ws_connect(server.url(), headers=bearer("s3cret")) as again:
                assert await again.receive_str() == "hello"
                await again.send_str("y" * 1000)  # under the cap
                assert await again.receive_str() == "echo:" + "y" * 1000
    assert factory.engines[1].close_reason == "peer closed"


async def test_permessage_deflate_is_negotiated(
    echo_server: tuple[Server, Factory], http: aiohttp.ClientSession
) -> None:
    """By default the server accepts the extension when a client offers it (the standard: SHOULD)."""
    server, _ = echo_server
    async with asyncio.timeout(10), http.ws_connect(server.url(), headers=bearer("s3cret"), compress=15) as ws:
        assert ws.compress == 15
        assert await ws.receive_str() == "hello"
        await ws.send_str("x" * 500)
        assert await ws.receive_str() == "echo:" + "x" * 500


async def test_no_compression_unless_the_client_offers_it(
    echo_server: tuple[Server, Factory], http: aiohttp.ClientSession
) -> None:
    server, _ = echo_server
    async with asyncio.timeout(10), http.ws_connect(server.url(), headers=bearer("s3cret"), compress=0) as ws:
        assert ws.compress == 0
        assert await ws.receive_str() == "hello"


@pytest.mark.parametrize("build", ["serve", "create_app"])
async def test_compress_false_refuses_permessage_deflate(http: aiohttp.ClientSession, build: str) -> None:
    factory = Factory("server")
    if build == "serve":
        server = await serve(factory, compress=False)
        url, cleanup = server.url(), server.close
    else:
        runner = aiohttp.web.AppRunner(create_app(factory, compress=False))
        await runner.setup()
        site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url, cleanup = f"ws://127.0.0.1:{runner.addresses[0][1]}/", runner.cleanup
    try:
        async with asyncio.timeout(10), http.ws_connect(url, compress=15) as ws:
            assert ws.compress == 0
            assert await ws.receive_str() == "hello"
            await ws.send_str("frame")
            assert await ws.receive_str() == "echo:frame"
    finally:
        await cleanup()
    assert "permessage-deflate" in factory.connections[0].headers["sec-websocket-extensions"]


@pytest.mark.parametrize("heartbeat", [0, 1, 20, 49.9, -5])
def test_pings_more_often_than_every_50_s_are_refused(heartbeat: float) -> None:
    with pytest.raises(TransportConfigError, match="50"):
        create_app(Factory(), heartbeat=heartbeat)
    with pytest.raises(ValueError):
        create_app(Factory(), heartbeat=heartbeat)


async def test_serve_refuses_a_low_heartbeat_before_listening() -> None:
    with pytest.raises(TransportConfigError):
        await serve(Factory(), heartbeat=30)


@pytest.mark.parametrize("heartbeat", [50, None, 120.0])
async def test_heartbeat_of_50_s_or_none_reaches_the_websocket(
    heartbeat: float | None, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The configured ping interval is the one the accepted WebSocket runs with."""
    used: list[float | None] = []

    class Spy(web.WebSocketResponse):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            used.append(kwargs.get("heartbeat"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(web, "WebSocketResponse", Spy)
    server = await serve(Factory("server"), heartbeat=heartbeat)
    try:
        async with asyncio.timeout(10), http.ws_connect(server.url()) as ws:
            assert await ws.receive_str() == "hello"
    finally:
        await server.close()
    assert used == [heartbeat]


@pytest.mark.parametrize("cap", [0, -1])
def test_frame_cap_must_be_positive(cap: int) -> None:
    with pytest.raises(TransportConfigError):
        create_app(Factory(), max_frame_bytes=cap)


async def test_plain_http_get_is_told_to_upgrade(http: aiohttp.ClientSession) -> None:
    server = await serve(Factory())
    try:
        async with asyncio.timeout(10), http.get(server.url().replace("ws://", "http://")) as response:
            assert response.status == 426
    finally:
        await server.close()


async def test_failing_session_factory_refuses_without_upgrading(http: aiohttp.ClientSession) -> None:
    def broken(connection: Connection) -> Factory:
        raise RuntimeError("no engine for you")

    server = await serve(broken)  # type: ignore[arg-type]
    try:
        async with asyncio.timeout(10):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(server.url())
            assert refused.value.status == 500
    finally:
        await server.close()


async def test_closing_the_server_closes_sessions_with_1001(http: aiohttp.ClientSession) -> None:
    factory = Factory("server")
    events = Events()
    server = await serve(factory, on_event=events)
    closed = False
    try:
        async with asyncio.timeout(10), http.ws_connect(server.url()) as ws:
            assert await ws.receive_str() == "hello"
            assert server.session_count == 1
            closing = asyncio.create_task(server.close())  # the peer keeps reading, as a real one does
            closed = True
            message = await ws.receive()
            assert message.type is aiohttp.WSMsgType.CLOSE
            assert message.data == 1001
            await closing
    finally:
        if not closed:
            await server.close()
    assert factory.engines[0].close_reason == "server shutting down"
    assert [e for _, e in events.seen] == [("started", "server1"), ("closed", "server shutting down")]
    assert events.seen[0][0] is factory.connections[0]


async def test_engine_closing_itself_closes_the_socket_with_its_reason(
    echo_server: tuple[Server, Factory], http: aiohttp.ClientSession
) -> None:
    server, _ = echo_server
    async with asyncio.timeout(10), http.ws_connect(server.url(), headers=bearer("s3cret")) as ws:
        assert await ws.receive_str() == "hello"
        await ws.send_str("close")
        message = await ws.receive()
        assert message.type is aiohttp.WSMsgType.CLOSE
        assert message.data == 1000
        assert message.extra == "asked to close"


async def test_port_is_free_after_close() -> None:
    server = await serve(Factory())
    port = server.port
    await server.close()
    again = await serve(Factory(), port=port)
    try:
        assert again.port == port
    finally:
        await again.close()
