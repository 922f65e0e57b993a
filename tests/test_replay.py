"""Replay of recorded conversations: the official walkthroughs pass, seeded faults are found.

The conversation is built at run time from ../shared/spec/examples (never copied here), with
the ReceptionStatuses a correct peer sends. The walkthroughs were written one message at a
time and disagree with each other in places, so a few values are made consistent first (each
adjustment is listed in ``ADJUSTMENTS`` and in docs/rules.md):
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest

from conftest import require_spec
from s2ws.cli import main
from s2ws.rules import CATALOGUE
from s2ws.rules.docs import REPLAY_ADJUSTMENTS
from s2ws.rules.replay import Replay, ReplayFinding, TranscriptError, parse_transcript, replay

NIL = "00000000-0000-0000-0000-000000000000"
CEM_TO_RM, RM_TO_CEM = "cem>rm", "rm>cem"
BACK = {CEM_TO_RM: RM_TO_CEM, RM_TO_CEM: CEM_TO_RM}

# (file, direction) in walkthrough order; the PV walkthrough has no CEM Handshake.
EV = [
    ("ev-01-Handshake", CEM_TO_RM),
    ("ev-02-Handshake", RM_TO_CEM),
    ("ev-03-HandshakeResponse", CEM_TO_RM),
    ("ev-04-ResourceManagerDetails", RM_TO_CEM),
    ("ev-05-SelectControlType", CEM_TO_RM),
    ("ev-08-FRBC.SystemDescription", RM_TO_CEM),
    ("ev-09-PowerMeasurement", RM_TO_CEM),
    ("ev-10-FRBC.ActuatorStatus", RM_TO_CEM),
    ("ev-11-FRBC.StorageStatus", RM_TO_CEM),
    ("ev-12-FRBC.Instruction", CEM_TO_RM),
    ("ev-13-InstructionStatusUpdate", RM_TO_CEM),
    ("ev-14-SessionRequest", CEM_TO_RM),
]
HEAT_PUMP = [
    ("heat-pump-01-Handshake", CEM_TO_RM),
    ("heat-pump-02-Handshake", RM_TO_CEM),
    ("heat-pump-03-HandshakeResponse", CEM_TO_RM),
    ("heat-pump-04-ResourceManagerDetails", RM_TO_CEM),
    ("heat-pump-05-SelectControlType", CEM_TO_RM),
    ("heat-pump-08-FRBC.SystemDescription", RM_TO_CEM),
    ("heat-pump-09-FRBC.LeakageBehaviour", RM_TO_CEM),
    ("heat-pump-10-PowerMeasurement", RM_TO_CEM),
    ("heat-pump-11-FRBC.ActuatorStatus", RM_TO_CEM),
    ("heat-pump-12-FRBC.StorageStatus", RM_TO_CEM),
    ("heat-pump-13-FRBC.TimerStatus", RM_TO_CEM),
    ("heat-pump-14-FRBC.UsageForecast", RM_TO_CEM),
    ("heat-pump-15-FRBC.Instruction", CEM_TO_RM),
    ("heat-pump-16-InstructionStatusUpdate", RM_TO_CEM),
    ("heat-pump-17-SessionRequest", RM_TO_CEM),
]
PV = [
    ("pv-01-Handshake", RM_TO_CEM),
    ("pv-02-HandshakeResponse", CEM_TO_RM),
    ("pv-03-ResourceManagerDetails", RM_TO_CEM),
    ("pv-04-SelectControlType", CEM_TO_RM),
    ("pv-05-PEBC.PowerConstraints", RM_TO_CEM),
    ("pv-06-PEBC.EnergyConstraint", RM_TO_CEM),
    ("pv-07-PowerMeasurement", RM_TO_CEM),
    ("pv-08-PowerForecast", RM_TO_CEM),
    ("pv-09-PEBC.Instruction", CEM_TO_RM),
    ("pv-10-InstructionStatusUpdate", RM_TO_CEM),
    ("pv-11-SessionRequest", RM_TO_CEM),
]
WALKTHROUGHS = {
    "ev": (EV, "2019-08-24T14:15:22Z"),
    "heat-pump": (HEAT_PUMP, "2019-08-24T14:15:22Z"),
    "pv": (PV, "2024-08-24T14:20:00Z"),
}


def _adjust(name: str, doc: dict[str, Any]) -> None:
    """Make the walkthroughs consistent (see REPLAY_ADJUSTMENTS); faults are seeded afterwards."""
    if name == "ev-10-FRBC.ActuatorStatus":  # "string" placeholders: the charger is charging (om2), was off
        doc["active_operation_mode_id"], doc["previous_operation_mode_id"] = "om2", "om1"
    if name.startswith("heat-pump") and doc.get("actuator_id") in ("actuator0", "actuator"):
        doc["actuator_id"] = "actuator1"  # the description defines actuator1 only
    if name == "heat-pump-04-ResourceManagerDetails":
        doc["currency"] = "EUR"  # the description publishes costs, which needs a currency
    if name == "heat-pump-14-FRBC.UsageForecast":
        doc["elements"][0]["duration"] = 3_600_000  # a zero-length forecast element says nothing
    if name == "heat-pump-16-InstructionStatusUpdate":
        doc["instruction_id"] = "instr0"  # "string" placeholder: the instruction of heat-pump-15
    if name == "pv-08-PowerForecast":  # bands were written upside down for a negative (producing) value
        for value in doc["elements"][0]["power_values"]:
            for low, high in (("limit", "limit"), ("95PPR", "95PPR"), ("68PPR", "68PPR")):
                value[f"value_lower_{low}"], value[f"value_upper_{high}"] = (
                    value[f"value_upper_{high}"],
                    value[f"value_lower_{low}"],
                )
    if name.startswith("pv-") and doc.get("message_id") == "xxx":
        doc["message_id"] = f"pv-{name[3:5]}"  # every PV message reuses the id "xxx"


@dataclass
class Line:
    """One frame of a conversation under construction."""

    session: str
    direction: str
    doc: dict[str, Any] | str
    name: str = ""

    def record(self, t: datetime) -> str:
        text = self.doc if isinstance(self.doc, str) else json.dumps(self.doc)
        return json.dumps(
            {"t": t.isoformat().replace("+00:00", "Z"), "dir": self.direction, "session": self.session, "text": text}
        )


def answer(line: Line, status: str = "OK", label: str | None = None) -> Line:
    assert isinstance(line.doc, dict)
    doc: dict[str, Any] = {
        "message_type": "ReceptionStatus",
        "subject_message_id": line.doc["message_id"],
        "status": status,
    }
    if label is not None or status != "OK":
        doc["diagnostic_label"] = label or f"{status} for the test"
    return Line(line.session, BACK[line.direction], doc, "answer:" + line.name)


def conversation(examples: Path, session: str) -> list[Line]:
    """The walkthrough of ``session`` with each message followed by a correct peer's OK."""
    files, _start = WALKTHROUGHS[session]
    out: list[Line] = []
    for name, direction in files:
        doc = json.loads((examples / f"{name}.json").read_text())
        _adjust(name, doc)
        line = Line(session, direction, doc, name)
        out += [line, answer(line)]
    return out


