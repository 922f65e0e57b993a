"""The read-only web UI: static pages, a JSON API over a :class:`Monitor`, and a live event stream.

Served by aiohttp in the process that owns the monitor (CEM, proxy, replay), on 127.0.0.1 unless
told otherwise. Works offline: the page, its script and style ship in this package, and the charts
come from the ``plotly`` distribution's bundled ``plotly.min.js``. Every response carries a
Content-Security-Policy that allows only this origin's scripts and styles (no inline code). With a
token, every request must carry it (``Authorization: Bearer`` or ``?token=``); the access log is off
so the token never reaches a log.
"""

from __future__ import annotations

import asyncio
import hmac
import importlib.util
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import msgspec
from aiohttp import web

from ..app.recorder import rfc3339
from ..rules.catalogue import CATALOGUE
from ..transcripts import rotated_set
from .monitor import MAX_POINTS, Monitor, transcript_line

if TYPE_CHECKING:
    from ..store import History

__all__ = ["UI", "build_app", "plotly_path", "serve_ui"]

STATIC = Path(__file__).with_name("static")
EMPTY_STYLE = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
"""The hash of an empty ``<style>``: the chart library creates one and fills it through the CSSOM,
which a CSP allows; any other inline stylesheet (the library's map styles, which no chart here uses)
is refused. No inline style attribute is allowed either: the library styles its elements through the
CSSOM (``element.style``), which a CSP does not restrict; no script is ever inline."""
CSP = (
    f"default-src 'none'; script-src 'self'; style-src 'self' {EMPTY_STYLE}; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
_MONITOR: web.AppKey[Monitor] = web.AppKey("monitor", Monitor)
_TOKEN: web.AppKey[str] = web.AppKey("token", str)
_MODE: web.AppKey[str] = web.AppKey("mode", str)
_encode = msgspec.json.encode
PAST = timedelta(days=1)
"""How far back the Energy view reads the history."""


def plotly_path() -> Path | None:
    """The ``plotly.min.js`` the plotly distribution ships, if installed."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "package_data" / "plotly.min.js"
    return path if path.is_file() else None


def _json(value: Any) -> web.Response:
    return web.Response(body=_encode(value), content_type="application/json")


@web.middleware
async def _guard(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> Any:
    token = request.app[_TOKEN]
    if token:
        given = request.query.get("token", "")
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            given = header[7:]
        if not hmac.compare_digest(given.encode(), token.encode()):
            return web.Response(status=401, text="a valid token is required", headers=_headers())
    if request.method not in ("GET", "HEAD"):
        return web.Response(status=405, text="this UI is read-only", headers=_headers())
    response = await handler(request)
    response.headers.update(_headers())
    return response


def _headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


async def _index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "index.html")


async def _static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in ("app.js", "app.css"):
        raise web.HTTPNotFound()
    return web.FileResponse(STATIC / name)


async def _plotly(request: web.Request) -> web.StreamResponse:
    path = plotly_path()
    if path is None:
        raise web.HTTPNotFound(text="charts need the plotly package")
    return web.FileResponse(path)


async def _no_icon(request: web.Request) -> web.StreamResponse:
    return web.Response(status=204)


async def _info(request: web.Request) -> web.Response:
    monitor = request.app[_MONITOR]
    return _json({"mode": request.app[_MODE], "source": monitor.source, "charts": plotly_path() is not None})


async def _messages(request: web.Request) -> web.Response:
    monitor = request.app[_MONITOR]
    try:
        after = int(request.query.get("after", "0") or 0)
    except ValueError:
        raise web.HTTPBadRequest(text="after: expected a message number") from None
    return _json([m for m in monitor.messages if m["seq"] > after])


async def _sessions(request: web.Request) -> web.Response:
    return _json(request.app[_MONITOR].session_rows())


async def _devices(request: web.Request) -> web.Response:
    return _json(request.app[_MONITOR].device_rows())


async def _energy(request: web.Request) -> web.Response:
    monitor = request.app[_MONITOR]
    data = monitor.energy()
    if monitor.history is not None and monitor.messages:
        await asyncio.to_thread(_past, monitor.history, data, monitor.messages[-1]["t"])
    return _json(data)


def _past(history: History, data: dict[str, Any], latest: str) -> None:
    """Each device's measured power of the last day from the SQLite history, summed per instant."""
    end = datetime.fromisoformat(latest) + timedelta(seconds=1)
    for device in data["devices"]:
        resource_id = device.get("resource_id")
        if not isinstance(resource_id, str):
            continue
        totals: dict[datetime, float] = {}
        for row in history.measurements(resource_id, end - PAST, end):
            totals[row.at] = totals.get(row.at, 0.0) + row.value
        device["past"] = [(rfc3339(at), value) for at, value in sorted(totals.items())][-MAX_POINTS:]


async def _rules(request: web.Request) -> web.Response:
    return _json({rule.id: {"severity": rule.severity, "statement": rule.statement} for rule in CATALOGUE.values()})


async def _transcript(request: web.Request) -> web.StreamResponse:
    """One session's transcript, streamed: complete from the recorded file when the process records
    one, else what the SQLite history kept before the ring's frames, else the ring; the
    ``X-Transcript`` header says which (see :meth:`Monitor.transcript_source`)."""
    session = request.match_info["session"]
    monitor = request.app[_MONITOR]
    if session not in monitor.sessions:
        raise web.HTTPNotFound(text="no such session")
    source = monitor.transcript_source(session)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in session)[:80]
    headers = {
        **_headers(),
        "Content-Type": "application/jsonl",
        "Content-Disposition": f'attachment; filename="session-{safe}.jsonl"',
        "X-Transcript": source,
    }
    response = web.StreamResponse(headers=headers)
    await response.prepare(request)
    if source == "recording" and monitor.recording is not None:
        for part in rotated_set(monitor.recording):
            await _stream_recorded(response, part, session)
    else:
        ring = monitor.ring_of(session)
        if source == "history+ring" and monitor.history is not None:
            first = ring[0]["t"] if ring else None
            rows = await asyncio.to_thread(monitor.history.messages, session_id=session, limit=HISTORY_LINES)
            stamped = ((rfc3339(r.at), r) for r in rows)
            lines = [
                transcript_line(t, r.direction, session, r.message) for t, r in stamped if first is None or t < first
            ]
            await response.write("".join(lines).encode())
        for start in range(0, len(ring), 500):
            chunk = ring[start : start + 500]
            await response.write("".join(transcript_line(m["t"], m["dir"], session, m["text"]) for m in chunk).encode())
    await response.write_eof()
    return response


