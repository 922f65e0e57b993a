"""Run catalogue cases against a real peer: one fresh WebSocket session per case, bounded in time.

Verdict of a case: ``fail`` when its script's expectation is not met or when the rule catalogue
finds an error in a frame of the peer (or a message of the tester the peer never answered, or
answered with a status the rules do not call for); ``skip`` when the case does not apply to the
peer; ``error`` when no session could be opened at all; ``pass`` otherwise.

Three ways to reach the peer, each a :class:`Connector`: :class:`Listener` waits for the peer to
connect (an RM under test must reconnect for every case, as s2ws's simulators do with back-off),
:class:`Dialer` connects to a URL (an RM that listens, or a CEM), and any async callable that
returns an open aiohttp WebSocket.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from ..rules.replay import Record, Replay
from .cases import Case, CaseContext, CaseSkipped
from .probe import CaseFailed, Probe, Socket, TranscriptLine

__all__ = ["CaseResult", "Connector", "Dialer", "Listener", "run_case", "run_cases"]

Connector = Callable[[float], Awaitable[Socket]]
"""Open a fresh WebSocket to the peer within the given number of seconds."""


@dataclass
class CaseResult:
    case: Case
    verdict: str
    reason: str
    findings: list[str] = field(default_factory=list)
    transcript: list[TranscriptLine] = field(default_factory=list)
    seconds: float = 0.0
    profile: str = ""

    @property
    def passed(self) -> bool:
        return self.verdict in ("pass", "skip")

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.case.id,
            "title": self.case.title,
            "role": self.case.role,
            "profile": self.profile,
            "verdict": self.verdict,
            "reason": self.reason,
            "rules": list(self.case.rules),
            "tags": list(self.case.tags),
            "findings": self.findings,
            "seconds": round(self.seconds, 3),
            "transcript": [{"t": x.t, "dir": x.dir, "session": x.session, "text": x.text} for x in self.transcript],
        }


def judge(transcript: list[TranscriptLine], peer_dir: str, profile: str, tolerate: Iterable[str] = ()) -> list[str]:
    """Errors the rule catalogue finds that are the peer's: in its frames, or in its (missing) answers."""
    replay = Replay(profile)
    findings = []
    records = [Record(n, _parse_t(x.t), x.dir, x.session, x.text) for n, x in enumerate(transcript, start=1)]
    for record in records:
        findings += replay.feed(record)
    findings += replay.finish()
    windows = _crossing(transcript, peer_dir)
    tolerated = set(tolerate)
    out = []
    for f in findings:
        if f.severity != "error" or f.rule in tolerated:
            continue
        if f.rule in _CROSSING_RULES and f.direction == peer_dir and any(a < f.line < b for a, b in windows):
            continue  # sent before the peer read our state change: the two crossed on the wire
        peers = f.direction == peer_dir and f.rule != "S2-RS-004"
        unanswered = f.rule == "S2-RS-004" and f.direction != peer_dir
        if peers or unanswered:
            out.append(f"frame {f.line}: {f.message_type or 'frame'}: {f.rule} at {f.pointer or '/'}: {f.reason}")
    return out


_STATE_CHANGES = frozenset({"SelectControlType", "SessionRequest"})
_CROSSING_RULES = frozenset({"S2-SESSION-003", "S2-SESSION-004"})


def _crossing(transcript: list[TranscriptLine], peer_dir: str) -> list[tuple[int, int]]:
    """Line windows in which the peer had not yet read a state change of the tester (a new control
    type, a SessionRequest): what it sent then was right when it was sent."""
    import json

    open_at: dict[str, int] = {}
    windows = []
    for number, line in enumerate(transcript, start=1):
        try:
            message = json.loads(line.text)
        except ValueError:
            continue
        if not isinstance(message, dict):
            continue
        if line.dir != peer_dir and message.get("message_type") in _STATE_CHANGES:
            open_at[str(message.get("message_id"))] = number
        elif line.dir == peer_dir and message.get("message_type") == "ReceptionStatus":
            start = open_at.pop(str(message.get("subject_message_id")), None)
            if start is not None:
                windows.append((start, number))
    windows += [(start, len(transcript) + 1) for start in open_at.values()]
    return windows


