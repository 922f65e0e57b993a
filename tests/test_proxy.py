"""The proxy forwards every frame as it came, both ways, judges it, and passes the close through."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from s2ws.app.proxy import Faults, Proxy, corrupt_field
from s2ws.app.recorder import Recorder
from s2ws.web import Monitor

HANDSHAKE = (
    '{"message_type":"Handshake","message_id":"a1b2c3d4-0000-4000-8000-000000000001","role":"CEM",  '
    '"supported_protocol_versions":["0.0.2-beta"]}'
)
BROKEN = '{"message_type":"ResourceManagerDetails","message_id":"a1b2c3d4-0000-4000-8000-000000000002"}'
NOT_JSON = "{this is not json"


class Upstream:
    """A scripted peer: sends ``greeting`` on connect, keeps every frame it gets, closes on "bye"."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.close_code: int | None = None

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(HANDSHAKE)
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                self.received.append(msg.data)
                if msg.data == "bye":
                    await ws.close(code=4001, message=b"upstream says bye")
        self.close_code = ws.close_code
        return ws


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[Upstream, str]]:
    peer = Upstream()
    app = web.Application()
    app.router.add_get("/", peer.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield peer, f"ws://127.0.0.1:{port}/"
    await runner.cleanup()


async def test_frames_pass_unchanged_and_are_judged(upstream: tuple[Upstream, str], tmp_path: Path) -> None:
    peer, url = upstream
    monitor = Monitor(source="proxy")
    record = tmp_path / "proxy.jsonl"
    proxy = Proxy(url, observers=[monitor, Recorder(record)])
    port = await proxy.start("127.0.0.1", 0)
    async with asyncio.timeout(20), aiohttp.ClientSession() as client:
        ws = await client.ws_connect(f"ws://127.0.0.1:{port}/")
        first = await ws.receive()
        assert first.data == HANDSHAKE  # odd spacing kept: the proxy never re-encodes
        for text in (BROKEN, NOT_JSON, "bye"):
            await ws.send_str(text)
        closing = await ws.receive()
        assert closing.type is aiohttp.WSMsgType.CLOSE
        assert (closing.data, closing.extra) == (4001, "upstream says bye")
        await ws.close()
    await proxy.close()
    assert peer.received == [BROKEN, NOT_JSON, "bye"]
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    assert [(x["dir"], x["text"]) for x in lines] == [
        ("cem>rm", HANDSHAKE),
        ("rm>cem", BROKEN),
        ("rm>cem", NOT_JSON),
        ("rm>cem", "bye"),
    ]
    rows = list(monitor.messages)
    broken = rows[1]
    assert broken["type"] == "ResourceManagerDetails"
    assert broken["findings"] and broken["findings"][0]["rule"] == "S2-SCHEMA-002"
    assert broken["findings"][0]["pointer"] == "/resource_id"
    assert rows[2]["findings"][0]["rule"].startswith("S2-SCHEMA-")
    session = monitor.session_rows()[0]
    assert session["state"] == "closed" and "4001" in (session["reason"] or "")
    assert session["errors"] >= 2


async def test_the_rm_close_code_reaches_the_cem(upstream: tuple[Upstream, str]) -> None:
    peer, url = upstream
    proxy = Proxy(url)
    port = await proxy.start("127.0.0.1", 0)
    async with asyncio.timeout(20), aiohttp.ClientSession() as client:
        ws = await client.ws_connect(f"ws://127.0.0.1:{port}/")
        await ws.receive()
        await ws.close(code=4100, message=b"rm leaving")
        assert ws.close_code == 4100  # the CEM's echo came back through the proxy
        while peer.close_code is None:
            await asyncio.sleep(0.01)
    await proxy.close()
    assert peer.close_code == 4100


async def test_faults_are_seeded_and_explicit(upstream: tuple[Upstream, str]) -> None:
    peer, url = upstream
    proxy = Proxy(url, faults=Faults(drop=0.5, duplicate=0.3, seed=7))
    port = await proxy.start("127.0.0.1", 0)
    sent = [f'{{"n":{i}}}' for i in range(40)]
    async with asyncio.timeout(20), aiohttp.ClientSession() as client:
        ws = await client.ws_connect(f"ws://127.0.0.1:{port}/")  # the greeting may be dropped: not read
        for text in sent:
            await ws.send_str(text)
        await ws.close()  # the close follows the frames, so the peer has them all when it sees it
        while peer.close_code is None:
            await asyncio.sleep(0.01)
    await proxy.close()
    got = [t for t in peer.received if t != "bye"]
    assert len(set(got)) < len(sent)  # some were dropped
    assert len(got) > len(set(got))  # some were sent twice
    assert all(t in sent for t in got)


def test_corrupt_field_changes_one_field_type() -> None:
    rng = random.Random(1)
    before = json.loads(HANDSHAKE)
    after = json.loads(corrupt_field(HANDSHAKE, rng))
    changed = [k for k in before if before[k] != after[k]]
    assert len(changed) == 1 and changed[0] != "message_type"
    assert type(before[changed[0]]) is not type(after[changed[0]])