def transcript(lines: list[Line]) -> list[str]:
    starts = {s: datetime.fromisoformat(start.replace("Z", "+00:00")) for s, (_f, start) in WALKTHROUGHS.items()}
    counts: dict[str, int] = {}
    out = []
    for line in lines:
        n = counts[line.session] = counts.get(line.session, 0) + 1
        base = starts.get(line.session, datetime(2024, 1, 1, tzinfo=UTC))
        out.append(line.record(base + timedelta(seconds=n)))
    return out


def find(lines: list[Line], name: str) -> int:
    return next(i for i, line in enumerate(lines) if line.name == name)


def brief(findings: list[ReplayFinding]) -> list[tuple[str, int]]:
    return [(f.rule, f.line) for f in findings]


@pytest.fixture
def examples() -> Path:
    return require_spec("examples")


@pytest.fixture
def walkthroughs(examples: Path) -> list[Line]:
    return [line for session in WALKTHROUGHS for line in conversation(examples, session)]


def test_the_walkthroughs_replay_without_findings(walkthroughs: list[Line]) -> None:
    assert replay(transcript(walkthroughs)) == []


def test_the_adjustments_are_documented(examples: Path) -> None:
    """Every example the test changes is covered by an entry of docs/rules.md, and no entry is idle."""
    changed = set()
    for files, _start in WALKTHROUGHS.values():
        for name, _direction in files:
            raw = json.loads((examples / f"{name}.json").read_text())
            doc = json.loads(json.dumps(raw))
            _adjust(name, doc)
            if doc != raw:
                changed.add(name)
    patterns = [pattern for pattern, _change, _why in REPLAY_ADJUSTMENTS]
    assert all(any(fnmatch(name, p) for p in patterns) for name in changed)
    assert all(any(fnmatch(name, p) for name in changed) for p in patterns)


