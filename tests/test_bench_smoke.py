"""The session benchmark runs end to end on a handful of messages and sessions.

Only that it works is checked (every client answered, every answer OK, every idle session reached its
control type); its figures are never asserted: a benchmark reports, a test asserts behaviour.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import session  # noqa: E402


def _quiet(_: str) -> None:
    return None


async def test_session_benchmark_runs_small() -> None:
    args = argparse.Namespace(pipelined=40, sequential=10, runs=1, timeout=60.0)
    throughput = await session.measure_throughput(args, _quiet)
    keys = [row.key for row in throughput.rows]
    assert keys[:2] == [session.FLOOR, "floor-deflate"] and session.HEADLINE in keys
    for row in throughput.rows:
        assert set(row.rates) == set(row.commands), row.key
        assert all(rate > 0 for rates in row.rates.values() for rate in rates), row.key
        assert row.not_ok == 0, row.key

    idle = await session.measure_idle(20, True, 10, 60.0, _quiet)
    assert (idle.sessions, idle.server_sessions, idle.failed) == (20, 20, 0)

    text = session.report(throughput, [idle], md=True, command="pytest", settings="smoke")
    assert "### Throughput over loopback" in text and "### Budgets" in text
    assert "pipelined s2ws RM -> s2ws CEM" in text


async def test_memory_benchmark_runs_small() -> None:
    from bench import memory

    args = argparse.Namespace(sessions=20, concurrency=10, timeout=60.0)
    bare, s2ws = await memory.main_async(args)
    assert (bare.sessions, bare.server_sessions, bare.failed) == (20, 20, 0)
    assert (s2ws.sessions, s2ws.server_sessions, s2ws.failed) == (20, 20, 0)
    text = memory.report(bare, s2ws, md=True, command="pytest")
    assert "bare aiohttp WebSocket server" in text and "s2ws CEM" in text


async def test_shutdown_benchmark_runs_small() -> None:
    from bench import shutdown

    result = await shutdown.measure(10, 5, 60.0)
    assert result["sessions"] == 10 and result["exit_code"] == 0 and result["terminated"] == 10
