"""Nothing lost: ``s2ws cem --site F --db F`` and the seven simulators as real processes on 127.0.0.1,
over a simulated day. Halfway the CEM is stopped and started again on the same database, and one RM
is killed (SIGKILL) while an instruction of its is under way, then started again.

Afterwards: every instruction the CEM sent went out once (no id twice, in its transcript or in
any RM's), the history holds each instruction's last status exactly as the RM reported it on the
wire, the statuses known before the restart are unchanged after it, and the restarted CEM said it
knew them. The simulated day is fixed (a June day from midnight), whatever the time of day.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app_support import interrupt, listening_url, s2ws_command, wait_line
from interop_support import read_transcript
from s2ws.sim import DEVICES
from s2ws.store import History

SPEED = 2400.0
"""A simulated day in 36 wall seconds."""
DAY = datetime(2026, 6, 21, tzinfo=UTC)
DEADLINE = 240.0
SITE = """
[grid]
import_limit_w = 17000
export_limit_w = 10000

[prices]
csv = "prices.csv"

[objective]
kind = "cost"

[plan]
horizon = "12h"
step = "15min"
time_limit_s = 2.0
"""


def clock_args(day: datetime, speed: float) -> tuple[str, ...]:
    """``--speed``/``--origin`` that put simulated time at ``day`` now: simulated = origin + speed *
    (wall - origin), so the origin is where the two lines cross."""
    wall = datetime.now(UTC)
    origin = wall + (wall - day) / (speed - 1)
    return ("--speed", f"{speed:g}", "--origin", origin.isoformat())


def simulated(args: tuple[str, ...]) -> datetime:
    speed, origin = float(args[1]), datetime.fromisoformat(args[3])
    return origin + (datetime.now(UTC) - origin) * speed


def write_site(folder: Path) -> Path:
    rows = ["start,import_price,export_price"]
    for hour in range(0, 48):
        moment = DAY + timedelta(hours=hour)
        price = 0.35 if 17 <= moment.hour < 21 else 0.12 if 1 <= moment.hour < 6 or 11 <= moment.hour < 15 else 0.25
        rows.append(f"{moment.isoformat()},{price},0.05")
    (folder / "prices.csv").write_text("\n".join(rows) + "\n")
    site = folder / "site.toml"
    site.write_text(SITE)
    return site


def instructions_sent(frames: list[Any]) -> list[tuple[str, str]]:
    """(session, instruction id) of every instruction frame the CEM wrote, in order."""
    out = []
    for frame in frames:
        message = frame.message
        if (
            frame.dir == "cem>rm"
            and message is not None
            and str(message.get("message_type", "")).endswith("Instruction")
        ):
            out.append((frame.session, str(message["id"])))
    return out


def last_statuses(frames: list[Any]) -> dict[str, str]:
    """Instruction id -> the last status the RM reported and the CEM took (answered OK); one that
    crossed the CEM's TERMINATE at its shutdown is answered OK and taken like any other."""
    accepted = {
        (frame.session, str(frame.message["subject_message_id"]))
        for frame in frames
        if frame.dir == "cem>rm"
        and frame.message is not None
        and frame.message.get("message_type") == "ReceptionStatus"
        and frame.message.get("status") == "OK"
    }
    out: dict[str, str] = {}
    for frame in frames:
        message = frame.message
        if frame.dir != "rm>cem" or message is None or message.get("message_type") != "InstructionStatusUpdate":
            continue
        if (frame.session, str(message["message_id"])) in accepted:
            out[str(message["instruction_id"])] = str(message["status_type"])
    return out


