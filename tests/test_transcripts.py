"""Transcripts at scale: the recorder rotates by size, replay streams a file or a rotated set."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from builders import power_measurement, rm_details
from s2ws import encode, new_id
from s2ws.app import Frame, Recorder
from s2ws.cli import build_parser, main
from s2ws.messages import (
    EnergyManagementRole,
    Handshake,
    HandshakeResponse,
    ReceptionStatus,
    ReceptionStatusValues,
    ResourceManagerDetails,
    SessionRequest,
    SessionRequestType,
)
from s2ws.rules.replay import MAX_AWAITED, Replay, iter_replay, parse_transcript
from s2ws.transcripts import DEFAULT_KEEP, DEFAULT_MAX_BYTES, parse_size, rotated_set

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def frame(n: int, direction: str, text: str, session: str = "s-1") -> Frame:
    return Frame(T0 + timedelta(milliseconds=n), session, direction, text, direction == "cem>rm")  # type: ignore[arg-type]


def ok(subject: str) -> str:
    return encode(ReceptionStatus(subject_message_id=subject, status=ReceptionStatusValues.OK)).decode()


def conversation(measurements: int, session: str = "s-1", terminate: bool = False) -> Iterator[Frame]:
    """A clean session: handshakes, details, then measurements, every message answered OK; with
    ``terminate``, the CEM ends it with SessionRequest TERMINATE, answered OK."""
    cem_hello = Handshake(
        message_id=new_id(), role=EnergyManagementRole.CEM, supported_protocol_versions=["0.0.2-beta"]
    )
    rm_hello = Handshake(message_id=new_id(), role=EnergyManagementRole.RM, supported_protocol_versions=["0.0.2-beta"])
    response = HandshakeResponse(message_id=new_id(), selected_protocol_version="0.0.2-beta")
    opening: list[tuple[str, Handshake | HandshakeResponse | ResourceManagerDetails]] = [
        ("cem>rm", cem_hello),
        ("rm>cem", rm_hello),
        ("cem>rm", response),
        ("rm>cem", rm_details()),
    ]
    n = 0
    for direction, message in opening:
        yield frame(n := n + 1, direction, encode(message).decode(), session)
        yield frame(n := n + 1, "rm>cem" if direction == "cem>rm" else "cem>rm", ok(message.message_id), session)
    for i in range(measurements):
        pm = power_measurement(value=float(i))
        yield frame(n := n + 1, "rm>cem", encode(pm).decode(), session)
        yield frame(n := n + 1, "cem>rm", ok(pm.message_id), session)
    if terminate:
        end = SessionRequest(message_id=new_id(), request=SessionRequestType.TERMINATE)
        yield frame(n := n + 1, "cem>rm", encode(end).decode(), session)
        yield frame(n := n + 1, "rm>cem", ok(end.message_id), session)


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


# --- rotation -------------------------------------------------------------------------------


def test_rotation_happens_at_the_size_and_keeps_at_most_n_files(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    recorder = Recorder(path, max_bytes=2000, keep=3)
    frames = list(conversation(40))
    for f in frames:
        recorder.frame(f)
    recorder.close()
    parts = rotated_set(path)
    assert parts == [f"{path}.3", f"{path}.2", f"{path}.1", str(path)]
    assert not (tmp_path / "t.jsonl.4").exists()
    sizes = [Path(p).stat().st_size for p in parts]
    assert all(size <= 2000 for size in sizes)
    # each rotated part was full: one more line would have taken it past the size
    next_lines = [len(lines_of(Path(p))[0]) + 1 for p in parts[1:]]
    assert all(size + more > 2000 for size, more in zip(sizes[:-1], next_lines, strict=True))
    kept = [json.loads(line)["text"] for p in parts for line in lines_of(Path(p))]
    written = [f.text for f in frames]
    assert kept == written[len(written) - len(kept) :]  # the newest frames, in order, none lost between parts
    assert recorder.rotations > 3 and recorder.frames == len(frames)


def test_a_line_longer_than_the_size_makes_a_file_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    recorder = Recorder(path, max_bytes=100, keep=5)
    for i in range(3):
        recorder.frame(frame(i, "rm>cem", "x" * 300))
    recorder.close()
    assert [len(lines_of(Path(p))) for p in rotated_set(path)] == [1, 1, 1]


def test_keep_zero_starts_afresh_and_zero_size_never_rotates(tmp_path: Path) -> None:
    fresh = Recorder(tmp_path / "a.jsonl", max_bytes=500, keep=0)
    unbounded = Recorder(tmp_path / "b.jsonl", max_bytes=0)
    for f in conversation(20):
        fresh.frame(f)
        unbounded.frame(f)
    fresh.close()
    unbounded.close()
    assert rotated_set(tmp_path / "a.jsonl") == [str(tmp_path / "a.jsonl")]
    assert (tmp_path / "a.jsonl").stat().st_size <= 500
    assert rotated_set(tmp_path / "b.jsonl") == [str(tmp_path / "b.jsonl")]
    assert len(lines_of(tmp_path / "b.jsonl")) == 48


def test_an_existing_file_counts_toward_the_size(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text("x" * 900 + "\n")
    recorder = Recorder(path, max_bytes=1000, keep=1)
    recorder.frame(frame(0, "rm>cem", "y" * 200))
    recorder.close()
    assert lines_of(Path(f"{path}.1")) == ["x" * 900] and len(lines_of(path)) == 1


def test_bad_limits_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="negative"):
        Recorder(tmp_path / "t.jsonl", max_bytes=-1)


@pytest.mark.parametrize(
    ("text", "size"),
    [("1048576", 1048576), ("512K", 512 * 1024), ("64M", 64 << 20), ("2G", 2 << 30), ("64MiB", 64 << 20)],
)
def test_sizes_are_read_in_powers_of_1024(text: str, size: int) -> None:
    assert parse_size(text) == size


def test_the_commands_take_the_rotation_options() -> None:
    parser = build_parser()
    args = parser.parse_args(["cem", "--listen", "127.0.0.1:0", "--record", "t", "--record-max-bytes", "1M"])
    assert (args.record_max_bytes, args.record_keep) == (1 << 20, DEFAULT_KEEP)
    args = parser.parse_args(["rm", "simulate", "pv", "--connect", "ws://x", "--record-keep", "2"])
    assert (args.record_max_bytes, args.record_keep) == (DEFAULT_MAX_BYTES, 2)
    assert parser.parse_args(["demo", "--record-max-bytes", "0"]).record_max_bytes == 0
    with pytest.raises(SystemExit):
        parser.parse_args(["demo", "--record-max-bytes", "lots"])


# --- replay of a rotated set ----------------------------------------------------------------


def test_replay_reads_a_rotated_set_as_one_conversation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t.jsonl"
    recorder = Recorder(path, max_bytes=3000, keep=50)
    for f in conversation(30):
        recorder.frame(f)
    recorder.close()
    parts = rotated_set(path)
    assert len(parts) > 3
    assert main(["replay", str(path)]) == 0  # the handshake in the oldest part, the rest in the others
    assert f"68 frame(s) replayed from {len(parts)} files, 0 error(s)" in capsys.readouterr().err
    # a fault in a middle part is reported with that part's name and its own line number
    middle = Path(parts[2])
    lines = lines_of(middle)
    record = json.loads(lines[1])
    record["text"] = "not json"
    lines[1] = json.dumps(record)
    middle.write_text("\n".join(lines) + "\n")
    assert main(["replay", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{middle}:2: s-1 " in out and "S2-SCHEMA-001" in out
    assert main(["replay", "--json", str(path)]) == 1
    found = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert any(f["file"] == str(middle) and f["line"] == 2 and f["rule"] == "S2-SCHEMA-001" for f in found)


def test_replay_streams_memory_bounded_by_the_sessions_not_the_file(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    recorder = Recorder(path, max_bytes=0)
    for f in conversation(12000):
        recorder.frame(f)
    recorder.close()
    size = path.stat().st_size
    assert size > 5_000_000
    tracemalloc.start()
    try:
        code = main(["replay", str(path)])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 0
    # what stays is bounded by the session context's tables (a few thousand entries), about 1 MB here;
    # reading the file whole took more than twice its size
    assert peak < size / 4, f"replay of a {size:,} byte transcript peaked at {peak:,} bytes"


def test_a_peer_that_never_answers_costs_bounded_memory() -> None:
    """Awaited answers are given up past MAX_AWAITED, each reported as unanswered then and there."""
    count = MAX_AWAITED * 2

    def lines() -> Iterator[str]:
        for n, f in enumerate(conversation(count)):
            if n < 8 or f.direction == "rm>cem":  # the CEM stops answering after the handshake
                yield json.dumps({"t": f.t.isoformat(), "dir": f.direction, "session": f.session, "text": f.text})

    seen = 0
    given_up_early = 0
    for finding in iter_replay(lines()):
        assert finding.rule == "S2-RS-004"
        seen += 1
        given_up_early += "later messages of the session awaited" in finding.reason
    assert seen == count and given_up_early >= count - MAX_AWAITED - (MAX_AWAITED >> 3)


def record_lines(frames: Iterator[Frame]) -> Iterator[str]:
    for f in frames:
        yield json.dumps({"t": f.t.isoformat(), "dir": f.direction, "session": f.session, "text": f.text})


def test_replay_lets_go_of_a_session_once_it_is_closed_and_settled() -> None:
    """Thousands of short sessions (a connect/close flood) cost no more than one."""
    judge = Replay()
    held = []
    for s in range(300):
        for record in parse_transcript(list(record_lines(conversation(2, session=f"s-{s}", terminate=True)))):
            assert judge.feed(record) == []
        held.append(judge.open_sessions)
    assert judge.finish() == [] and set(held) == {0}


def test_a_frame_after_its_session_ended_is_judged_as_after_the_close() -> None:
    lines = list(record_lines(conversation(1, terminate=True)))
    late = power_measurement()
    lines += record_lines(iter([frame(99, "rm>cem", encode(late).decode()), frame(100, "cem>rm", ok(late.message_id))]))
    findings = list(iter_replay(lines))
    assert [(f.rule, f.line) for f in findings] == [("S2-SESSION-004", len(lines) - 1), ("S2-RS-005", len(lines))]


def test_a_measurement_that_crossed_the_terminate_is_no_finding_and_one_after_the_answer_is() -> None:
    """The CEM's transcript: its TERMINATE, then a measurement the RM sent before it read it (the CEM
    answers OK), then the RM's answer to the TERMINATE, then one sent after that answer."""
    frames = list(conversation(1))
    end = SessionRequest(message_id=new_id(), request=SessionRequestType.TERMINATE)
    crossing, late = power_measurement(value=1.0), power_measurement(value=2.0)
    frames += [
        frame(90, "cem>rm", encode(end).decode()),
        frame(91, "rm>cem", encode(crossing).decode()),
        frame(92, "cem>rm", ok(crossing.message_id)),
        frame(93, "rm>cem", ok(end.message_id)),
        frame(94, "rm>cem", encode(late).decode()),
        frame(95, "cem>rm", ok(late.message_id)),
    ]
    lines = list(record_lines(iter(frames)))
    findings = list(iter_replay(lines))
    assert [(f.rule, f.line) for f in findings] == [("S2-SESSION-004", len(lines) - 1), ("S2-RS-005", len(lines))]
