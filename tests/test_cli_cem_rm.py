"""``s2ws cem`` and ``s2ws rm simulate`` as real processes on 127.0.0.1, then ``s2ws replay`` on the
CEM's transcript. The RMs end their sessions (SIGINT -> TERMINATE) so that the CEM's transcript also
holds its answers to them; then the CEM is interrupted and must exit 0.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app_support import interrupt, listening_url, s2ws_command, statuses, unanswered, wait_line
from interop_support import REPO, free_port, is_uuid, read_transcript
from s2ws.cli import main

DEADLINE = 40.0
DAY = datetime(2026, 3, 20, tzinfo=UTC)
"""The simulated day every run starts on, whatever the wall clock says."""


def _start_hours() -> tuple[float, ...]:
    """Hours of :data:`DAY` the end-to-end runs start at: one at night, one at noon (the planner's
    two regimes). ``S2WS_SIM_HOURS=0,1.2,2.4`` sweeps others on purpose, e.g. a whole day."""
    chosen = os.environ.get("S2WS_SIM_HOURS", "")
    return tuple(float(h) for h in chosen.split(",")) if chosen.strip() else (2.0, 12.0)


START_HOURS = _start_hours()


def fast(hour: float) -> tuple[str, ...]:
    """An hour every second, on the same simulated clock on both sides, starting at ``hour`` of
    :data:`DAY`: fast, yet a scheduling hiccup of a loaded machine stays minutes of simulated time,
    not hours, and what the planner does does not depend on when the test runs."""
    start = DAY + timedelta(hours=hour)
    return ("--speed", "3600", "--origin", datetime.now(UTC).isoformat(), "--start", start.isoformat())


def test_start_pins_the_simulated_time_of_day() -> None:
    """What ``fast`` relies on: ``--origin``/``--start`` give the same simulated clock in both commands."""
    from s2ws.app.clock import SimClock
    from s2ws.app.console import parse_origin

    args = fast(5.5)
    origin, start = parse_origin(args[3]), parse_origin(args[5])
    clock = SimClock(float(args[1]), origin=origin, start=start)
    assert DAY + timedelta(hours=5.5) <= clock() < DAY + timedelta(hours=5.5, minutes=30)


@pytest.mark.parametrize("hour", START_HOURS)
async def test_cem_serves_a_battery_and_a_pv_and_its_transcript_replays_clean(tmp_path: Path, hour: float) -> None:
    cem_log, battery_log, pv_log = tmp_path / "cem.jsonl", tmp_path / "battery.jsonl", tmp_path / "pv.jsonl"
    clock = fast(hour)
    rm_args = ("--interval", "900", *clock)
    async with asyncio.timeout(DEADLINE):
        async with s2ws_command(
            "cem", "--listen", "127.0.0.1:0", "--record", str(cem_log), "--planner", "rules", *clock
        ) as cem:
            url = await listening_url(cem)
            assert url.startswith("ws://127.0.0.1:")
            async with (
                s2ws_command(
                    "rm", "simulate", "battery", "--connect", url, "--record", str(battery_log), *rm_args
                ) as battery,
                s2ws_command("rm", "simulate", "pv", "--connect", url, "--record", str(pv_log), *rm_args) as pv,
            ):
                await wait_line(battery, lambda line: "SUCCEEDED for FRBC instruction" in line)
                await wait_line(pv, lambda line: "SUCCEEDED for PEBC instruction" in line)
                battery_result = await interrupt(battery)
                pv_result = await interrupt(pv, sig=signal.SIGTERM)
            await wait_line(cem, lambda line: "session ended" in line)
            await wait_line(cem, lambda line: "session ended" in line)
            cem_result = await interrupt(cem)
    for result in (battery_result, pv_result, cem_result):
        assert result.returncode == 0, result.describe()
    assert "stopped" in battery_result.stdout_lines[-1] and "SIGTERM" in "\n".join(pv_result.stdout_lines)
    assert cem_result.stdout_lines[-1] == "s2ws cem: stopped"

    frames = read_transcript(cem_log)
    assert len({f.session for f in frames}) == 2
    by_session: dict[str, list[tuple[str, dict[str, object]]]] = {}
    for frame in frames:
        if frame.message is not None:
            by_session.setdefault(frame.session, []).append((frame.dir, frame.message))
    selected = set()
    for conversation in by_session.values():
        kinds = Counter((d, str(m["message_type"])) for d, m in conversation)
        assert kinds[("cem>rm", "HandshakeResponse")] == 1 and kinds[("rm>cem", "ResourceManagerDetails")] == 1
        assert kinds[("rm>cem", "SessionRequest")] == 1  # the RM ended it
        selected |= {str(m["control_type"]) for d, m in conversation if m["message_type"] == "SelectControlType"}
        updates = Counter(m["status_type"] for d, m in conversation if m["message_type"] == "InstructionStatusUpdate")
        assert updates["SUCCEEDED"] >= 1 and set(updates) <= {"ACCEPTED", "STARTED", "SUCCEEDED"}
        assert {s for _, _, s in statuses(conversation)} == {"OK"} and unanswered(conversation) == []
        for _, message in conversation:  # every id s2ws writes is a UUID
            for key in ("message_id", "id", "instruction_id"):
                assert key not in message or is_uuid(message[key]), message
    assert selected == {"FILL_RATE_BASED_CONTROL", "POWER_ENVELOPE_BASED_CONTROL"}
    # both sides recorded the same frames (the RM side may lack the answers to its last words)
    for rm_log in (battery_log, pv_log):
        rm_frames = read_transcript(rm_log)
        first = next(f.text for f in rm_frames if f.dir == "rm>cem")
        (session,) = {f.session for f in frames if f.text == first}
        for direction in ("cem>rm", "rm>cem"):
            rm_side = [f.text for f in rm_frames if f.dir == direction]
            cem_side = [f.text for f in frames if f.dir == direction and f.session == session]
            assert cem_side[: len(rm_side)] == rm_side and 0 <= len(cem_side) - len(rm_side) < 10

    replayed = subprocess.run(
        [sys.executable, "-m", "s2ws.cli", "replay", "--json", str(cem_log)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=str(REPO),
    )
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert replayed.stdout == ""  # not one finding, not even a warning


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["cem", "--listen", "localhost"], "expected HOST:PORT"),
        (["cem", "--listen", "127.0.0.1:99999"], "expected HOST:PORT"),
        (["rm", "simulate", "battery", "--connect", "ws://127.0.0.1:1/", "--speed", "0"], "--speed must be positive"),
        (["demo", "--duration", "-1"], "--duration must be positive"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_rm_that_cannot_connect_once_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"ws://127.0.0.1:{free_port()}/"
    assert main(["rm", "simulate", "pv", "--connect", url, "--once", "--quiet"]) == 1
    assert url.rstrip("/") in capsys.readouterr().err


def test_cem_that_cannot_listen_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["cem", "--listen", f"127.0.0.1:{port}", "--quiet"]) == 1
    assert "cannot listen" in capsys.readouterr().err


async def test_wss_with_a_private_ca_and_a_bearer_token(tmp_path: Path) -> None:
    import trustme

    ca = trustme.CA()
    ca_file, chain_file = tmp_path / "ca.pem", tmp_path / "server.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(chain_file))
    tls = ("--tls-cert", str(chain_file), "--token", "s3cret")
    clock = fast(START_HOURS[0])
    async with (
        asyncio.timeout(DEADLINE),
        s2ws_command("cem", "--listen", "127.0.0.1:0", "--quiet", "--planner", "rules", *tls, *clock) as cem,
    ):
        url = await listening_url(cem)
        assert url.startswith("wss://127.0.0.1:")
        async with s2ws_command(
            "rm", "simulate", "pv", "--connect", url, "--ca-file", str(ca_file), "--once", "--token", "wrong"
        ) as refused:
            result = await refused.finish(DEADLINE)
        assert result.returncode == 1 and "refused the bearer token (HTTP 401)" in result.stderr, result.describe()
        args = ("--connect", url, "--ca-file", str(ca_file), "--token", "s3cret", "--interval", "900", *clock)
        async with s2ws_command("rm", "simulate", "pv", *args) as pv:
            await wait_line(pv, lambda line: "SUCCEEDED for PEBC instruction" in line)
            pv_result = await interrupt(pv)
        cem_result = await interrupt(cem)
    assert pv_result.returncode == 0, pv_result.describe()
    assert cem_result.returncode == 0, cem_result.describe()
