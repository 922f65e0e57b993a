"""A session's transcript download beyond the server's ring: from the recorded file, from the history, or the
ring only (and the UI says which)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from s2ws.app.observe import Frame
from s2ws.app.recorder import Recorder, rfc3339
from s2ws.rules.replay import parse_transcript
from s2ws.web import Monitor, serve_ui
from s2ws.web.monitor import MAX_MESSAGES

T0 = datetime(2026, 3, 20, 10, 0, tzinfo=UTC)
MEASUREMENT = (
    '{"message_type":"PowerMeasurement","message_id":"00000000-0000-4000-8000-%012d",'
    '"measurement_timestamp":"2026-03-20T10:00:00Z","values":[{"commodity_quantity":"ELECTRIC.POWER.L1","value":%d}]}'
)
OVER = MAX_MESSAGES + 700
"""Frames of the session downloaded: more than the ring holds."""


def feed(monitor: Monitor, recorder: Recorder | None = None) -> list[str]:
    """OVER frames of session s1, among the last thousand every tenth one also of session s2; the texts of s1."""
    monitor.session_started("s1", "CEM", None)
    monitor.session_started("s2", "CEM", None)
    texts = []
    for i in range(OVER):
        frames = [Frame(T0 + timedelta(seconds=i), "s1", "rm>cem", MEASUREMENT % (i, i), False)]
        texts.append(frames[0].text)
        if i % 10 == 0 and i >= OVER - 1000:
            frames.append(Frame(T0 + timedelta(seconds=i), "s2", "rm>cem", MEASUREMENT % (i, -i), False))
        for frame in frames:
            if recorder is not None:
                recorder.frame(frame)
            monitor.frame(frame)
    return texts


async def download(monitor: Monitor, session: str = "s1") -> tuple[str, list[str], dict[str, object]]:
    server = await serve_ui(monitor)
    try:
        async with aiohttp.ClientSession() as client:
            async with client.get(server.url + f"api/sessions/{session}/transcript") as response:
                assert response.status == 200
                source = response.headers["X-Transcript"]
                text = await response.text()
            async with client.get(server.url + "api/sessions") as response:
                rows = {row["id"]: row for row in await response.json()}
    finally:
        await server.close()
    records = list(parse_transcript(text.splitlines()))
    assert all(r.session == session for r in records)
    return source, [r.text for r in records], rows[session]


async def test_a_recorded_session_downloads_completely_across_rotated_parts(tmp_path: Path) -> None:
    path = tmp_path / "cem.jsonl"
    recorder = Recorder(path, max_bytes=200_000, keep=20)
    monitor = Monitor()
    monitor.recording = str(path)
    try:
        texts = feed(monitor, recorder)
    finally:
        recorder.close()
    assert recorder.rotations >= 2  # the download reads the rotated parts too, oldest first
    assert len([m for m in monitor.messages if m["session"] == "s1"]) < OVER
    source, got, row = await download(monitor)
    assert source == "recording" and row["transcript"] == "recording"
    assert got == texts  # every frame, in order, although the ring lost the oldest


async def test_without_a_recording_the_download_is_the_ring_and_says_so() -> None:
    monitor = Monitor()
    texts = feed(monitor)
    source, got, row = await download(monitor)
    held = [m["text"] for m in monitor.messages if m["session"] == "s1"]
    assert source == "ring-partial" and row["transcript"] == "ring-partial"
    assert row["held"] == len(held) < OVER
    assert got == held == texts[-len(held) :]
    source, got, row = await download(monitor, "s2")  # s2 still fits in the ring: complete
    assert source == "ring" and row["transcript"] == "ring" and len(got) == 100


async def test_with_a_history_the_older_kept_messages_come_first(tmp_path: Path) -> None:
    from s2ws.store import History

    history = History(tmp_path / "h.sqlite")
    description = {"message_type": "FRBC.SystemDescription", "message_id": "d-1"}
    history.record_message(
        "s1", "battery", T0 - timedelta(hours=1), "rm>cem", "FRBC.SystemDescription", "d-1", json.dumps(description)
    )
    later = T0 + timedelta(seconds=OVER - 1)  # also kept, but the ring holds it: not written twice
    history.record_message("s1", "battery", later, "rm>cem", "FRBC.SystemDescription", "d-2", "{}")
    history.flush()
    monitor = Monitor()
    monitor.history = history
    try:
        texts = feed(monitor)
        source, got, row = await download(monitor)
    finally:
        history.close()
    held = [m["text"] for m in monitor.messages if m["session"] == "s1"]
    assert source == "history+ring" and row["transcript"] == "history+ring"
    assert got == [json.dumps(description), *held]
    assert held == texts[-len(held) :] and rfc3339(T0) < monitor.messages[0]["t"]
