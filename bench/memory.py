"""Memory per idle session on the CEM, side by side with a bare aiohttp WebSocket server.

Two runs of the idle-session measurement of :mod:`bench.session` (one process serves, another opens the
sessions; each reads its own VmRSS after a garbage collection): first a bare aiohttp WebSocket server
whose client only holds the sockets open, then the s2ws CEM (engine, rule context, driver, server
bookkeeping) whose RMs are handshaken with FRBC selected. Both without compression, as shipped.

    python -m bench.memory [--sessions 10000] [--write-docs]

The descriptor limit is raised as far as the hard limit allows; when it cannot hold ``--sessions``
the most that fit are opened and the report says so. The budget: at most 20 KiB per idle session on
the CEM at 10,000 sessions.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.harness import render_table
from bench.session import Idle, fmt_kib, fmt_mib, measure_idle

REPO = Path(__file__).resolve().parent.parent
DOCS = (REPO / "docs" / "performance.md", REPO / "docs" / "reliability.md")
BEGIN, END = "<!-- bench-memory:begin -->", "<!-- bench-memory:end -->"
BUDGET_KIB = 20.0
SESSIONS = 10_000


def table(bare: Idle, s2ws: Idle, md: bool) -> str:
    rows = []
    for name, idle in (("bare aiohttp WebSocket server", bare), ("s2ws CEM (as shipped)", s2ws)):
        rows.append(
            [
                name,
                f"{idle.server_sessions:,}",
                f"{fmt_mib(idle.server_before)} → {fmt_mib(idle.server_after)}",
                fmt_kib(idle.server_per_session),
                f"{idle.open_seconds:.1f} s",
            ]
        )
    headers = ["server", "idle sessions", "server RSS", "per session", "opened in"]
    return render_table(headers, rows, markdown=md)


def report(bare: Idle, s2ws: Idle, md: bool, command: str) -> str:
    per = s2ws.server_per_session / 1024
    verdict = "met" if per <= BUDGET_KIB and s2ws.server_sessions >= SESSIONS else "NOT MET"
    lines = [
        f"Measured with `{command}`: one process serves, another opens the sessions ({s2ws.concurrency} at a"
        f" time); per session = growth of the server's VmRSS / the sessions opened after the baseline"
        f" (read with {s2ws.warm} open). Descriptors: soft limit {s2ws.fd_limit[0]}, hard {s2ws.fd_limit[1]}.",
        "",
        table(bare, s2ws, md),
        "",
        f"- s2ws over bare aiohttp: {fmt_kib(s2ws.server_per_session - bare.server_per_session)} per idle session"
        f" (the engine, its rule context, the driver and the server's bookkeeping).",
        f"- budget: at most {BUDGET_KIB:g} KiB per idle session on the CEM with {SESSIONS:,} sessions:"
        f" {fmt_kib(s2ws.server_per_session)} at {s2ws.server_sessions:,}: {verdict}.",
    ]
    for idle in (bare, s2ws):
        if idle.note:
            lines.append(f"- note: {idle.note}")
    return "\n".join(lines) + "\n"


def write_docs(text: str) -> None:
    for doc in DOCS:
        old = doc.read_text(encoding="utf-8") if doc.exists() else ""
        block = f"{BEGIN}\n{text}{END}"
        if BEGIN in old and END in old:
            head, rest = old.split(BEGIN, 1)
            new = head + block + rest.split(END, 1)[1]
        else:
            new = old.rstrip("\n") + "\n\n## Memory per idle session\n\n" + block + "\n"
        doc.write_text(new, encoding="utf-8")


async def main_async(args: argparse.Namespace) -> tuple[Idle, Idle]:
    def progress(text: str) -> None:
        print(f"[bench.memory] {text}", file=sys.stderr, flush=True)

    bare = await measure_idle(args.sessions, False, args.concurrency, args.timeout, progress, server_kind="bare")
    s2ws = await measure_idle(args.sessions, False, args.concurrency, args.timeout, progress)
    return bare, s2ws


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=SESSIONS)
    parser.add_argument("--concurrency", type=int, default=100, help="handshakes in flight at once")
    parser.add_argument("--timeout", type=float, default=300.0, help="bound on each step, in seconds")
    parser.add_argument("--write-docs", action="store_true", help="record the figures in docs/")
    parser.add_argument("--invoked-as", default="python -m bench.memory", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    bare, s2ws = asyncio.run(main_async(args))
    command = args.invoked_as if args.sessions == SESSIONS else f"{args.invoked_as} --sessions {args.sessions}"
    print(report(bare, s2ws, md=False, command=command))
    if args.write_docs:
        write_docs(report(bare, s2ws, md=True, command=command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
