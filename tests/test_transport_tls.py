"""wss:// on loopback with a CA made in the test: verification on by default, a private CA, a pinned leaf."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from s2ws.errors import CertificateError, TransportConfigError
from s2ws.transport import (
    Client,
    Connection,
    Server,
    certificate_fingerprint,
    client_ssl_context,
    parse_fingerprint,
    serve,
    server_ssl_context,
)
from transport_fakes import Events, Factory


@dataclass
class Pki:
    ca_file: Path
    leaf_pem: bytes
    server: Server
    factory: Factory


@pytest.fixture
async def pki(tmp_path: Path) -> AsyncIterator[Pki]:
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    ca_file = tmp_path / "ca.pem"
    chain_file = tmp_path / "server.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    leaf.private_key_and_cert_chain_pem.write_to_path(str(chain_file))
    factory = Factory("server")
    server = await serve(factory, ssl=server_ssl_context(chain_file), token="t0ken")
    try:
        yield Pki(ca_file, leaf.cert_chain_pems[0].bytes(), server, factory)
    finally:
        await server.close()


async def one_exchange(client: Client, events: Events) -> None:
    """Run the client until its engine got the server's greeting and the echo of its own."""

    async def stop_when_echoed() -> None:
        await events.wait_for(lambda e: e == ("frame", "echo:hello"))
        client.close()

    async with asyncio.timeout(10):
        await asyncio.gather(client.run(), stop_when_echoed())


async def test_private_ca_verifies_and_frames_flow(pki: Pki) -> None:
    events = Events()
    client_factory = Factory("client")
    client = Client(
        pki.server.url(), client_factory, token="t0ken", ca_file=pki.ca_file, reconnect=None, on_event=events
    )
    assert pki.server.url().startswith("wss://")
    await one_exchange(client, events)
    assert client_factory.engines[0].received[:2] == ["hello", "echo:hello"]
    assert pki.factory.engines[0].received[0] == "hello"
    assert client.sessions == 1


async def test_verification_is_on_by_default(pki: Pki) -> None:
    client = Client(pki.server.url(), Factory(), token="t0ken")
    async with asyncio.timeout(10):
        with pytest.raises(CertificateError, match="verif") as failed:
            await client.run()
    assert failed.value.url == pki.server.url()
    assert pki.factory.engines == []


async def test_verification_failure_is_not_retried_by_default(pki: Pki) -> None:
    """A certificate failure is a refusal: the reconnect loop gives up at once."""
    client = Client(pki.server.url(), Factory(), token="t0ken")
    async with asyncio.timeout(10):
        with pytest.raises(CertificateError):
            await client.run()
    assert client.attempts == 1


async def test_hostname_is_checked_against_the_certificate(tmp_path: Path) -> None:
    """A certificate from the trusted CA, but for another name, is refused."""
    ca = trustme.CA()
    ca_file, chain_file = tmp_path / "ca.pem", tmp_path / "other.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    ca.issue_cert("other.example").private_key_and_cert_chain_pem.write_to_path(str(chain_file))
    server = await serve(Factory(), ssl=server_ssl_context(chain_file))
    try:
        client = Client(server.url(), Factory(), ca_file=ca_file, reconnect=None)
        async with asyncio.timeout(10):
            with pytest.raises(CertificateError):
                await client.run()
    finally:
        await server.close()


async def test_pinned_leaf_fingerprint_connects_without_any_ca(pki: Pki) -> None:
    pin = certificate_fingerprint(pki.leaf_pem)
    colon_pin = ":".join(pin[i : i + 2] for i in range(0, len(pin), 2)).upper()
    for given in (pin, colon_pin, bytes.fromhex(pin)):
        events = Events()
        client = Client(
            pki.server.url(), Factory(), token="t0ken", pinned_sha256=given, reconnect=None, on_event=events
        )
        await one_exchange(client, events)
        assert client.sessions == 1


async def test_wrong_pin_fails(pki: Pki) -> None:
    client = Client(pki.server.url(), Factory(), token="t0ken", pinned_sha256="ab" * 32, reconnect=None)
    async with asyncio.timeout(10):
        with pytest.raises(CertificateError, match="pinned"):
            await client.run()
    assert pki.factory.engines == []


async def test_ready_ssl_context_is_used(pki: Pki) -> None:
    events = Events()
    context = client_ssl_context(ca_data=pki.ca_file.read_text())
    client = Client(pki.server.url(), Factory(), token="t0ken", ssl=context, reconnect=None, on_event=events)
    await one_exchange(client, events)


async def test_endpoint_provider_gets_fresh_url_and_token(pki: Pki) -> None:
    """S2 Connect: every attempt asks for a new URL and single-use token."""
    from s2ws.transport import Endpoint

    calls = 0

    async def provider() -> Endpoint:
        nonlocal calls
        calls += 1
        return Endpoint(pki.server.url(), "t0ken")

    events = Events()
    client = Client(provider, Factory(), ca_file=pki.ca_file, reconnect=None, on_event=events)
    await one_exchange(client, events)
    assert calls == 1
    connection = events.seen[0][0]
    assert isinstance(connection, Connection) and connection.token == "t0ken"


def test_tls_options_on_plain_ws_are_refused() -> None:
    with pytest.raises(TransportConfigError, match="wss"):
        Client("ws://127.0.0.1:1/", Factory(), pinned_sha256="ab" * 32)
    with pytest.raises(TransportConfigError, match="wss"):
        Client("ws://127.0.0.1:1/", Factory(), ssl=ssl.create_default_context())


def test_only_one_trust_option_at_a_time(tmp_path: Path) -> None:
    with pytest.raises(TransportConfigError, match="at most one"):
        Client("wss://127.0.0.1:1/", Factory(), ca_file=tmp_path / "x.pem", pinned_sha256="ab" * 32)


def test_missing_ca_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(TransportConfigError, match="CA"):
        Client("wss://127.0.0.1:1/", Factory(), ca_file=tmp_path / "missing.pem")


def test_non_websocket_urls_are_refused() -> None:
    with pytest.raises(TransportConfigError):
        Client("https://127.0.0.1/", Factory())


@pytest.mark.parametrize("bad", ["xyz", "ab" * 31, b"\x00" * 20])
def test_bad_fingerprints_are_refused(bad: str | bytes) -> None:
    with pytest.raises(TransportConfigError):
        parse_fingerprint(bad)


def test_fingerprint_of_pem_and_der_agree() -> None:
    leaf = trustme.CA().issue_cert("localhost")
    pem = leaf.cert_chain_pems[0].bytes()
    der = ssl.PEM_cert_to_DER_cert(pem.decode())
    assert certificate_fingerprint(pem) == certificate_fingerprint(der) == certificate_fingerprint(pem.decode())
    assert parse_fingerprint(certificate_fingerprint(der)) == bytes.fromhex(certificate_fingerprint(der))
