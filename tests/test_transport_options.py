"""One options object per side, accepted by both entry points, and no import cycle inside the transports."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from s2ws.errors import TransportConfigError
from s2ws.transport import (
    DEFAULT_HEARTBEAT,
    Client,
    ClientOptions,
    ServerOptions,
    create_app,
    http_settings,
    serve,
)
from transport_fakes import Factory

TRANSPORT = Path(__file__).resolve().parents[1] / "src" / "s2ws" / "transport"


def test_options_are_frozen_and_have_one_default_each() -> None:
    server, client = ServerOptions(), ClientOptions()
    with pytest.raises(dataclasses.FrozenInstanceError):
        server.path = "/x"  # type: ignore[misc]
    assert server.heartbeat == client.heartbeat == DEFAULT_HEARTBEAT
    assert server.max_frame_bytes == client.max_frame_bytes
    assert server.handshake_timeout <= 30.0
    assert server.write_timeout is not None and client.write_timeout is not None
    # one name per concept: the TLS context is ``ssl`` on both sides
    assert {f.name for f in dataclasses.fields(server)} & {f.name for f in dataclasses.fields(client)} >= {
        "ssl",
        "token",
        "heartbeat",
        "compress",
        "cork",
        "close_timeout",
        "write_timeout",
        "max_frame_bytes",
    }


def test_keyword_arguments_build_the_same_options() -> None:
    app = create_app(Factory(), path="/s2", heartbeat=None, max_connections=3)
    same = create_app(Factory(), ServerOptions(path="/s2", heartbeat=None, max_connections=3))
    assert {r.resource.canonical for r in app.router.routes()} == {"/s2"}  # type: ignore[union-attr]
    assert {r.resource.canonical for r in same.router.routes()} == {"/s2"}  # type: ignore[union-attr]
    client = Client("ws://127.0.0.1:1/", Factory(), ClientOptions(heartbeat=None), connect_timeout=2.0)
    assert client.options == ClientOptions(heartbeat=None, connect_timeout=2.0)


def test_an_unknown_option_is_named() -> None:
    with pytest.raises(TypeError, match="ssl_context"):
        create_app(Factory(), ssl_context=None)
    with pytest.raises(TypeError, match="bogus"):
        Client("ws://127.0.0.1:1/", Factory(), bogus=1)


@pytest.mark.parametrize(
    ("name", "value"),
    [("handshake_timeout", 0), ("max_connections", 0), ("max_header_bytes", -1), ("rate_limit", 0), ("path", "x")],
)
def test_bad_server_values_fail_where_given(name: str, value: object) -> None:
    with pytest.raises(TransportConfigError, match=name):
        ServerOptions(**{name: value})  # type: ignore[arg-type]


async def test_serve_takes_an_options_object() -> None:
    server = await serve(Factory(), options=ServerOptions(path="/s2", max_connections=5))
    try:
        assert server.options.connection_limit == 5
        assert server.url("/s2").startswith("ws://127.0.0.1:")
    finally:
        await server.close()


def test_http_settings_bound_the_request_head() -> None:
    settings = http_settings(ServerOptions(handshake_timeout=3.0, max_header_bytes=4096))
    assert settings["keepalive_timeout"] == 3.0
    assert settings["max_field_size"] == settings["max_line_size"] == 4096


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_no_import_cycle_inside_the_transports() -> None:
    graph = {path.stem: _imports(path) for path in TRANSPORT.glob("*.py") if path.stem != "__init__"}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        nexts = graph.get(start, set())
        return any(nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})) for nxt in nexts)

    cycles = [name for name in graph if reaches(name, name, {name})]
    assert cycles == []
    assert "engine" not in graph  # the module holding no engine was renamed by what it holds
