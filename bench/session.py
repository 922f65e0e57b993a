"""Session benchmark: S2 sessions over loopback WebSockets, s2ws against s2-python 0.11.1 and a bare echo.

Run it with ``make bench`` (after the codec benchmark) or ``python -m bench.session [--write-docs]``
from the repository root.

Throughput: validated messages in, one ReceptionStatus out for each, on 127.0.0.1. This process hosts
the servers (the s2ws CEM: ``s2ws.transport.serve`` with one ``Session(CEM, checker=SessionContext())``
per WebSocket; the floor: a bare aiohttp echo answering each frame with a ReceptionStatus); every client
is its own process (``bench.session_peer``, or ``bench/s2python_client.py`` run by the s2-python
environment's interpreter), so that client and server each have a core. Runs of all competitors are
interleaved; figures are medians.

Idle sessions: ``--idle`` s2ws RM sessions opened by one process to the same s2ws CEM running alone in
another, all handshaken with their control type selected, then left idle; each process reads its own
VmRSS before and after, so the CEM side and the RM side are measured apart.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from s2ws.transport import serve

from .harness import fmt_ratio, machine_info, render_table
from .workload import cem_factory, cem_factory_unchecked, cem_on_event, echo_app, raise_fd_limit

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "performance.md"
BEGIN, END = "<!-- bench-session:begin -->", "<!-- bench-session:end -->"
S2PYTHON_PYTHON = REPO / ".venv-s2python" / "bin" / "python"
S2PYTHON_CLIENT = REPO / "bench" / "s2python_client.py"
DISTS = ("s2ws", "aiohttp", "msgspec")

PIPELINED_VS_FLOOR = 0.5  # budget: the s2ws session's pipelined rate is at least half the floor's
IDLE_SESSIONS = 10_000  # budget: one process holds this many idle RM sessions
FD_MARGIN = 256  # descriptors kept for everything but the sessions' sockets

FLOOR = "floor"
HEADLINE = "s2ws-rm"
MODES = ("pipelined", "sequential")


# --- client processes ---------------------------------------------------------------------------


class PeerError(RuntimeError):
    pass


class PeerProcess:
    """A client process answering JSON commands on stdin with JSON lines on stdout."""

    def __init__(self, name: str, argv: Sequence[str]) -> None:
        self.name = name
        self.argv = list(argv)
        self.proc: asyncio.subprocess.Process | None = None
        self._stderr: list[bytes] = []
        self._drain: asyncio.Task[None] | None = None

    async def start(self, timeout: float) -> dict[str, Any]:
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv,
            cwd=REPO,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        self._drain = asyncio.create_task(self._read_stderr())
        return await self.read(timeout)

    async def _read_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        while chunk := await self.proc.stderr.read(65536):
            self._stderr.append(chunk)

    @property
    def stderr(self) -> str:
        return b"".join(self._stderr).decode("utf-8", "replace")[-3000:]

    async def read(self, timeout: float) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        try:
            async with asyncio.timeout(timeout):
                while True:
                    line = await self.proc.stdout.readline()
                    if not line:
                        await self.proc.wait()
                        raise PeerError(f"{self.name} exited ({self.proc.returncode}):\n{self.stderr}")
                    text = line.decode("utf-8", "replace").strip()
                    if text.startswith("{"):
                        reply: dict[str, Any] = json.loads(text)
                        return reply
        except TimeoutError:
            raise PeerError(f"{self.name}: no answer within {timeout:g} s:\n{self.stderr}") from None

    async def send(self, command: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        await self.proc.stdin.drain()

    async def ask(self, command: dict[str, Any], timeout: float) -> dict[str, Any]:
        await self.send(command)
        return await self.read(timeout)

    async def stop(self, timeout: float) -> None:
        """Ask it to quit; kill it when it does not exit in time."""
        if self.proc is None:
            return
        if self.proc.returncode is None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.send({"cmd": "quit"})
            try:
                async with asyncio.timeout(timeout):
                    await self.proc.wait()
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._drain is not None:
            await self._drain


# --- throughput -----------------------------------------------------------------------------------


@dataclass
class Competitor:
    """One row of the throughput table: a client process and the server it talks to."""

    key: str
    client: str
    server: str
    wire: str
    argv: list[str]
    commands: dict[str, str]  # column (pipelined/sequential) -> the command the client runs for it
    rates: dict[str, list[float]] = field(default_factory=dict)
    not_ok: int = 0
    peer: PeerProcess | None = None

    def median(self, mode: str) -> float | None:
        runs = self.rates.get(mode)
        return statistics.median(runs) if runs else None

    def spread(self, mode: str) -> float | None:
        runs = self.rates.get(mode)
        if not runs:
            return None
        mid = statistics.median(runs)
        return (max(runs) - min(runs)) / mid if mid else None


def competitors(
    echo_url: str, cem_url: str, unchecked_url: str, uncorked_url: str, with_s2python: bool, max_outstanding: int
) -> list[Competitor]:
    peer = [sys.executable, "-m", "bench.session_peer"]
    rm = [*peer, "rm", "--url", cem_url, "--max-outstanding", str(max_outstanding)]
    uncorked_rm = [*peer, "rm", "--url", uncorked_url, "--max-outstanding", str(max_outstanding), "--no-cork"]
    both = {"pipelined": "pipelined", "sequential": "sequential"}
    out = [
        Competitor(FLOOR, "aiohttp client loop", "aiohttp echo", "none", [*peer, "raw", "--url", echo_url], both),
        Competitor(
            "floor-deflate",
            "aiohttp client loop",
            "aiohttp echo",
            "deflate",
            [*peer, "raw", "--deflate", "--url", echo_url],
            both,
        ),
        Competitor(HEADLINE, "s2ws RM (Client)", "s2ws CEM", "none", [*rm, "--transport", "client"], both),
        Competitor(
            "s2ws-rm-plain", "s2ws RM (engine + driver)", "s2ws CEM", "none", [*rm, "--transport", "plain"], both
        ),
        Competitor(
            "loop-to-cem", "aiohttp client loop", "s2ws CEM", "none", [*peer, "raw", "--s2", "--url", cem_url], both
        ),
        Competitor(
            "loop-to-unchecked",
            "aiohttp client loop",
            "s2ws CEM without SessionContext",
            "none",
            [*peer, "raw", "--s2", "--url", unchecked_url],
            both,
        ),
        Competitor(
            "s2ws-uncorked",
            "s2ws RM (Client, cork off)",
            "s2ws CEM, cork off",
            "none",
            [*uncorked_rm, "--transport", "client"],
            both,
        ),
        Competitor(
            "loop-to-uncorked",
            "aiohttp client loop",
            "s2ws CEM, cork off",
            "none",
            [*peer, "raw", "--s2", "--url", uncorked_url],
            both,
        ),
    ]
    if with_s2python:
        s2python = [str(S2PYTHON_PYTHON), str(S2PYTHON_CLIENT), "--url", cem_url]
        out += [
            Competitor("s2python", "s2-python RM", "s2ws CEM", "deflate", s2python, both),
            Competitor(
                "s2python-gather",
                "s2-python RM, gathered awaits",
                "s2ws CEM",
                "deflate",
                list(s2python),
                {"pipelined": "gathered"},
            ),
        ]
    return out


@dataclass
class Throughput:
    rows: list[Competitor]
    pipelined: int
    sequential: int
    runs: int
    note: str


async def measure_throughput(args: argparse.Namespace, progress: Any) -> Throughput:
    with_s2python = S2PYTHON_PYTHON.exists()
    note = "" if with_s2python else f"s2-python not measured: {S2PYTHON_PYTHON} is missing (`make interop-venv`)"
    cem = await serve(cem_factory, on_event=cem_on_event)
    unchecked = await serve(cem_factory_unchecked, on_event=cem_on_event)
    uncorked = await serve(cem_factory, on_event=cem_on_event, cork=False)
    runner = web.AppRunner(echo_app(), handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    echo_url = f"ws://127.0.0.1:{runner.addresses[0][1]}/"
    rows = competitors(
        echo_url, cem.url(), unchecked.url(), uncorked.url(), with_s2python, max(args.pipelined, 1000) + 100
    )
    sizes = {"pipelined": args.pipelined, "sequential": args.sequential}
    try:
        for row in list(rows):
            progress(f"starting {row.client} -> {row.server}")
            row.peer = PeerProcess(row.key, row.argv)
            try:
                await row.peer.start(args.timeout)
            except PeerError as exc:
                if not row.key.startswith("s2python"):
                    raise
                rows.remove(row)  # s2-python's environment is not ours to fix: say so and carry on
                lines = [line for line in str(exc).splitlines() if line.strip()]
                said = lines[0] if len(lines) == 1 else f"{lines[0]} {lines[-1]}"
                note += f"{row.client} could not start ({said}). "
                await row.peer.stop(10.0)
        for row in rows:  # warm-up: connections, caches and lazy imports, not timed
            progress(f"warm-up {row.client} -> {row.server}")
            for command in row.commands.values():
                await run_one(row, command, max(sizes["sequential"] // 5, 20), args.timeout)
        for r in range(args.runs):
            for mode in MODES:
                for row in rows:
                    if mode in row.commands:
                        progress(f"run {r + 1}/{args.runs}: {mode} {row.client} -> {row.server} ({row.wire})")
                        rate = await run_one(row, row.commands[mode], sizes[mode], args.timeout)
                        row.rates.setdefault(mode, []).append(rate)
    finally:
        await asyncio.gather(*(row.peer.stop(10.0) for row in rows if row.peer is not None))
        await cem.close()
        await unchecked.close()
        await uncorked.close()
        await runner.cleanup()
    return Throughput(rows, args.pipelined, args.sequential, args.runs, note)


async def run_one(row: Competitor, command: str, n: int, timeout: float) -> float:
    assert row.peer is not None
    reply = await row.peer.ask({"cmd": command, "n": n}, timeout)
    if reply.get("answered") != n:
        raise PeerError(f"{row.key}: {reply} ({n} messages sent)\n{row.peer.stderr}")
    row.not_ok += int(reply["not_ok"])
    rate: float = n / float(reply["seconds"])
    return rate


# --- idle sessions --------------------------------------------------------------------------------


@dataclass
class Idle:
    """Memory of one idle-session measurement: each side's RSS before and after."""

    sessions: int
    warm: int
    deflate: bool
    server_before: int
    server_after: int
    server_sessions: int
    client_before: int
    client_after: int
    open_seconds: float
    close_seconds: float
    failed: int
    fd_limit: tuple[int, int]
    concurrency: int
    note: str

    @property
    def measured(self) -> int:
        return self.sessions - self.warm

    def per_session(self, before: int, after: int) -> float:
        return (after - before) / self.measured if self.measured > 0 else 0.0

    @property
    def server_per_session(self) -> float:
        return self.per_session(self.server_before, self.server_after)

    @property
    def client_per_session(self) -> float:
        return self.per_session(self.client_before, self.client_after)