# --- seeded faults: each yields exactly the expected finding ---------------------------------


def _drop(lines: list[Line], *names: str) -> list[Line]:
    """Remove the named frames and the answers to them (a refused instruction gets no status)."""
    gone = set(names) | {"answer:" + n for n in names}
    return [line for line in lines if line.name not in gone]


def _refused(lines: list[Line], name: str, label: str) -> list[Line]:
    """The receiver refuses ``name`` with INVALID_CONTENT instead of OK."""
    i = find(lines, name)
    lines[i + 1] = answer(lines[i], "INVALID_CONTENT", label)
    return lines


def _set(lines: list[Line], name: str, **fields: Any) -> list[Line]:
    doc = lines[find(lines, name)].doc
    assert isinstance(doc, dict)
    doc.update(fields)
    return lines


def _factor(lines: list[Line]) -> list[Line]:
    _set(lines, "ev-12-FRBC.Instruction", operation_mode_factor=1.5)
    return _drop(_refused(lines, "ev-12-FRBC.Instruction", "S2-FRBC-018"), "ev-13-InstructionStatusUpdate")


def _unknown_actuator(lines: list[Line]) -> list[Line]:
    _set(lines, "heat-pump-15-FRBC.Instruction", actuator_id="actuator9")
    return _drop(
        _refused(lines, "heat-pump-15-FRBC.Instruction", "S2-FRBC-023"), "heat-pump-16-InstructionStatusUpdate"
    )


def _blocked(lines: list[Line], refused: bool) -> list[Line]:
    _set(lines, "heat-pump-13-FRBC.TimerStatus", timer_id="timer1", finished_at="2019-08-24T15:15:22Z")
    _set(lines, "heat-pump-15-FRBC.Instruction", operation_mode="om1")
    if refused:
        return _drop(
            _refused(lines, "heat-pump-15-FRBC.Instruction", "S2-FRBC-026"), "heat-pump-16-InstructionStatusUpdate"
        )
    return _set(lines, "heat-pump-16-InstructionStatusUpdate", status_type="REJECTED")


def _envelope(lines: list[Line], refused: bool) -> list[Line]:
    doc = lines[find(lines, "pv-09-PEBC.Instruction")].doc
    doc["power_envelopes"][0]["power_envelope_elements"][0]["lower_limit"] = -5000.0  # type: ignore[index]
    if refused:
        return _drop(_refused(lines, "pv-09-PEBC.Instruction", "S2-PEBC-014"), "pv-10-InstructionStatusUpdate")
    return _set(lines, "pv-10-InstructionStatusUpdate", status_type="REJECTED")


def _unanswered(lines: list[Line]) -> list[Line]:
    return [line for line in lines if line.name != "answer:ev-09-PowerMeasurement"]


def _after_terminal(lines: list[Line]) -> list[Line]:
    i = find(lines, "pv-10-InstructionStatusUpdate")
    late = Line("pv", RM_TO_CEM, dict(lines[i].doc, message_id="pv-late", status_type="STARTED"), "late")  # type: ignore[arg-type]
    lines[i + 2 : i + 2] = [late, answer(late, "INVALID_CONTENT", "S2-INSTR-002")]
    return lines


@dataclass(frozen=True)
class Fault:
    name: str
    seed: Callable[[list[Line]], list[Line]]
    rule: str
    at: str
    """The frame the finding is reported on."""


FAULTS = [
    Fault("a factor of 1.5", _factor, "S2-FRBC-018", "ev-12-FRBC.Instruction"),
    Fault("an unknown actuator", _unknown_actuator, "S2-FRBC-023", "heat-pump-15-FRBC.Instruction"),
    Fault(
        "a blocked transition, refused", lambda ls: _blocked(ls, True), "S2-FRBC-026", "heat-pump-15-FRBC.Instruction"
    ),
    Fault(
        "a blocked transition, rejected", lambda ls: _blocked(ls, False), "S2-FRBC-026", "heat-pump-15-FRBC.Instruction"
    ),
    Fault(
        "an envelope outside the range, refused",
        lambda ls: _envelope(ls, True),
        "S2-PEBC-014",
        "pv-09-PEBC.Instruction",
    ),
    Fault(
        "an envelope outside the range, rejected",
        lambda ls: _envelope(ls, False),
        "S2-PEBC-014",
        "pv-09-PEBC.Instruction",
    ),
    Fault("an unanswered message", _unanswered, "S2-RS-004", "ev-09-PowerMeasurement"),
    Fault("a status after a terminal one", _after_terminal, "S2-INSTR-002", "late"),
]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_a_seeded_fault_yields_exactly_its_finding(walkthroughs: list[Line], fault: Fault) -> None:
    lines = fault.seed(walkthroughs)
    findings = replay(transcript(lines))
    assert brief(findings) == [(fault.rule, find(lines, fault.at) + 1)]