async def _stream_recorded(response: web.StreamResponse, path: str, session: str) -> None:
    """Write the lines of ``session`` in one part of a recorded transcript, a bounded batch at a time."""
    try:
        handle = await asyncio.to_thread(open, path, "rb")
    except OSError:
        return  # rotated away meanwhile
    needle = b'"session":' + _encode(session)
    try:
        while True:
            batch, done = await asyncio.to_thread(_matching_lines, handle, needle, session)
            if batch:
                await response.write(batch)
            if done:
                return
    finally:
        handle.close()


_line_decoder = msgspec.json.Decoder()
READ_BATCH = 1 << 20
"""Bytes of a recorded transcript read per step while streaming a download."""
HISTORY_LINES = 50_000
"""At most this many kept messages of one session (the newest) are read from the history for a download,
which holds them in memory while it writes them (a recording is streamed instead)."""


def _matching_lines(handle: BinaryIO, needle: bytes, session: str) -> tuple[bytes, bool]:
    """The next lines (about READ_BATCH bytes read) that belong to ``session``; True when at the end.
    A last line without its newline is still being written and is left out."""
    out: list[bytes] = []
    size = 0
    while size < READ_BATCH:
        line = handle.readline()
        if not line or not line.endswith(b"\n"):
            return b"".join(out), True
        size += len(line)
        if needle in line:
            try:
                value = _line_decoder.decode(line)
            except msgspec.DecodeError:
                continue
            if isinstance(value, dict) and value.get("session") == session:
                out.append(line)
    return b"".join(out), False


async def _events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: one ``data:`` line per new message or session change."""
    monitor = request.app[_MONITOR]
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", **_headers()})
    await response.prepare(request)
    queue = monitor.subscribe()
    try:
        await response.write(b": hello\n\n")
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), 15.0)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            await response.write(b"data: " + _encode(event) + b"\n\n")
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        monitor.unsubscribe(queue)
    return response


def build_app(monitor: Monitor, *, token: str | None = None, mode: str = "live") -> web.Application:
    """The UI as an aiohttp application (``mode`` "live" or "replay")."""
    app = web.Application(middlewares=[_guard])
    app[_MONITOR] = monitor
    app[_TOKEN] = token or ""
    app[_MODE] = mode
    app.router.add_get("/", _index)
    app.router.add_get("/static/{name}", _static)
    app.router.add_get("/vendor/plotly.min.js", _plotly)
    app.router.add_get("/favicon.ico", _no_icon)
    app.router.add_get("/api/info", _info)
    app.router.add_get("/api/messages", _messages)
    app.router.add_get("/api/sessions", _sessions)
    app.router.add_get("/api/sessions/{session}/transcript", _transcript)
    app.router.add_get("/api/devices", _devices)
    app.router.add_get("/api/energy", _energy)
    app.router.add_get("/api/rules", _rules)
    app.router.add_get("/api/events", _events)
    return app


@dataclass
class UI:
    """A running UI server; ``url`` is what to open, ``close`` stops it."""

    runner: web.AppRunner
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    async def close(self) -> None:
        await self.runner.cleanup()


async def serve_ui(
    monitor: Monitor, host: str = "127.0.0.1", port: int = 0, *, token: str | None = None, mode: str = "live"
) -> UI:
    """Start serving the UI for ``monitor``; port 0 picks a free one."""
    runner = web.AppRunner(build_app(monitor, token=token, mode=mode), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    sockets = getattr(server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    return UI(runner, host, int(bound))