async def measure_idle(
    count: int, deflate: bool, concurrency: int, timeout: float, progress: Any, *, server_kind: str = "s2ws"
) -> Idle:
    """One process serves, another opens the sessions: each reports its own memory.

    ``server_kind="bare"``: a bare aiohttp WebSocket server, and the client only holds the sockets open."""
    soft, hard = raise_fd_limit(count + FD_MARGIN)  # inherited by both processes as their soft limit
    note = ""
    if soft < count + FD_MARGIN:
        note = (
            f"{count} sessions need about {count + FD_MARGIN} file descriptors in each process; the hard limit"
            f" (RLIMIT_NOFILE) is {hard}, so {soft - FD_MARGIN} were opened"
        )
        count = soft - FD_MARGIN
    warm = min(10, max(count // 10, 1))
    peer = [sys.executable, "-m", "bench.session_peer"]
    server = PeerProcess(
        "idle CEM",
        [*peer, "cem", "--server", server_kind, "--fds", str(count + FD_MARGIN), "--timeout", str(timeout)],
    )
    client: PeerProcess | None = None
    try:
        ready = await server.start(timeout)
        argv = [*peer, "idle", "--url", ready["url"], "--count", str(count), "--warm", str(warm)]
        argv += ["--concurrency", str(concurrency)]
        argv += ["--timeout", str(timeout), "--deflate" if deflate else "--no-deflate"]
        argv += ["--bare"] if server_kind == "bare" else []
        client = PeerProcess("idle RMs", argv)
        progress(f"idle sessions ({'deflate' if deflate else 'plain'}): opening {warm}")
        warm_reply = await client.start(timeout)
        before = await server.ask({"cmd": "rss"}, timeout)
        progress(f"idle sessions ({'deflate' if deflate else 'plain'}): opening {count - warm} more")
        opened = await client.ask({"cmd": "go"}, timeout)
        after = await server.ask({"cmd": "rss"}, timeout)
        progress("idle sessions: closing")
        closed = await client.ask({"cmd": "close"}, timeout)
    finally:
        if client is not None:
            await client.stop(timeout)
        await server.stop(timeout)
    if opened["failed"]:
        note = (note + "; " if note else "") + f"{opened['failed']} sessions did not reach their control type"
    return Idle(
        sessions=int(opened["sessions"]),
        warm=warm,
        deflate=deflate,
        server_before=int(before["rss"]),
        server_after=int(after["rss"]),
        server_sessions=int(after["sessions"]),
        client_before=int(warm_reply["rss"]),
        client_after=int(opened["rss"]),
        open_seconds=float(opened["seconds"]),
        close_seconds=float(closed["seconds"]),
        failed=int(opened["failed"]),
        fd_limit=(soft, hard),
        concurrency=concurrency,
        note=note,
    )


# --- report ---------------------------------------------------------------------------------------

LEGEND = {
    FLOOR: "the floor: a bare aiohttp client loop writing the frames, a bare aiohttp server answering each"
    " with a ReceptionStatus found by string search; aiohttp's defaults, so no compression",
    "floor-deflate": "the same, with permessage-deflate (which the s2ws server accepts when a client offers it)",
    HEADLINE: "s2ws RM as it ships: Session(RM) over s2ws.transport.Client (no compression unless compress=True);"
    " each message validated by Session.send, each ReceptionStatus decoded and matched",
    "s2ws-rm-plain": "the same engine and driver over a bare aiohttp WebSocket",
    "loop-to-cem": "the floor's client loop (handshake first) against the s2ws CEM: only the server differs",
    "loop-to-unchecked": "the same against a CEM whose Session has no checker (no rule context)",
    "s2ws-uncorked": "the s2ws RM and CEM as they ship, but with corking off at both ends"
    " (Client(cork=False), serve(cork=False)): every frame written at once, one packet each",
    "loop-to-uncorked": "the floor's client loop against that uncorked CEM",
    "s2python": "s2-python 0.11.1 (WebsocketClientMedium, S2AsyncConnection): send_and_forget then the"
    " statuses from its awaiter (pipelined); send_msg_and_await_reception_status (sequential)",
    "s2python-gather": "s2-python, asyncio.gather of send_msg_and_await_reception_status for all messages",
}


def fmt_rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:,.0f}"


def fmt_us(rate: float | None) -> str:
    return "-" if not rate else f"{1e6 / rate:.1f} µs"


def fmt_spread(spread: float | None) -> str:
    return "-" if spread is None else f"±{spread * 50:.0f}%"


def fmt_kib(n: float) -> str:
    return f"{n / 1024:.1f} KiB"


def fmt_mib(n: float) -> str:
    return f"{n / 1024 / 1024:,.0f} MiB"


def _row(rows: Sequence[Competitor], key: str) -> Competitor | None:
    return next((r for r in rows if r.key == key), None)


def _per_message(rows: Sequence[Competitor], key: str, mode: str = "pipelined") -> float | None:
    row = _row(rows, key)
    rate = row.median(mode) if row else None
    return 1e6 / rate if rate else None


def throughput_table(t: Throughput, md: bool) -> str:
    floor_rate = _row(t.rows, FLOOR)
    base = floor_rate.median("pipelined") if floor_rate else None
    out = []
    for i, row in enumerate(t.rows, 1):
        pipe, seq = row.median("pipelined"), row.median("sequential")
        out.append(
            [
                f"{i}. {row.client}",
                row.server,
                row.wire,
                fmt_rate(pipe),
                fmt_spread(row.spread("pipelined")),
                fmt_us(pipe),
                fmt_ratio(pipe / base) if pipe and base else "-",
                fmt_rate(seq),
                fmt_spread(row.spread("sequential")),
                fmt_us(seq),
            ]
        )
    headers = ["client", "server", "compression", "pipelined msg/s", "spread", "per msg", "/ floor"]
    headers += ["sequential msg/s", "spread", "round trip"]
    return render_table(headers, out, md, left=3)


def idle_table(idles: Sequence[Idle], md: bool) -> str:
    rows = [
        [
            "permessage-deflate (client opts in)" if idle.deflate else "no compression (as shipped)",
            f"{idle.server_sessions:,}",
            f"{idle.open_seconds:.1f} s",
            f"{fmt_mib(idle.server_before)} → {fmt_mib(idle.server_after)}",
            fmt_kib(idle.server_per_session),
            f"{fmt_mib(idle.client_before)} → {fmt_mib(idle.client_after)}",
            fmt_kib(idle.client_per_session),
            fmt_kib(idle.server_per_session + idle.client_per_session),
        ]
        for idle in idles
    ]
    headers = ["idle sessions", "live on the CEM", "opened in", "CEM process RSS", "CEM / session"]
    headers += ["RM process RSS", "RM / session", "both / session"]
    return render_table(headers, rows, md, left=1)


def verdicts(t: Throughput | None, idles: Sequence[Idle]) -> list[str]:
    out = []
    if t is not None:
        floor, s2ws = _row(t.rows, FLOOR), _row(t.rows, HEADLINE)
        floor_rate = floor.median("pipelined") if floor else None
        rate = s2ws.median("pipelined") if s2ws else None
        if floor_rate and rate:
            ratio = rate / floor_rate
            out.append(
                f"pipelined s2ws RM -> s2ws CEM: {rate:,.0f} msg/s, {ratio:.0%} of the bare aiohttp echo's"
                f" {floor_rate:,.0f} msg/s (budget >= {PIPELINED_VS_FLOOR:.0%}):"
                f" {'met' if ratio >= PIPELINED_VS_FLOOR else 'NOT MET'}"
            )
    if idles:
        idle = idles[0]
        ok = idle.server_sessions >= IDLE_SESSIONS and idle.failed == 0
        out.append(
            f"idle RM sessions held by one s2ws CEM process: {idle.server_sessions:,} (budget {IDLE_SESSIONS:,}):"
            f" {'met' if ok else 'NOT MET'}; {fmt_kib(idle.server_per_session)} per session on the CEM,"
            f" {fmt_kib(idle.client_per_session)} on the RM side"
        )
    return out


def analysis(t: Throughput | None, idles: Sequence[Idle]) -> list[str]:
    out = []
    if t is not None:
        rows = t.rows
        floor, deflate = _per_message(rows, FLOOR), _per_message(rows, "floor-deflate")
        loop, unchecked = _per_message(rows, "loop-to-cem"), _per_message(rows, "loop-to-unchecked")
        shipped, plain = _per_message(rows, HEADLINE), _per_message(rows, "s2ws-rm-plain")
        if floor and loop:
            line = (
                f"The same client loop gets its answers in {loop:.1f} µs per message from the s2ws CEM and"
                f" {floor:.1f} µs from the bare echo: the CEM (driver, session engine, rule context) costs"
                f" {loop - floor:.1f} µs per message more than aiohttp alone"
            )
            if unchecked:
                line += f"; without SessionContext it answers in {unchecked:.1f} µs ({loop - unchecked:+.1f} µs)"
            out.append(line + ".")
        if floor and deflate:
            line = (
                f"permessage-deflate takes the bare echo from {floor:.1f} to {deflate:.1f} µs per message"
                f" ({deflate - floor:+.1f} µs)"
            )
            headline = _row(rows, HEADLINE)
            if plain and shipped and headline is not None and headline.wire == "deflate":
                line += f", the s2ws RM -> CEM pair from {plain:.1f} to {shipped:.1f} µs"
            out.append(line + ".")
        uncorked, loop_uncorked = _per_message(rows, "s2ws-uncorked"), _per_message(rows, "loop-to-uncorked")
        if floor and shipped and uncorked:
            line = (
                f"Corking: with every frame written at once the s2ws RM -> CEM pair takes {uncorked:.1f} µs per"
                f" message instead of {shipped:.1f} ({floor / uncorked:.0%} of the floor instead of"
                f" {floor / shipped:.0%})"
            )
            if loop and loop_uncorked:
                line += (
                    f"; the floor's loop gets its answers from the CEM in {loop_uncorked:.1f} instead of {loop:.1f} µs"
                )
            out.append(line + ".")
        if floor and plain and shipped:
            out.append(
                f"The same RM engine and driver over a bare aiohttp WebSocket pipeline at {floor / plain:.0%} of the"
                f" floor (through Client, as shipped: {floor / shipped:.0%})."
            )
        s2p, s2ws = _per_message(rows, "s2python"), shipped
        if s2p and s2ws:
            out.append(
                f"s2-python pipelines at {s2ws / s2p:.0%} of the s2ws RM's rate against the same CEM"
                f" ({s2p:.1f} against {s2ws:.1f} µs per message)."
            )
        rtt = {k: _per_message(rows, k, "sequential") for k in (FLOOR, "loop-to-cem", HEADLINE, "s2python")}
        if all(rtt.values()):
            out.append(
                f"Round trips: {rtt[FLOOR]:.0f} µs for the floor, {rtt['loop-to-cem']:.0f} µs for its loop against"
                f" the s2ws CEM, {rtt[HEADLINE]:.0f} µs for the s2ws RM and {rtt['s2python']:.0f} µs for s2-python."
            )
    shipped_idle = next((i for i in idles if i.deflate), None)
    plain_idle = next((i for i in idles if not i.deflate), None)
    if shipped_idle and plain_idle:
        out.append(
            f"Idle memory: permessage-deflate accounts for"
            f" {fmt_kib(shipped_idle.server_per_session - plain_idle.server_per_session)} of the"
            f" {fmt_kib(shipped_idle.server_per_session)} per session on the CEM side and"
            f" {fmt_kib(shipped_idle.client_per_session - plain_idle.client_per_session)} of the"
            f" {fmt_kib(shipped_idle.client_per_session)} on the RM side (zlib's compressor and"
            " decompressor state, kept for the life of the connection)."
        )
    return out


def report(t: Throughput | None, idles: Sequence[Idle], md: bool, command: str, settings: str) -> str:
    h = "### " if md else "== "
    out: list[str] = []
    if md:
        out += [
            f"Recorded {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `{command}`.",
            "",
            render_table(["machine", ""], [list(r) for r in machine_info(DISTS)], True, left=2),
            "",
        ]
    else:
        out += ["  ".join(f"{k}: {v}" for k, v in machine_info(DISTS)), ""]
    out += [f"Settings: {settings}.", ""]
    if t is not None:
        out += [f"{h}Throughput over loopback", ""]
        out += [
            f"Pipelined: {t.pipelined:,} messages (PowerMeasurement and FRBC.StorageStatus in turn) written"
            f" without waiting, timed until the last ReceptionStatus is read; sequential: {t.sequential:,}"
            f" round trips, one message at a time. Median of {t.runs} interleaved runs; spread is"
            " (max - min) / 2 around the median.",
            "",
            throughput_table(t, md),
            "",
        ]
        out += [f"{i}. {LEGEND.get(r.key, r.key)}" for i, r in enumerate(t.rows, 1)] + [""]
        bad = [f"{r.client} -> {r.server}: {r.not_ok}" for r in t.rows if r.not_ok]
        out += ["Answers other than OK: " + (", ".join(bad) if bad else "none."), ""]
        if t.note:
            out += [t.note, ""]
    if idles:
        first = idles[0]
        out += [f"{h}Idle sessions", ""]
        out += [
            f"One process serves (the s2ws CEM of row 3), another opens {first.sessions:,} s2ws RM sessions"
            f" ({first.concurrency} handshakes in flight at a time), each an engine and a driver over its own"
            " WebSocket, handshaken, with FRBC selected, then idle. Per session = RSS growth of that process"
            f" / the {first.measured:,} sessions opened after the baseline (read with {first.warm} open)."
            f" Descriptors: soft limit {first.fd_limit[0]}, hard {first.fd_limit[1]} per process.",
            "",
            idle_table(idles, md),
            "",
        ]
        if first.fd_limit[1] < 2 * first.sessions + FD_MARGIN:
            out += [
                f"Both ends of {first.sessions:,} sessions in a single process would need about"
                f" {2 * first.sessions + FD_MARGIN:,} descriptors, above the hard limit here; hence two processes.",
                "",
            ]
        out += [f"Note: {idle.note}." for idle in idles if idle.note]
        if any(idle.note for idle in idles):
            out.append("")
    lines = analysis(t, idles)
    if lines:
        out += [f"{h}Where the time and memory go", ""]
        out += [f"- {line}" for line in lines] + [""]
    out += [f"{h}Budgets", ""]
    out += [f"- {v}" for v in verdicts(t, idles)]
    return "\n".join(out) + "\n"


def write_doc(text: str) -> None:
    """Replace the recorded run between this benchmark's markers in docs/performance.md (append them if missing)."""
    block = f"{BEGIN}\n{text}{END}"
    old = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Performance\n"
    if BEGIN in old and END in old:
        head, rest = old.split(BEGIN, 1)
        DOC.write_text(head + block + rest.split(END, 1)[1], encoding="utf-8")
    else:
        DOC.write_text(old.rstrip("\n") + f"\n\n## Session benchmark: recorded run\n\n{block}\n", encoding="utf-8")


# --- main -----------------------------------------------------------------------------------------


async def main_async(args: argparse.Namespace, progress: Any) -> tuple[Throughput | None, list[Idle]]:
    idles: list[Idle] = []
    if args.idle:
        idles.append(await measure_idle(args.idle, False, args.concurrency, args.timeout, progress))
        if args.idle_deflate:
            idles.append(await measure_idle(args.idle, True, args.concurrency, args.timeout, progress))
    throughput = await measure_throughput(args, progress) if args.runs else None
    return throughput, idles


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.session", description=__doc__.splitlines()[0])
    parser.add_argument("--write-docs", action="store_true", help=f"record the run in {DOC.relative_to(REPO)}")
    parser.add_argument("--runs", type=int, default=7, help="interleaved runs per figure, the median is reported (7)")
    parser.add_argument("--pipelined", type=int, default=10_000, help="messages per pipelined run (10000)")
    parser.add_argument("--sequential", type=int, default=2000, help="round trips per sequential run (2000)")
    parser.add_argument("--idle", type=int, default=IDLE_SESSIONS, help=f"idle sessions, 0 to skip ({IDLE_SESSIONS})")
    parser.add_argument(
        "--idle-deflate",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure idle sessions with permessage-deflate, which clients may opt into (on)",
    )
    parser.add_argument("--concurrency", type=int, default=100, help="idle sessions handshaking at once (100)")
    parser.add_argument("--timeout", type=float, default=120.0, help="bound on every step, in seconds (120)")
    parser.add_argument("--quick", action="store_true", help="2 runs, small counts: a smoke test, not a measurement")
    parser.add_argument("--invoked-as", default=None, help="the command to record in the docs")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a budget is not met")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.pipelined, args.sequential = 2, 500, 100
        args.idle = min(args.idle, 200)
    command = args.invoked_as or "python -m bench.session " + " ".join(sys.argv[1:] if argv is None else argv)

    def progress(text: str) -> None:
        print(f"\r\033[K  {text}"[:110], end="", file=sys.stderr, flush=True)

    load = os.getloadavg()[0]
    throughput, idles = asyncio.run(main_async(args, progress))
    print("\r\033[K", end="", file=sys.stderr, flush=True)
    settings = (
        f"servers in this process, each client in its own process, 127.0.0.1; {args.runs} runs of"
        f" {args.pipelined:,} pipelined messages and {args.sequential:,} round trips per client;"
        f" load average {load:.2f} when the run started (other busy processes move the figures)"
    )
    print(report(throughput, idles, md=False, command=command, settings=settings))
    if args.write_docs:
        write_doc(report(throughput, idles, md=True, command=command, settings=settings))
        print(f"recorded in {DOC.relative_to(REPO)}")
    met = all(v.endswith(": met") or ": met;" in v for v in verdicts(throughput, idles))
    return 1 if args.strict and not met else 0


if __name__ == "__main__":
    sys.exit(main())