# --- answers: missing, to nothing, twice, different ------------------------------------------


def _valid_pair() -> list[Line]:
    """A tiny session: two handshakes and their answers."""
    cem = Line("s", CEM_TO_RM, {"message_type": "Handshake", "message_id": "h-cem", "role": "CEM"}, "cem")
    rm = Line(
        "s",
        RM_TO_CEM,
        {
            "message_type": "Handshake",
            "message_id": "h-rm",
            "role": "RM",
            "supported_protocol_versions": ["0.0.2-beta"],
        },
        "rm",
    )
    return [cem, answer(cem), rm, answer(rm)]


def test_a_status_answering_nothing() -> None:
    lines = _valid_pair()
    lines.append(
        Line("s", RM_TO_CEM, {"message_type": "ReceptionStatus", "subject_message_id": "nope", "status": "OK"})
    )
    assert brief(replay(transcript(lines))) == [("S2-RS-001", 5)]


def test_a_second_status_for_one_message() -> None:
    lines = _valid_pair()
    lines.append(answer(lines[0]))
    assert brief(replay(transcript(lines))) == [("S2-RS-002", 5)]


def test_a_peer_refusing_a_valid_message() -> None:
    lines = _valid_pair()
    lines[1] = answer(lines[0], "INVALID_CONTENT", "no thanks")
    (found,) = replay(transcript(lines))
    assert (found.rule, found.line) == ("S2-RS-005", 2)
    assert "breaks no rule" in found.reason


def test_a_peer_accepting_what_it_must_refuse(walkthroughs: list[Line]) -> None:
    lines = _set(walkthroughs, "ev-12-FRBC.Instruction", operation_mode_factor=1.5)
    lines = _drop(lines, "ev-13-InstructionStatusUpdate")
    at = find(lines, "ev-12-FRBC.Instruction")
    assert brief(replay(transcript(lines))) == [("S2-FRBC-018", at + 1), ("S2-RS-005", at + 2)]


def test_temporary_and_permanent_errors_are_the_receivers_business() -> None:
    lines = _valid_pair()
    lines[1] = answer(lines[0], "TEMPORARY_ERROR", "busy")
    lines.insert(2, lines[0])
    lines.insert(3, answer(lines[0]))
    assert replay(transcript(lines)) == []


def test_an_undecodable_frame_answered_correctly() -> None:
    lines = _valid_pair()
    broken = Line("s", RM_TO_CEM, {"message_type": "PowerMeasurement", "message_id": "pm-1"}, "broken")
    lines += [broken, answer(broken, "INVALID_MESSAGE", "missing fields")]
    assert brief(replay(transcript(lines))) == [("S2-SCHEMA-002", 5)]


def test_an_undecodable_frame_answered_ok() -> None:
    lines = _valid_pair()
    broken = Line("s", RM_TO_CEM, {"message_type": "PowerMeasurement", "message_id": "pm-1"}, "broken")
    lines += [broken, answer(broken)]
    assert brief(replay(transcript(lines))) == [("S2-SCHEMA-002", 5), ("S2-RS-005", 6)]


def test_garbage_answered_with_invalid_data() -> None:
    lines = _valid_pair()
    lines.append(Line("s", RM_TO_CEM, "this is not json"))
    lines.append(
        Line(
            "s",
            CEM_TO_RM,
            {
                "message_type": "ReceptionStatus",
                "subject_message_id": NIL,
                "status": "INVALID_DATA",
                "diagnostic_label": "x",
            },
        )
    )
    assert brief(replay(transcript(lines))) == [("S2-SCHEMA-001", 5)]


def test_garbage_nobody_answered() -> None:
    lines = [*_valid_pair(), Line("s", RM_TO_CEM, "[1, 2]")]
    assert brief(replay(transcript(lines))) == [("S2-SCHEMA-001", 5), ("S2-RS-004", 5)]


def test_a_broken_reception_status_is_not_answered() -> None:
    lines = [*_valid_pair(), Line("s", RM_TO_CEM, {"message_type": "ReceptionStatus", "status": "OK"})]
    assert brief(replay(transcript(lines))) == [("S2-SCHEMA-002", 5)]


