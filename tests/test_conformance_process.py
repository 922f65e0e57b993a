"""``s2ws test rm --listen`` against ``s2ws rm simulate`` in a separate process, end to end on 127.0.0.1.

The simulator reconnects after every case; after the tester's TERMINATE it rightly stays away, so a
case after that one is reported as not run (a skip with that reason), never as the RM's failure.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from contextlib import suppress
from pathlib import Path


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()


async def test_the_suite_runs_against_a_simulator_in_its_own_process(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    tester = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "s2ws.cli",
        "test",
        "rm",
        "--listen",
        "127.0.0.1:0",
        "--wait",
        "10",
        "--timeout",
        "10",
        "--allowance",
        "3",
        "--only",
        "websocket,handshake,session-request,ombc",
        "--json",
        str(report),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    rm: asyncio.subprocess.Process | None = None
    try:
        assert tester.stdout is not None
        first = (await asyncio.wait_for(tester.stdout.readline(), 60)).decode()
        found = re.search(r"listening on (ws://127\.0\.0\.1:\d+/)", first)
        assert found, first
        rm = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "s2ws.cli",
            "rm",
            "simulate",
            "generator",
            "--connect",
            found.group(1),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        rest, _ = await asyncio.wait_for(tester.communicate(), 300)
        out = first + rest.decode()
    finally:
        await _stop(tester)
        if rm is not None:
            await _stop(rm)
    assert tester.returncode == 0, out
    results = {r["id"]: r for r in json.loads(report.read_text())["cases"]}
    verdicts = {ident: r["verdict"] for ident, r in results.items()}
    # every case before the TERMINATE ran on a fresh connection of the same RM process and passed
    for ident in ("S2-TEST-001", "S2-TEST-003", "S2-TEST-004", "S2-TEST-026", "S2-TEST-033", "S2-TEST-043"):
        assert verdicts[ident] == "pass", (ident, results[ident]["reason"], out)
    assert verdicts["S2-TEST-002"] == "pass", out  # the tester's TERMINATE: the simulator does not come back
    assert verdicts["S2-TEST-005"] == "skip", out
    assert results["S2-TEST-005"]["reason"].startswith("not run: the peer did not come back"), out
    assert "fail" not in verdicts.values() and "error" not in verdicts.values(), out
