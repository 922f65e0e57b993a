"""The transcript recorder (the format replay reads) and the live view (one line per message)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from builders import rm_details
from interop_support import read_transcript
from s2ws import encode, new_id
from s2ws.app import Frame, Recorder, View
from s2ws.app.live_log import fit, render
from s2ws.messages import (
    ControlType,
    ReceptionStatus,
    ReceptionStatusValues,
    SelectControlType,
    SessionRequest,
    SessionRequestType,
)
from s2ws.session import NIL_ID

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def frame(direction: str, text: str, seconds: float = 0.0, session: str = "f00dcafe-0000") -> Frame:
    return Frame(T0 + timedelta(seconds=seconds), session, direction, text, direction == "cem>rm")  # type: ignore[arg-type]


def status(subject: str, value: ReceptionStatusValues = ReceptionStatusValues.OK, label: str | None = None) -> str:
    if label is None:
        return encode(ReceptionStatus(subject_message_id=subject, status=value)).decode()
    return encode(ReceptionStatus(subject_message_id=subject, status=value, diagnostic_label=label)).decode()


def test_recorder_writes_one_flushed_json_line_per_frame_keeping_raw_text(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    recorder = Recorder(path)
    select = encode(SelectControlType(message_id=new_id(), control_type=ControlType.FILL_RATE_BASED_CONTROL)).decode()
    garbage = '{"message_type": "Nope", not json'
    recorder.frame(frame("cem>rm", select))
    recorder.frame(frame("rm>cem", garbage, 0.5))
    # flushed per line: readable while the recorder is still open
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and recorder.frames == 2
    first, second = (json.loads(line) for line in lines)
    assert list(first) == ["t", "dir", "session", "text"]
    assert first == {"t": "2026-03-01T12:00:00.000000Z", "dir": "cem>rm", "session": "f00dcafe-0000", "text": select}
    assert second["text"] == garbage and second["t"] == "2026-03-01T12:00:00.500000Z"
    recorder.close()
    Recorder(path).close()  # appends, never truncates
    assert [f.text for f in read_transcript(path)] == [select, garbage]


def test_view_prints_each_message_with_the_answer_it_got() -> None:
    select = SelectControlType(message_id=new_id(), control_type=ControlType.FILL_RATE_BASED_CONTROL)
    lines = render([frame("cem>rm", encode(select).decode()), frame("rm>cem", status(select.message_id), 0.01)])
    (line,) = lines
    assert "CEM -> RM" in line and "SelectControlType" in line and "FILL_RATE_BASED_CONTROL" in line
    assert line.endswith("[OK]") and "f00dcafe" in line


def test_view_holds_a_line_for_its_answer_then_prints_it_alone_and_marks_a_late_answer() -> None:
    out = io.StringIO()
    view = View(out, hold=1.0, clock=lambda: T0)
    terminate = SessionRequest(message_id=new_id(), request=SessionRequestType.TERMINATE)
    view.frame(frame("cem>rm", encode(terminate).decode()))
    assert out.getvalue() == ""  # waiting for the answer
    view.tick(T0 + timedelta(seconds=0.5))
    assert out.getvalue() == ""
    view.tick(T0 + timedelta(seconds=1.5))
    assert out.getvalue().rstrip().endswith("[no answer yet]")
    view.frame(frame("rm>cem", status(terminate.message_id), 2.0))
    late = out.getvalue().splitlines()[-1]
    assert "late answer for SessionRequest" in late and late.endswith("[OK]")


def test_view_ties_an_invalid_data_answer_to_the_unreadable_frame() -> None:
    lines = render(
        [
            frame("rm>cem", "not json at all"),
            frame("cem>rm", status(NIL_ID, ReceptionStatusValues.INVALID_DATA, "at /: not JSON"), 0.01),
        ]
    )
    (line,) = lines
    assert "<not S2>" in line and line.endswith("[INVALID_DATA: at /: not JSON]")


@pytest.mark.parametrize(
    ("text", "fitted"),
    [
        ("short", "short     "),
        ("exactly 10", "exactly 10"),
        ("eleven char", "eleven ch…"),
        ("cut at a space", "cut at a… "),  # no space left before the ellipsis
    ],
)
def test_fit_pads_or_cuts_to_the_width(text: str, fitted: str) -> None:
    assert fit(text, 10) == fitted and len(fit(text, 10)) == 10


def test_view_keeps_its_columns_whatever_the_rm_calls_itself() -> None:
    out = io.StringIO()
    view = View(out, clock=lambda: T0)
    names = {
        "a0000000-long": "Solar panels on roof",
        "b0000000-short": "Home battery",
        "c0000000-lines": "Kitchen\nboiler   with a very long name",
    }
    for session, name in names.items():
        view.session_started(session, "CEM", "127.0.0.1")
        details = msgspec.structs.replace(rm_details(), name=name)
        select = SelectControlType(message_id=new_id(), control_type=ControlType.FILL_RATE_BASED_CONTROL)
        view.frame(frame("rm>cem", encode(details).decode(), 0.0, session))
        view.frame(frame("cem>rm", status(details.message_id), 0.01, session))
        view.frame(frame("cem>rm", encode(select).decode(), 0.02, session))
        view.frame(frame("rm>cem", status(select.message_id), 0.03, session))
        view.session_ended(session, "done")
    view.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 * 4
    for line in lines:  # time (12) and two spaces, the session column (26) and a space, then the rest
        assert line[40] == " " and line[41] != " ", line
        assert line[41:].startswith(("CEM -> RM ", "RM -> CEM ", "session started", "session ended")), line
    labels = {line[14:40] for line in lines if "->" in line}
    assert labels == {
        "a0000000 Solar panels on… ",
        "b0000000 Home battery     ",
        "c0000000 Kitchen boiler w…",
    }
