"""The reconnecting client on loopback: a server restart survived, refusals and TERMINATE end the loop."""

from __future__ import annotations

import asyncio
import random
import socket
from typing import Any

import pytest
from aiohttp import web

from s2ws.errors import AuthenticationError, ConnectError, TransportConfigError
from s2ws.transport import Client, Endpoint, ReconnectPolicy, connect, serve
from transport_fakes import Events, Factory

FAST = ReconnectPolicy(initial=0.01, max=0.05, factor=2, jitter=0.5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_server_restart_is_survived_by_reconnect() -> None:
    server_factory = Factory("server")
    server = await serve(server_factory)
    port = server.port
    client_factory = Factory("client")
    events = Events()
    client = Client(server.url(), client_factory, reconnect=FAST, on_event=events, rng=random.Random(5))
    task = asyncio.create_task(client.run())
    try:
        async with asyncio.timeout(20):
            await events.wait_for(lambda e: e == ("frame", "echo:hello"))
            await server.close()
            await events.wait_for(lambda e: e == ("closed", "peer closed"))
            while client.attempts < 3:  # let it fail against the closed port and back off
                await asyncio.sleep(0.005)
            assert client.backoff.failures >= 2
            server = await serve(server_factory, port=port)
            await events.wait_for(lambda e: e == ("frame", "echo:hello"), count=2)
            assert len(client_factory.engines) == 2
            assert client_factory.engines[0].closed
            assert not client_factory.engines[1].closed
            assert client.sessions == 2
            assert client.backoff.failures == 0  # reset when the new session started
            assert client_factory.connections[1].attempt > client_factory.connections[0].attempt
            client.close()
            await task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await server.close()
    assert client_factory.engines[1].close_reason == "client closing"
    assert len(server_factory.engines) == 2


async def test_session_ending_with_terminate_stops_the_client() -> None:
    server = await serve(Factory("server"))
    try:
        events = Events()
        client_factory = Factory("client")
        client = Client(server.url(), client_factory, reconnect=FAST, on_event=events)

        async def ask_for_terminate() -> None:
            await events.wait_for(lambda e: e == ("frame", "echo:hello"))
            assert client.connection is not None and client.engine is client_factory.engines[-1]
            client_factory.engines[-1].push("terminate")  # the server engine answers with TERMINATE
            client.connection.wakeup()

        async with asyncio.timeout(10):
            await asyncio.gather(client.run(), ask_for_terminate())
        assert client.sessions == 1
    finally:
        await server.close()


async def test_terminate_is_followed_by_reconnect_when_the_policy_says_so() -> None:
    server = await serve(Factory("server"))
    try:
        events = Events()
        policy = ReconnectPolicy(initial=0.01, max=0.02, stop_on_terminate=False)
        client_factory = Factory("client")
        client = Client(server.url(), client_factory, reconnect=policy, on_event=events)

        async def terminate_once_then_stop() -> None:
            await events.wait_for(lambda e: e == ("frame", "echo:hello"))
            assert client.connection is not None
            client_factory.engines[-1].push("terminate")
            client.connection.wakeup()
            await events.wait_for(lambda e: e == ("frame", "echo:hello"), count=2)
            client.close()

        async with asyncio.timeout(10):
            await asyncio.gather(client.run(), terminate_once_then_stop())
        assert client.sessions == 2
    finally:
        await server.close()


async def test_wrong_token_is_an_authentication_error_and_not_retried() -> None:
    server = await serve(Factory(), token="right")
    try:
        client = Client(server.url(), Factory(), token="wrong", reconnect=FAST)
        async with asyncio.timeout(10):
            with pytest.raises(AuthenticationError) as refused:
                await client.run()
        assert refused.value.status == 401
        assert client.attempts == 1
    finally:
        await server.close()


async def test_gives_up_after_max_attempts() -> None:
    policy = ReconnectPolicy(initial=0.001, max=0.002, max_attempts=3)
    client = Client(f"ws://127.0.0.1:{free_port()}/", Factory(), reconnect=policy)
    async with asyncio.timeout(10):
        with pytest.raises(ConnectError) as failed:
            await client.run()
    assert not isinstance(failed.value, AuthenticationError)
    assert client.attempts == 3
    assert client.sessions == 0


async def test_without_reconnect_one_failure_raises() -> None:
    async with asyncio.timeout(10):
        with pytest.raises(ConnectError):
            await connect(f"ws://127.0.0.1:{free_port()}/", Factory(), reconnect=None)


async def test_close_interrupts_the_backoff_sleep() -> None:
    client = Client(f"ws://127.0.0.1:{free_port()}/", Factory(), reconnect=ReconnectPolicy(initial=3600, max=3600))
    task = asyncio.create_task(client.run())
    async with asyncio.timeout(10):
        while client.attempts < 1:
            await asyncio.sleep(0.001)
        client.close()
        await task


async def test_cancelling_the_client_closes_the_session_gracefully() -> None:
    server_factory = Factory("server")
    server = await serve(server_factory)
    try:
        events = Events()
        client_factory = Factory("client")
        task = asyncio.create_task(connect(server.url(), client_factory, on_event=events))
        async with asyncio.timeout(10):
            await events.wait_for(lambda e: e == ("frame", "echo:hello"))
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            while not server_factory.engines[0].closed:
                await asyncio.sleep(0.001)
        assert client_factory.engines[0].close_reason == "transport cancelled"
        assert server_factory.engines[0].close_reason == "peer closed"
    finally:
        await server.close()


async def test_context_manager_runs_in_background_and_closes_on_exit() -> None:
    server_factory = Factory("server")
    server = await serve(server_factory)
    try:
        events = Events()
        async with asyncio.timeout(10):
            async with Client(server.url(), Factory("client"), on_event=events) as client:
                await events.wait_for(lambda e: e == ("frame", "echo:hello"))
            assert client.engine is not None and client.engine.close_reason == "client closing"
    finally:
        await server.close()


async def test_failing_endpoint_provider_is_retried() -> None:
    server = await serve(Factory("server"))
    calls = 0

    async def flaky() -> Endpoint:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise OSError("session initiation failed")
        return Endpoint(server.url())

    try:
        events = Events()
        client = Client(flaky, Factory("client"), reconnect=FAST, on_event=events)

        async def stop_when_greeted() -> None:
            await events.wait_for(lambda e: e == ("frame", "echo:hello"))
            client.close()

        async with asyncio.timeout(10):
            await asyncio.gather(client.run(), stop_when_greeted())
        assert calls == 3
    finally:
        await server.close()


@pytest.mark.parametrize("heartbeat", [1, 20, 49])
def test_client_refuses_pings_more_often_than_every_50_s(heartbeat: float) -> None:
    with pytest.raises(TransportConfigError):
        Client("ws://127.0.0.1:1/", Factory(), heartbeat=heartbeat)


def test_token_with_an_endpoint_provider_is_refused() -> None:
    async def provider() -> Endpoint:
        return Endpoint("ws://127.0.0.1:1/")

    with pytest.raises(TransportConfigError):
        Client(provider, Factory(), token="x")


async def _run_once(url: str, **options: Any) -> None:
    """One session of a Client (FakeEngine: says hello, echoes), until the server closes it."""
    async with asyncio.timeout(10):
        await Client(url, Factory("client"), reconnect=None, **options).run()


@pytest.mark.parametrize(("options", "offered", "negotiated"), [({}, False, 0), ({"compress": True}, True, 15)])
async def test_client_offers_permessage_deflate_only_when_asked(
    options: dict[str, Any], offered: bool, negotiated: int
) -> None:
    """Off by default (small frames, CPU per frame, zlib state per session); ``compress=True`` gets it
    from a server that accepts it, as the s2ws server does."""
    seen: list[tuple[str | None, int]] = []

    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=True)  # accept it if offered, as s2ws serve() does
        await ws.prepare(request)
        seen.append((request.headers.get("Sec-WebSocket-Extensions"), ws.compress))
        await ws.send_str("hello")
        assert await ws.receive_str() == "echo:hello"
        await ws.close()
        return ws

    app = web.Application()
    app.router.add_get("/", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await _run_once(f"ws://127.0.0.1:{port}/", **options)
    finally:
        await runner.cleanup()
    ((extensions, compress),) = seen
    assert ("permessage-deflate" in (extensions or "")) is offered
    assert compress == negotiated


async def test_client_and_server_as_shipped_run_without_compression() -> None:
    server_factory = Factory("server")
    server = await serve(server_factory)
    try:
        events = Events()
        client = Client(server.url(), Factory("client"), reconnect=None, on_event=events)

        async def close_when_greeted() -> None:
            await events.wait_for(lambda e: e == ("frame", "echo:hello"))
            client.close()

        async with asyncio.timeout(10):
            await asyncio.gather(client.run(), close_when_greeted())
    finally:
        await server.close()
    assert "sec-websocket-extensions" not in server_factory.connections[0].headers
