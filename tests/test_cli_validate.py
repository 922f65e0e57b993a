"""``s2ws validate``: exit codes, input shapes and the finding line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from s2ws.cli import main

GOOD = {"message_type": "SelectControlType", "message_id": "m-1", "control_type": "NO_SELECTION"}
BAD = {"message_type": "SelectControlType", "message_id": "m-2", "control_type": "SOMETHING"}


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_valid_single_message_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", write(tmp_path, "a.json", json.dumps(GOOD, indent=2))]) == 0
    assert capsys.readouterr().out == ""


def test_array_and_json_lines_locate_each_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    arr = write(tmp_path, "arr.json", json.dumps([GOOD, BAD]))
    lines = write(tmp_path, "lines.jsonl", json.dumps(GOOD) + "\n\n" + json.dumps(BAD) + "\n")
    assert main(["validate", arr, lines]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    assert out[0].startswith(f'{arr}:[1]: SelectControlType m-2: INVALID_MESSAGE at /control_type: "SOMETHING" is not')
    assert out[1].startswith(f'{lines}:3: SelectControlType m-2: INVALID_MESSAGE at /control_type: "SOMETHING" is not')


def test_json_output_is_one_object_per_finding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--json", write(tmp_path, "b.json", "garbage")]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    finding = json.loads(line)
    assert finding["status"] == "INVALID_DATA" and finding["location"] == "1" and finding["message_id"] is None


def test_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(json.dumps(BAD).encode())))
    assert main(["validate", "-"]) == 1
    assert capsys.readouterr().out.startswith("<stdin>:1: SelectControlType m-2: INVALID_MESSAGE")


def test_usage_and_io_errors_exit_2(tmp_path: Path) -> None:
    assert main(["validate", str(tmp_path / "missing.json")]) == 2
    assert main(["validate", "--profile", "0.9", write(tmp_path, "c.json", json.dumps(GOOD))]) == 2
    assert main(["validate"]) == 2


def test_profile_option_selects_the_message_set(tmp_path: Path) -> None:
    status = {
        "message_type": "DDBC.PresentDemandStatus",
        "message_id": "m-3",
        "present_demand_rate": {"start_of_range": 1, "end_of_range": 2},
    }
    path = write(tmp_path, "d.json", json.dumps(status))
    assert main(["validate", path]) == 1
    assert main(["validate", "--profile", "1.0.0", path]) == 0


def test_official_examples_are_valid(examples_dir: Path) -> None:
    files = sorted(str(p) for p in examples_dir.glob("*.json") if "-fragment-" not in p.name)
    assert len(files) == 38
    assert main(["validate", *files]) == 0


FOUR_FAULTS = {
    "message_type": "PowerMeasurement",
    "message_id": "m-4",
    "measurement_timestamp": "2024-01-01T00:00:00",
    "values": [{"commodity_quantity": "ELECTRIC.POWER.L9", "value": "high"}],
    "extra": 1,
}


def test_every_fault_of_a_message_is_a_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "four.json", json.dumps(FOUR_FAULTS))
    assert main(["validate", path]) == 1
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert len(lines) == 4 and "4 problem(s)" in out.err
    assert all(line.startswith(f"{path}:1: PowerMeasurement m-4: INVALID_MESSAGE at ") for line in lines)
    assert [line.split(" at ", 1)[1].split(":", 1)[0] for line in lines] == [
        "/measurement_timestamp",
        "/values/0/commodity_quantity",
        "/values/0/value",
        "/extra",
    ]
    assert main(["validate", "--json", path]) == 1
    found = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [f["pointer"] for f in found] == [line.split(" at ", 1)[1].split(":", 1)[0] for line in lines]
    assert len({f["reason"] for f in found}) == 4