def rm_messages(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(direction, message) of an RM's transcript, which may be being written (or was cut by a kill):
    an unfinished last line is left out."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        if not line.endswith("\n"):
            break
        entry = json.loads(line)
        try:
            message = json.loads(entry["text"])
        except ValueError:
            continue
        if isinstance(message, dict):
            out.append((str(entry["dir"]), message))
    return out


def open_instruction(path: Path) -> str | None:
    """An instruction the RM of this transcript accepted and has not finished (None: none now)."""
    received: list[str] = []
    status: dict[str, str] = {}
    for direction, message in rm_messages(path):
        kind = str(message.get("message_type", ""))
        if direction == "cem>rm" and kind.endswith("Instruction"):
            received.append(str(message["id"]))
        elif direction == "rm>cem" and kind == "InstructionStatusUpdate":
            status[str(message["instruction_id"])] = str(message["status_type"])
    return next((i for i in reversed(received) if status.get(i) in ("ACCEPTED", "STARTED")), None)


async def until_simulated(args: tuple[str, ...], moment: datetime) -> None:
    while simulated(args) < moment:
        await asyncio.sleep(0.2)


async def a_device_with_an_open_instruction(current: dict[str, Path]) -> tuple[str, str]:
    """(device, instruction id) of the first RM found with an instruction under way."""
    while True:
        for name, path in current.items():
            found = open_instruction(path)
            if found is not None:
                return name, found
        await asyncio.sleep(0.05)


async def started(stack: contextlib.AsyncExitStack, command: Any) -> Any:
    """An ``s2ws rm simulate`` process, once it stops on SIGINT by itself (its first line comes after
    its signal handlers are in place; a SIGINT before that would be a KeyboardInterrupt)."""
    process = await stack.enter_async_context(command)
    await wait_line(process, lambda line: "connecting to" in line)
    return process


async def all_selected(logs: list[Path]) -> None:
    """Until every RM of ``logs`` has been told its control type (process start-up costs hours of
    simulated time on a loaded machine, so the phases count from here)."""
    while not all(any(m.get("message_type") == "SelectControlType" for _, m in rm_messages(p)) for p in logs):
        await asyncio.sleep(0.1)


async def test_a_cem_restart_and_an_rm_killed_mid_instruction_lose_nothing(tmp_path: Path) -> None:
    site, db, transcript = write_site(tmp_path), tmp_path / "cem.db", tmp_path / "cem.jsonl"
    clock = clock_args(DAY, SPEED)
    logs: list[Path] = []

    def rm(name: str, url: str, log: Path) -> Any:
        logs.append(log)
        return s2ws_command(
            "rm", "simulate", name, "--connect", url, "--quiet", "--interval", "900", "--record", str(log), *clock
        )

    def cem(port: int) -> Any:
        return s2ws_command(
            "cem", "--listen", f"127.0.0.1:{port}", "--site", str(site), "--db", str(db),
            "--record", str(transcript), "--quiet", *clock,
        )  # fmt: skip

    async with asyncio.timeout(DEADLINE):
        async with cem(0) as first, contextlib.AsyncExitStack() as stack:
            url = await listening_url(first)
            port = int(url.rsplit(":", 1)[1].strip("/"))
            rms = {name: await started(stack, rm(name, url, tmp_path / f"{name}-1.jsonl")) for name in DEVICES}
            await all_selected(logs)
            t0 = simulated(clock)
            await until_simulated(clock, t0 + timedelta(hours=3))
            # an RM is killed while one of its instructions is accepted or started, not finished (judged
            # on its transcript after the kill; if it finished in between, that RM is started and killed again)
            current = {name: tmp_path / f"{name}-1.jsonl" for name in DEVICES}
            open_id: str | None = None
            for attempt in range(5):
                victim, found = await a_device_with_an_open_instruction(current)
                rms[victim].proc.kill()
                await rms[victim].finish(15)
                still_open = open_instruction(current[victim]) == found
                current[victim] = tmp_path / f"{victim}-again-{attempt}.jsonl"
                rms[victim] = await started(stack, rm(victim, url, current[victim]))
                if still_open:
                    open_id = found
                    break
            assert open_id is not None, "no RM was killed in the middle of an instruction in 5 attempts"
            await until_simulated(clock, t0 + timedelta(hours=12))
            stopped = await interrupt(first)  # TERMINATE to every RM: they stop too
            assert stopped.returncode == 0, stopped.describe()
            for process in rms.values():  # (one that had not connected again yet is stopped by hand)
                result = await interrupt(process)
                assert result.returncode == 0, result.describe()
        with History(db) as history:
            before = {row.id: row.status or row.refused for row in history.instructions(limit=100_000)}
        assert before, "the CEM sent no instruction before its restart"
        restarted_at = simulated(clock)

        # the same CEM again, on the same port, database and transcript, and the RMs again
        async with cem(port) as second, contextlib.AsyncExitStack() as stack:
            known = await wait_line(second, lambda line: "history in" in line)
            assert f"{len(before)} instruction(s) known" in known
            await listening_url(second)
            rms = {name: await started(stack, rm(name, url, tmp_path / f"{name}-2.jsonl")) for name in DEVICES}
            await all_selected(logs[-len(DEVICES) :])
            await until_simulated(clock, t0 + timedelta(hours=24))
            for process in rms.values():
                result = await interrupt(process)
                assert result.returncode == 0, result.describe()
            again = await interrupt(second)
            assert again.returncode == 0, again.describe()
        assert "Traceback" not in stopped.stderr + again.stderr, stopped.stderr + again.stderr

    frames = read_transcript(transcript)
    sent = instructions_sent(frames)
    counts = Counter(ident for _, ident in sent)
    assert [ident for ident, n in counts.items() if n > 1] == []  # nothing sent twice
    with History(db) as history:
        rows = {row.id: row for row in history.instructions(limit=100_000)}
        plans = history.plans(limit=100_000)
    assert set(rows) == set(counts)  # every instruction sent is in the history, and only those
    assert set(rows) > set(before)  # planning resumed after the restart
    assert any(plan.at > restarted_at for plan in plans) and any(plan.at < restarted_at for plan in plans)
    wire = last_statuses(frames)
    for ident, row in rows.items():  # the last status of every instruction, as the RM reported it
        assert row.status == wire.get(ident), (ident, row.status, wire.get(ident))
        assert [c.status for c in row.timeline][-1:] == ([wire[ident]] if ident in wire else [])
    for ident, status in before.items():  # what the first run knew is intact
        assert (rows[ident].status or rows[ident].refused) == status, ident
    # the RM killed mid-instruction: the CEM's view of that instruction (its last status) survives
    # exactly as the RM last reported it, and the RM was never told it again
    assert rows[open_id].status == wire.get(open_id) and rows[open_id].status in (None, "ACCEPTED", "STARTED")
    assert not rows[open_id].finished
    # on the RM side: no instruction id arrived twice, in any session
    seen: Counter[str] = Counter()
    for path in logs:
        for direction, message in rm_messages(path):
            if direction == "cem>rm" and str(message.get("message_type")).endswith("Instruction"):
                seen[str(message["id"])] += 1
    assert seen and max(seen.values()) == 1 and open_id in seen
