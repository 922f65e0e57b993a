"""``s2ws demo``: the optimising CEM and the seven simulators on loopback in one process; ends on
--duration or Ctrl-C."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

from app_support import interrupt, listening_url, s2ws_command, wait_line
from interop_support import read_transcript

DEADLINE = 40.0


async def test_demo_shows_the_conversation_and_ends_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    transcript = tmp_path / "demo.jsonl"
    async with (
        asyncio.timeout(DEADLINE),
        s2ws_command("demo", "--interval", "0.5", "--record", str(transcript)) as demo,
    ):
        url = await listening_url(demo)
        assert url.startswith("ws://127.0.0.1:")
        seen: set[str] = set()
        wanted = {"SUCCEEDED for FRBC instruction", "s2ws demo: plan "}
        while not wanted <= seen:
            line = await wait_line(demo, lambda text: any(w in text for w in wanted))
            seen |= {w for w in wanted if w in line}
        result = await interrupt(demo, sig=signal.SIGINT)
    assert result.returncode == 0, result.describe()
    out = "\n".join(result.stdout_lines)
    for expected in (
        "SelectControlType          FILL_RATE_BASED_CONTROL  [OK]",
        "SelectControlType          POWER_ENVELOPE_BASED_CONTROL  [OK]",
        "FRBC.SystemDescription",
        "PEBC.PowerConstraints",
        "RM -> CEM  PowerMeasurement",
        "SelectControlType          POWER_PROFILE_BASED_CONTROL  [OK]",
        "SelectControlType          DEMAND_DRIVEN_BASED_CONTROL  [OK]",
        "SelectControlType          OPERATION_MODE_BASED_CONTROL  [OK]",
        "s2ws demo: SIGINT: the devices end their 7 session(s) with TERMINATE",
        "RM -> CEM  SessionRequest             TERMINATE (demo ending (SIGINT))  [OK]",
        "Home battery: FILL_RATE_BASED_CONTROL",
        "Solar panels on roof: POWER_ENVELOPE_BASED_CONTROL",
        ", objective ",  # the plan summaries
    ):
        assert expected in out, f"{expected!r} missing from:\n{out}"
    assert result.stdout_lines[-1] == "s2ws demo: done"
    assert "Traceback" not in result.stderr, result.stderr
    # the devices ended the sessions, so the CEM's transcript holds every answer: replay finds no error
    replayed = subprocess.run(
        [sys.executable, "-m", "s2ws.cli", "replay", str(transcript)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert len({f.session for f in read_transcript(transcript)}) == 7


async def test_demo_stops_by_itself_after_its_duration() -> None:
    async with asyncio.timeout(DEADLINE), s2ws_command("demo", "--duration", "1", "--quiet") as demo:
        result = await demo.finish(DEADLINE)
    assert result.returncode == 0, result.describe()
    assert any(line.startswith("s2ws demo: --duration 1 s elapsed: the devices end") for line in result.stdout_lines)
    assert result.stdout_lines[-1] == "s2ws demo: done"
    assert not any("CEM -> RM" in line for line in result.stdout_lines)  # --quiet: no live view


async def test_a_recorded_demo_replays_strictly_clean(tmp_path: Path) -> None:
    """The project agrees with itself: its simulators offer no NOT_CONTROLABLE beside a control
    type (S2-RMD-005), so ``replay --strict`` of a demo finds nothing, not even a warning."""
    transcript = tmp_path / "demo.jsonl"
    command = ("demo", "--duration", "3", "--interval", "0.5", "--quiet", "--record", str(transcript))
    async with asyncio.timeout(DEADLINE), s2ws_command(*command) as demo:
        result = await demo.finish(DEADLINE)
    assert result.returncode == 0, result.describe()
    replayed = subprocess.run(
        [sys.executable, "-m", "s2ws.cli", "replay", "--strict", str(transcript)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "0 error(s), 0 warning(s)" in replayed.stderr, replayed.stderr
    assert len({f.session for f in read_transcript(transcript)}) == 7  # the seven simulated devices