def _parse_t(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def run_case(case: Case, connector: Connector, ctx: CaseContext, *, timeout: float = 5.0) -> CaseResult:
    """One case on one fresh connection; never raises for the peer's behaviour."""
    started = time.monotonic()
    tester = "cem" if case.role == "rm" else "rm"
    if not case.applies(ctx.profile):
        reason = f"the case is for profile {', '.join(case.profiles)}, not {ctx.profile}"
        return CaseResult(case, "skip", reason, profile=ctx.profile)
    try:
        socket = await connector(timeout)
    except (TimeoutError, OSError, aiohttp.ClientError) as exc:
        reason = f"no connection with the peer: {exc or type(exc).__name__}"
        return CaseResult(case, "error", reason, seconds=time.monotonic() - started, profile=ctx.profile)
    probe = Probe(socket, tester, deadline=time.monotonic() + timeout)
    verdict, reason = "pass", ""
    try:
        await case.script(probe, ctx)
    except CaseSkipped as exc:
        verdict, reason = "skip", str(exc)
    except CaseFailed as exc:
        verdict, reason = "fail", str(exc)
    except (OSError, aiohttp.ClientError, ConnectionError) as exc:
        verdict, reason = "fail", f"the connection failed: {exc}"
    finally:
        with suppress(Exception):
            await asyncio.wait_for(probe.close(), 2.0)
    findings = judge(probe.transcript, probe.in_dir, ctx.profile, probe.tolerate) if verdict != "skip" else []
    if verdict == "pass" and findings:
        verdict, reason = "fail", f"{len(findings)} rule error(s) in the peer's frames: {findings[0]}"
    return CaseResult(case, verdict, reason, findings, probe.transcript, time.monotonic() - started, ctx.profile)


async def run_cases(
    cases: Iterable[Case],
    connector: Connector,
    ctx: CaseContext,
    *,
    timeout: float = 5.0,
    progress: Callable[[CaseResult], None] | None = None,
) -> list[CaseResult]:
    """Run ``cases`` in order, each on a fresh connection.

    A SessionRequest TERMINATE (from either side) may end the relation for good: the standard lets the
    client stay away. A case that then finds no peer is not run, and says so (verdict ``skip``), rather
    than blamed on the peer; run it on its own to check it."""
    results: list[CaseResult] = []
    ended_by: str | None = None
    for item in cases:
        result = await run_case(item, connector, ctx, timeout=timeout)
        if result.verdict == "error" and ended_by is not None:
            result.verdict = "skip"
            result.reason = (
                f"not run: the peer did not come back after the SessionRequest TERMINATE of {ended_by}, "
                f"as the standard allows; run this case on its own (--only {item.id[-3:]})"
            )
        elif _terminated(result.transcript):
            ended_by = item.id
        if progress is not None:
            progress(result)
        results.append(result)
    return results


def _terminated(transcript: list[TranscriptLine]) -> bool:
    import json

    for line in transcript:
        try:
            message = json.loads(line.text)
        except ValueError:
            continue
        if isinstance(message, dict) and (message.get("message_type"), message.get("request")) == (
            "SessionRequest",
            "TERMINATE",
        ):
            return True
    return False


class Dialer:
    """Connects to ``url`` for every case."""

    def __init__(self, url: str, *, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self.headers = headers or {}
        self._http: aiohttp.ClientSession | None = None

    async def __call__(self, timeout: float) -> Socket:
        if self._http is None:
            self._http = aiohttp.ClientSession()
        ws = await self._http.ws_connect(
            self.url, timeout=aiohttp.ClientWSTimeout(ws_close=2.0), headers=self.headers, autoping=True
        )
        return ws

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def __aenter__(self) -> Dialer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class Listener:
    """Listens on ``host:port``; each case takes the next peer that connects (queued in arrival order)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, path: str = "/") -> None:
        self.host, self.port, self.path = host, port, path
        self._queue: asyncio.Queue[tuple[web.WebSocketResponse, asyncio.Event]] = asyncio.Queue()
        self._runner: web.AppRunner | None = None
        self._open: list[asyncio.Event] = []

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}{self.path}"

    async def start(self) -> Listener:
        app = web.Application()
        app.router.add_get(self.path, self._handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:
            self.port = int(self._runner.addresses[0][1])
        return self

    async def _handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        done = asyncio.Event()
        self._open.append(done)
        await self._queue.put((ws, done))
        await done.wait()
        if not ws.closed:
            await ws.close()
        return ws

    async def __call__(self, timeout: float) -> Socket:
        while True:
            async with asyncio.timeout(timeout):
                ws, done = await self._queue.get()
            if not ws.closed:
                return _Released(ws, done)
            done.set()

    async def close(self) -> None:
        for done in self._open:
            done.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Listener:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class _Released:
    """A server-side WebSocket that lets its request handler finish once the case closed it."""

    def __init__(self, ws: web.WebSocketResponse, done: asyncio.Event) -> None:
        self._ws, self._done = ws, done

    @property
    def closed(self) -> bool:
        return self._ws.closed

    @property
    def close_code(self) -> int | None:
        return self._ws.close_code

    async def send_str(self, data: str) -> None:
        await self._ws.send_str(data)

    async def receive(self, timeout: float | None = None) -> Any:
        return await self._ws.receive(timeout=timeout)

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
        try:
            return await self._ws.close(code=code, message=message)
        finally:
            self._done.set()