def test_sessions_are_judged_apart() -> None:
    first = _valid_pair()
    second = [Line("t", ln.direction, ln.doc, ln.name) for ln in _valid_pair()]
    assert replay(transcript(first + second)) == []


FIRES: frozenset[str] = frozenset(
    {"S2-RS-004", "S2-RS-005", "S2-SCHEMA-001", "S2-SCHEMA-002"} | {f.rule for f in FAULTS}
)
"""Rule ids with a firing test in this module (the catalogue test checks coverage)."""


# --- the transcript format and the command line ----------------------------------------------


def test_a_line_that_is_not_a_record_is_refused() -> None:
    with pytest.raises(TranscriptError) as caught:
        list(parse_transcript(['{"t": "2024-01-01T00:00:00Z", "dir": "up", "session": "s", "text": "{}"}']))
    assert caught.value.line == 1


def test_blank_lines_are_skipped_and_naive_times_are_utc() -> None:
    (record,) = parse_transcript(["", '{"t": "2024-01-01T00:00:00", "dir": "rm>cem", "session": "s", "text": "{}"}'])
    assert record.line == 2 and record.t.tzinfo is not None


def test_replay_is_incremental() -> None:
    judge = Replay()
    records = list(parse_transcript(transcript(_valid_pair()[:1])))
    assert judge.feed(records[0]) == []
    assert brief(judge.finish()) == [("S2-RS-004", 1)]


def _write(tmp_path: Path, lines: list[str]) -> str:
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_cli_clean_transcript(tmp_path: Path, capsys: pytest.CaptureFixture[str], walkthroughs: list[Line]) -> None:
    assert main(["replay", _write(tmp_path, transcript(walkthroughs))]) == 0
    assert "0 error(s), 0 warning(s)" in capsys.readouterr().err


def test_cli_reports_findings_with_rule_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _valid_pair()[:3]
    path = _write(tmp_path, transcript(lines))
    assert main(["replay", path]) == 1
    out = capsys.readouterr().out
    assert f"{path}:3: s rm>cem Handshake h-rm: error S2-RS-004 at /message_id:" in out


def test_cli_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, transcript(_valid_pair()[:1]))
    assert main(["replay", "--json", path]) == 1
    record = json.loads(capsys.readouterr().out.splitlines()[0])
    assert record["rule"] == "S2-RS-004" and record["line"] == 1


def test_cli_strict_fails_on_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _valid_pair()
    dup = Line("s", RM_TO_CEM, dict(lines[2].doc, message_id="h-rm2", supported_protocol_versions=["a", "a"]), "dup")  # type: ignore[arg-type]
    lines += [dup, answer(dup)]
    path = _write(tmp_path, transcript(lines))
    assert main(["replay", path]) == 0
    assert main(["replay", "--strict", path]) == 1
    assert "S2-HANDSHAKE-002" in capsys.readouterr().out


def test_cli_usage_and_io_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(tmp_path / "missing.jsonl")]) == 2
    assert main(["replay", "--profile", "9.9", str(tmp_path / "missing.jsonl")]) == 2
    assert main(["replay", _write(tmp_path, ["not a record"])]) == 2
    assert "not a transcript record" in capsys.readouterr().err


def test_every_replay_rule_is_catalogued() -> None:
    assert set(CATALOGUE) >= FIRES


def test_answers_to_two_unreadable_frames_do_not_blame_the_receiver() -> None:
    """The raw probe: a frame that is not JSON, then a JSON array. Neither has a message_id, so
    the receiver answers each INVALID_DATA with the all-zero subject id (one answer per frame);
    replay pairs each answer with its frame instead of calling the second one a repeat."""
    import json

    from s2ws.session.policy import NIL_ID

    def line(second: int, direction: str, text: str) -> str:
        return json.dumps({"t": f"2026-01-01T00:00:0{second}Z", "dir": direction, "session": "s1", "text": text})

    answer = json.dumps(
        {
            "message_type": "ReceptionStatus",
            "subject_message_id": NIL_ID,
            "status": "INVALID_DATA",
            "diagnostic_label": "not a JSON object",
        }
    )
    lines = [
        line(1, "rm>cem", "{not json"),
        line(2, "cem>rm", answer),
        line(3, "rm>cem", "[1, 2]"),
        line(4, "cem>rm", answer),
    ]
    findings = replay(lines)
    assert [f.rule for f in findings if f.direction == "cem>rm"] == []
    assert [f.rule for f in findings] == ["S2-SCHEMA-001", "S2-SCHEMA-001"]
