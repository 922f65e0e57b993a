"""SIGINT to ``s2ws cem`` with many RM sessions open: how long until it exits, and did every RM get TERMINATE?

    python -m bench.shutdown [--sessions 5000]

``s2ws cem`` runs as its own process; this process opens the sessions (an s2ws RM engine and driver over
one WebSocket each, handshaken, FRBC selected, then idle), sends SIGINT, and measures the time from the
signal to the process's exit. Afterwards each RM engine tells whether its session ended by the CEM's
SessionRequest TERMINATE.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from collections.abc import Sequence

import aiohttp

from bench.session_peer import IdleRMs
from bench.workload import raise_fd_limit
from s2ws.transport import ended_with_terminate

SESSIONS = 5_000


async def measure(count: int, concurrency: int, timeout: float) -> dict[str, float]:
    raise_fd_limit(count + 256)
    cem = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "s2ws.cli",
        "cem",
        "--listen",
        "127.0.0.1:0",
        "--quiet",
        "--rate-limit",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert cem.stdout is not None
    try:
        async with asyncio.timeout(timeout):
            line = (await cem.stdout.readline()).decode()
            url = line.split("listening on ", 1)[1].split()[0]
            rms = IdleRMs(url, deflate=False)
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
                t0 = time.perf_counter()
                await rms.open(http, count, concurrency)
                opened = time.perf_counter() - t0
                await asyncio.sleep(1.0)
                t0 = time.perf_counter()
                cem.send_signal(signal.SIGINT)
                code = await cem.wait()
                exited = time.perf_counter() - t0
                await asyncio.gather(*rms.tasks, return_exceptions=True)
        terminated = sum(1 for d in rms.drivers if ended_with_terminate(d.engine))
        return {
            "sessions": float(len(rms.drivers)),
            "failed": float(rms.failed),
            "opened_s": opened,
            "exit_s": exited,
            "exit_code": float(code),
            "terminated": float(terminated),
        }
    finally:
        if cem.returncode is None:
            cem.kill()
            await cem.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.shutdown", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=SESSIONS)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args(argv)
    result = asyncio.run(measure(args.sessions, args.concurrency, args.timeout))
    print(
        f"{int(result['sessions']):,} sessions opened in {result['opened_s']:.1f} s"
        f" ({int(result['failed'])} without their control type); SIGINT -> exit {int(result['exit_code'])}"
        f" in {result['exit_s']:.2f} s; {int(result['terminated']):,} sessions ended by the CEM's TERMINATE"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
