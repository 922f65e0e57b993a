"""The server facing a network: sockets that leave before the upgrade, silent and slow sockets, too many
sockets, oversized heads, dead or frozen peers, floods of bad requests, token guessing, and the edges.

Every test is on 127.0.0.1 with small limits; every wait is bounded by ``asyncio.timeout`` (a failure is
a hang cut short, never a measured duration compared with a threshold).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import struct
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp.http_exceptions import LineTooLong

from s2ws.app.cem import CEM
from s2ws.codec import encode
from s2ws.errors import TransportConfigError
from s2ws.messages.base import new_id
from s2ws.messages.common import Handshake
from s2ws.messages.enums import EnergyManagementRole
from s2ws.transport import serve
from s2ws.transport.auth import read_token_file, token_from
from s2ws.transport.guard import AuthThrottle, HttpLogFilter, LogLimiter, RateLimiter, quiet_accept_errors
from transport_fakes import Factory, FakeEngine

UPGRADE = (
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
)


def upgrade(extra: str = "") -> bytes:
    return (UPGRADE + extra + "\r\n").encode("latin-1")


async def open_raw(
    port: int, *, source: str = "127.0.0.1", rcvbuf: int | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.bind((source, 0))
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    return await asyncio.open_connection(sock=sock)


async def status_of(port: int, request: bytes, *, source: str = "127.0.0.1") -> int:
    """Send ``request`` on a fresh socket and return the HTTP status of the answer (0: closed unanswered)."""
    reader, writer = await open_raw(port, source=source)
    try:
        writer.write(request)
        await writer.drain()
        line = await reader.readline()
        return int(line.split()[1]) if line.startswith(b"HTTP/1.1") else 0
    except ConnectionError:
        return 0
    finally:
        writer.close()


async def until(predicate: object, *, within: float = 10.0) -> None:
    assert callable(predicate)
    async with asyncio.timeout(within):
        while not predicate():
            await asyncio.sleep(0.01)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


# --- 1. sockets that leave before the 101 -------------------------------------------------------


async def test_a_client_resetting_before_the_upgrade_leaves_no_session_behind() -> None:
    cem = CEM()
    server = await cem.serve("127.0.0.1", 0, heartbeat=None)
    loop = asyncio.get_running_loop()
    try:
        for _ in range(30):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            await loop.sock_connect(sock, ("127.0.0.1", server.port))
            await loop.sock_sendall(sock, upgrade())
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()  # RST, most often before the handler answers 101
        await until(lambda: not cem.rms and server.connection_count == 0)
    finally:
        async with asyncio.timeout(4.0):  # a phantom session used to hold shutdown for 5 s
            await cem.close()
    assert cem.rms == {}


# --- 4. dead and frozen peers ----------------------------------------------------------------------


async def test_a_peer_that_stops_answering_pings_is_closed(
    monkeypatch: pytest.MonkeyPatch, http: aiohttp.ClientSession
) -> None:
    monkeypatch.setattr("s2ws.transport.options.MIN_HEARTBEAT", 0.05)  # 50 s is too long for a test
    factory = Factory()
    server = await serve(factory, heartbeat=0.2)
    try:
        async with http.ws_connect(server.url(), autoping=False) as ws:  # pings are read and never answered
            async with asyncio.timeout(10):
                while (await ws.receive()).type not in (
                    aiohttp.WSMsgType.CLOSE,
                    aiohttp.WSMsgType.CLOSED,
                    aiohttp.WSMsgType.ERROR,
                ):
                    pass
        await until(lambda: factory.engines[0].closed and server.session_count == 0)
    finally:
        await server.close()


class _Flood(FakeEngine):
    def start(self, now: datetime) -> None:
        super().start(now)
        self._out.extend("x" * (256 * 1024) for _ in range(64))  # 16 MiB for a peer that reads nothing


async def test_a_peer_that_stops_reading_is_closed_after_the_write_timeout() -> None:
    engines: list[_Flood] = []

    def factory(connection: object) -> _Flood:
        engines.append(_Flood(greeting=None))
        return engines[-1]

    server = await serve(factory, heartbeat=None, write_timeout=0.5, close_timeout=0.5)
    try:
        reader, writer = await open_raw(server.port, rcvbuf=4096)
        writer.write(upgrade())
        await reader.readuntil(b"\r\n\r\n")  # the 101; from here on nothing is read
        await until(lambda: bool(engines) and engines[0].closed, within=20)
        assert "write timeout" in (engines[0].close_reason or "")
        await until(lambda: server.session_count == 0)
        writer.close()
    finally:
        await server.close()


def test_the_cli_heartbeat_flag_zero_disables_pings() -> None:
    import argparse

    from s2ws.cli import cem_cmd

    parser = argparse.ArgumentParser()
    cem_cmd.add_server_limits(parser)
    assert cem_cmd.server_options(parser.parse_args(["--heartbeat", "0"]))["heartbeat"] is None
    assert cem_cmd.server_options(parser.parse_args([]))["heartbeat"] == 50.0
    assert cem_cmd.server_options(parser.parse_args(["--rate-limit", "0"]))["rate_limit"] is None


# --- 2. before the upgrade: time, count, descriptors ----------------------------------------------


@pytest.mark.parametrize("sent", [b"", b"GET / HTTP/1.1\r\nHost: x\r\n"], ids=["silent", "slow"])
async def test_a_socket_that_does_not_finish_its_request_is_closed(sent: bytes) -> None:
    server = await serve(Factory(), handshake_timeout=0.3)
    try:
        reader, writer = await open_raw(server.port)
        writer.write(sent)
        async with asyncio.timeout(10):  # the server closes it (with or without an error answer)
            while await reader.read(1024):
                pass
        writer.close()
        await until(lambda: server.connection_count == 0)
    finally:
        await server.close()


async def test_connections_past_the_limit_are_refused_with_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="s2ws")
    server = await serve(Factory(), max_connections=2, handshake_timeout=30)
    held = []
    try:
        for _ in range(2):
            held.append(await open_raw(server.port))
        await until(lambda: server.connection_count == 2)
        statuses = [await status_of(server.port, upgrade()) for _ in range(6)]
        assert statuses == [503] * 6
        assert server.refused == 6
        lines = [r for r in caplog.records if "connection limit" in r.getMessage()]
        assert len(lines) == 1 and lines[0].levelno == logging.WARNING
    finally:
        for _, writer in held:
            writer.close()
        await server.close()


def test_accept_errors_at_the_descriptor_limit_are_logged_once_a_minute() -> None:
    quiet_accept_errors()
    logger = logging.getLogger("asyncio")
    passed = []
    for _ in range(500):
        record = logger.makeRecord(
            "asyncio", logging.ERROR, __file__, 1, "socket.accept() out of system resource", (), None
        )
        record.exc_info = (OSError, OSError(24, "Too many open files"), None)
        if all(f.filter(record) for f in logger.filters if isinstance(f, logging.Filter)):
            passed.append(record)
    assert len(passed) <= 1  # one, unless an earlier test already used this minute's line
    assert all(r.exc_info is None for r in passed)


# --- 3. oversized request heads -----------------------------------------------------------------


async def test_an_oversized_header_block_is_refused() -> None:
    server = await serve(Factory(), token="s3cret")
    try:
        padding = "".join(f"X-Pad-{i}: {'a' * 1000}\r\n" for i in range(40))  # 40 KB, each line small
        assert await status_of(server.port, upgrade(padding)) == 431
        huge = f"Authorization: Bearer {'A' * 65536}\r\n"
        assert await status_of(server.port, upgrade(huge)) in (0, 400, 431)  # 0: reset while still sending
        assert server.session_count == 0
    finally:
        await server.close()


# --- 5. log flooding --------------------------------------------------------------------------------


async def test_a_burst_of_bad_requests_logs_a_few_lines_without_tracebacks_or_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    server = await serve(Factory(), token="s3cret", auth_failures=1000)
    try:
        for i in range(20):
            await status_of(server.port, b"\x16\x03\x01 garbage that is not HTTP\r\n\r\n")
            await status_of(server.port, upgrade(f"Authorization: Bearer SECRETGUESS{'Q' * 65536}\r\n"))
            await status_of(server.port, upgrade(f"Authorization: Bearer wrong-guess-{i}\r\n"))
    finally:
        await server.close()
    ours = [r for r in caplog.records if r.name.startswith(("s2ws", "aiohttp"))]
    assert all(r.exc_info is None for r in ours), [r.getMessage() for r in ours if r.exc_info]
    assert not any("SECRETGUESS" in r.getMessage() or "wrong-guess" in r.getMessage() for r in ours)
    assert len(ours) <= 8, [r.getMessage() for r in ours]


def test_the_log_limiter_counts_what_it_dropped(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="limiter")
    limiter = LogLimiter(logging.getLogger("limiter"), interval=60.0)
    logged = [limiter.log(logging.INFO, "k", t, "refused %s", "x") for t in (0.0, 1.0, 2.0, 61.0)]
    assert logged == [True, False, False, True]
    assert "2 more like this" in caplog.records[-1].getMessage()


def test_the_http_log_filter_drops_tracebacks_and_request_text() -> None:
    flt = HttpLogFilter()
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "Error handling request: %s", ("Bearer abc",), None)
    record.exc_info = (LineTooLong, LineTooLong(b"Bearer abc", "8190"), None)
    assert flt.filter(record) and record.exc_info is None and "abc" not in record.getMessage()


# --- 7. tokens ------------------------------------------------------------------------------------


async def test_failed_tokens_are_throttled_per_source_address(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="s2ws")
    server = await serve(Factory(), token="s3cret", auth_failures=3, auth_window=60)
    try:
        wrong = [await status_of(server.port, upgrade(f"Authorization: Bearer guess{i}\r\n")) for i in range(3)]
        assert wrong == [401, 401, 401]
        # now even the right token waits out the window from this address ...
        assert await status_of(server.port, upgrade("Authorization: Bearer s3cret\r\n")) == 429
        # ... while another address is not affected, and ``bearer`` in lower case is accepted
        assert await status_of(server.port, upgrade("Authorization: bearer s3cret\r\n"), source="127.0.0.2") == 101
    finally:
        await server.close()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "token" in r.getMessage()]
    assert 1 <= len(warnings) <= 2  # rate-limited: the first refusal, then one for the throttle


def test_the_throttle_forgets_after_its_window_and_bounds_its_memory() -> None:
    throttle = AuthThrottle(2, 10.0, max_sources=100)
    throttle.failed("a", 0.0)
    throttle.failed("a", 1.0)
    assert throttle.blocked("a", 5.0) == pytest.approx(5.0)
    assert throttle.blocked("a", 10.0) == 0.0
    for i in range(1000):
        throttle.failed(f"10.0.{i // 256}.{i % 256}", 20.0)
    assert len(throttle) == 100


def test_a_token_file_must_be_private(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("s3cret\n")
    path.chmod(0o644)
    with pytest.raises(TransportConfigError, match="0644"):
        read_token_file(path)
    path.chmod(0o600)
    assert read_token_file(path) == "s3cret"
    assert token_from(file=path) == "s3cret"
    assert token_from(env={"S2WS_TOKEN": " t0ken "}) == "t0ken"
    assert token_from(env={}) is None


# --- 8. edges -------------------------------------------------------------------------------------


async def test_a_frame_of_exactly_the_cap_is_accepted_one_byte_more_is_not(http: aiohttp.ClientSession) -> None:
    factory = Factory(greeting=None)
    server = await serve(factory, max_frame_bytes=1024)
    try:
        async with asyncio.timeout(10), http.ws_connect(server.url()) as ws:
            await ws.send_str("x" * 1024)
            assert (await ws.receive()).data == "echo:" + "x" * 1024
            await ws.send_str("x" * 1025)
            assert (await ws.receive()).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            assert ws.close_code == 1009
    finally:
        await server.close()


async def test_binary_frames_holding_json_are_decoded_like_text(http: aiohttp.ClientSession) -> None:
    cem = CEM()
    server = await cem.serve("127.0.0.1", 0, heartbeat=None)
    try:
        async with asyncio.timeout(10), http.ws_connect(server.url()) as ws:
            hello = Handshake(
                message_id=new_id(), role=EnergyManagementRole.RM, supported_protocol_versions=["0.0.2-beta"]
            )
            await ws.send_bytes(encode(hello))
            answers = [json.loads((await ws.receive()).data) for _ in range(2)]
            status = next(a for a in answers if a["message_type"] == "ReceptionStatus")
            assert status["subject_message_id"] == hello.message_id and status["status"] == "OK"
    finally:
        await cem.close()


async def test_the_session_handshake_timeout_closes_with_policy_violation(http: aiohttp.ClientSession) -> None:
    cem = CEM(handshake_timeout=0.3, close_grace=0.2)
    server = await cem.serve("127.0.0.1", 0, heartbeat=None)
    try:
        async with asyncio.timeout(15), http.ws_connect(server.url()) as ws:
            while (await ws.receive()).type not in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                pass  # the CEM's Handshake, then its SessionRequest TERMINATE
            assert ws.close_code == 1008
    finally:
        await cem.close()


def test_the_rate_limiter_spends_and_refills() -> None:
    bucket = RateLimiter(10.0, 2, now=0.0)
    assert [bucket.take(0.0), bucket.take(0.0)] == [0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(0.1)
    assert bucket.take(0.1) == 0.0
    assert bucket.take(100.0) == 0.0 and bucket.take(100.0) == 0.0 and bucket.take(100.0) > 0  # burst caps savings


# --- 6. one flooding session does not starve the others ------------------------------------------


async def test_a_flooding_session_is_held_to_its_rate_while_another_is_answered(
    http: aiohttp.ClientSession,
) -> None:
    factory = Factory(greeting=None)
    server = await serve(factory, heartbeat=None, rate_limit=20.0, rate_burst=5)
    try:
        async with asyncio.timeout(20), http.ws_connect(server.url()) as flood:
            for i in range(60):
                await flood.send_str(f"m{i}")
            async with http.ws_connect(server.url()) as calm:
                await calm.send_str("ping")
                assert (await calm.receive()).data == "echo:ping"
            flooded = factory.engines[0]
            # at 20 a second after a burst of 5 the flood is far from read; every frame read was answered
            assert len(flooded.received) < 60
            answered = [(await flood.receive()).data for _ in range(len(flooded.received))]
            assert answered == [f"echo:m{i}" for i in range(len(answered))]
    finally:
        await server.close()


def test_durations_beyond_64_bits_are_refused_with_the_field_named() -> None:
    from s2ws.codec import decode
    from s2ws.errors import DecodeError

    base = {
        "message_type": "ResourceManagerDetails",
        "message_id": new_id(),
        "resource_id": "rm-1",
        "roles": [{"role": "ENERGY_CONSUMER", "commodity": "ELECTRICITY"}],
        "available_control_types": ["NOT_CONTROLABLE"],
        "provides_forecast": False,
        "provides_power_measurement_types": ["ELECTRIC.POWER.L1"],
    }
    ok = json.dumps({**base, "instruction_processing_delay": 2**63 - 1})
    assert decode(ok).instruction_processing_delay == 2**63 - 1  # type: ignore[attr-defined]
    for huge in ("9223372036854775808", "1" + "0" * 400):
        text = json.dumps({**base, "instruction_processing_delay": 0}).replace(
            '"instruction_processing_delay": 0', f'"instruction_processing_delay": {huge}'
        )
        with pytest.raises(DecodeError, match="instruction_processing_delay"):
            decode(text)


_AT_THE_FD_LIMIT = """
import asyncio, logging, resource, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
resource.setrlimit(resource.RLIMIT_NOFILE, (48, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
from s2ws.app.cem import CEM

async def main():
    cem = CEM()
    server = await cem.serve("127.0.0.1", 0, max_connections=10_000, handshake_timeout=30)  # past the fd limit
    print(server.port, flush=True)
    await asyncio.sleep(3.5)  # asyncio retries accept() every second meanwhile
    await cem.close()

asyncio.run(main())
"""


async def test_at_the_file_descriptor_limit_accept_errors_are_logged_once_without_traceback() -> None:
    import sys

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _AT_THE_FD_LIMIT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    held = []
    try:
        async with asyncio.timeout(30):
            port = int(await proc.stdout.readline())
            for _ in range(80):  # more than the 48 descriptors the server may have
                held.append(await open_raw(port))
            _, err = await proc.communicate()
    finally:
        for _, writer in held:
            writer.close()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    text = err.decode()
    assert proc.returncode == 0, text
    assert text.count("out of system resource") == 1, text
    assert "Traceback" not in text


async def test_a_peer_that_keeps_flooding_is_terminated_with_a_reason(http: aiohttp.ClientSession) -> None:
    cem = CEM()
    server = await cem.serve("127.0.0.1", 0, heartbeat=None, rate_limit=20.0, rate_burst=5, rate_close_after=0.5)
    try:
        async with asyncio.timeout(20), http.ws_connect(server.url()) as ws:
            hello = Handshake(
                message_id=new_id(), role=EnergyManagementRole.RM, supported_protocol_versions=["0.0.2-beta"]
            )
            await ws.send_bytes(encode(hello))
            for _ in range(200):  # far above 20 a second: each is still answered, then the CEM ends it
                await ws.send_str(
                    json.dumps({"message_type": "ReceptionStatus", "subject_message_id": new_id(), "status": "OK"})
                )
            terminate = None
            while (msg := await ws.receive()).type is aiohttp.WSMsgType.TEXT:
                doc = json.loads(msg.data)
                if doc["message_type"] == "SessionRequest":
                    terminate = doc
                    await ws.send_str(
                        json.dumps(
                            {"message_type": "ReceptionStatus", "subject_message_id": doc["message_id"], "status": "OK"}
                        )
                    )
            assert terminate is not None and "message rate" in terminate["diagnostic_label"]
            assert ws.close_code == 1008
    finally:
        await cem.close()
