"""Helpers for the application-layer tests: apps joined in memory, s2ws commands as subprocesses,
transcripts checked for "every message answered".

Everything is bounded: memory pairs are torn down with a deadline, subprocesses are interrupted
(SIGINT) and killed when they outlive their timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import signal
import sys
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from interop_support import REPO, ScriptProcess, ScriptResult, TranscriptFrame
from s2ws.app import CEM, Recorder, ResourceManager
from s2ws.plan import PriceCurve, Series, Site
from s2ws.transport import memory_pair

DEADLINE = 20.0
"""Seconds any one app test may take, teardown included."""


def recorder() -> tuple[Recorder, io.StringIO]:
    stream = io.StringIO()
    return Recorder(stream=stream), stream


def lines_of(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@contextlib.asynccontextmanager
async def joined(cem: CEM, *rms: ResourceManager) -> AsyncIterator[None]:
    """Each RM connected to ``cem`` over its own in-memory pair; all closed (TERMINATE) on exit."""
    tasks: list[asyncio.Task[None]] = []
    for rm in rms:
        near, far = memory_pair(("cem", "rm"))
        tasks.append(asyncio.create_task(cem.run_channel(near)))
        tasks.append(asyncio.create_task(rm.run_channel(far)))
    try:
        yield
    finally:
        async with asyncio.timeout(10):
            await cem.close()
            for rm in rms:
                await rm.close()
            await asyncio.gather(*tasks, return_exceptions=True)


def unanswered(frames: Iterable[tuple[str, dict[str, Any]]]) -> list[str]:
    """Message types (in order) that no ReceptionStatus of the other direction answers."""
    pending: dict[tuple[str, str], str] = {}
    opposite = {"cem>rm": "rm>cem", "rm>cem": "cem>rm"}
    for direction, message in frames:
        if message.get("message_type") == "ReceptionStatus":
            pending.pop((opposite[direction], message["subject_message_id"]), None)
        else:
            pending[(direction, message["message_id"])] = message["message_type"]
    return list(pending.values())


def statuses(frames: Iterable[tuple[str, dict[str, Any]]]) -> list[tuple[str, str, str]]:
    """(direction of the status, type of the message it answers, status) for every ReceptionStatus."""
    types: dict[str, str] = {}
    out = []
    for direction, message in frames:
        if message.get("message_type") == "ReceptionStatus":
            out.append((direction, types.get(message["subject_message_id"], "?"), message["status"]))
        else:
            types[message["message_id"]] = message["message_type"]
    return out


def pairs(frames: Iterable[TranscriptFrame]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for frame in frames:
        message = frame.message
        if message is not None:
            out.append((frame.dir, message))
    return out


@contextlib.asynccontextmanager
async def s2ws_command(*args: str) -> AsyncIterator[ScriptProcess]:
    """``python -m s2ws.cli ARGS`` with this interpreter; killed and reaped on exit whatever happens."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "s2ws.cli",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=str(REPO),
    )
    script = ScriptProcess(f"s2ws {' '.join(args[:2])}", proc)
    script.start_reading()
    try:
        yield script
    finally:
        await script.stop()


async def wait_line(script: ScriptProcess, predicate: Callable[[str], bool], timeout: float = DEADLINE) -> str:
    """The first stdout line (from now on) that satisfies ``predicate``; fails the test at end of output."""
    async with asyncio.timeout(timeout):
        while True:
            line = await script.readline(timeout)
            if line is None:
                pytest.fail(f"{script.name} ended before the line we waited for\nstderr:\n{script.stderr[-4000:]}")
            if predicate(line):
                return line


async def interrupt(script: ScriptProcess, timeout: float = 15.0, sig: signal.Signals = signal.SIGINT) -> ScriptResult:
    """Send ``sig`` and wait for the exit (killed, and the test failed, after ``timeout`` seconds)."""
    if script.proc.returncode is None:
        script.proc.send_signal(sig)
    return await script.finish(timeout)


async def listening_url(script: ScriptProcess) -> str:
    """The URL from the "listening on ws://..." line ``s2ws cem`` and ``s2ws demo`` print first."""
    line = await wait_line(script, lambda text: "listening on " in text)
    return line.split("listening on ", 1)[1].split()[0].rstrip(";")


def cheap_now_dear_later(now: datetime) -> Site:
    """Cheap energy for the next hour only, then dear, with a base load to cover: a half-full
    battery (5 kWh to go at 5 kW) must charge at once to profit."""
    start, dear, end = now - timedelta(hours=1), now + timedelta(hours=1), now + timedelta(hours=5)
    prices = PriceCurve(((start, 0.05, 0.0), (dear, 0.60, 0.0), (end, 0.60, 0.0)))
    load = Series(((start, 0.0), (dear, 3000.0), (end, 3000.0)))
    return Site(prices=prices, base_load_w=load, horizon=timedelta(hours=4), time_limit_s=5.0)


def cheap_now_site_file(folder: Path) -> Path:
    """The site of :func:`cheap_now_dear_later` as a TOML site file with its price CSV in ``folder``."""
    now = datetime.now(UTC)
    start, dear, end = now - timedelta(hours=1), now + timedelta(hours=1), now + timedelta(hours=5)
    rows = [f"{start.isoformat()},0.05,0.0", f"{dear.isoformat()},0.60,0.0", f"{end.isoformat()},0.60,0.0"]
    (folder / "prices.csv").write_text("start,import_price,export_price\n" + "\n".join(rows) + "\n")
    site = folder / "site.toml"
    site.write_text(
        '[prices]\ncsv = "prices.csv"\n\n[base_load]\nw = 3000\n\n[plan]\nhorizon = "4h"\ntime_limit_s = 5\n'
    )
    return site
