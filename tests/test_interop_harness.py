"""The interop harness proves itself: the s2-python RM script against the s2-python CEM script.

Both scripts run with the s2-python 0.11.1 interpreter (tests skip with the reason when it is absent).
If this passes, a failure of the s2ws interop tests is about s2ws, not about the harness.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

from interop_support import (
    free_port,
    is_uuid,
    messages,
    read_transcript,
    run_s2python_script,
    s2python_interpreter,
    s2python_script,
)


def _ids(message: dict[str, Any]) -> list[str]:
    """message_id and every id field a receiver of s2-python's messages must cope with."""
    found = []
    for key in ("message_id", "subject_message_id", "id", "instruction_id", "actuator_id", "resource_id"):
        if key in message:
            found.append(message[key])
    return found


async def test_s2python_rm_and_cem_run_the_frbc_scenario_end_to_end(tmp_path: Path) -> None:
    s2python_interpreter()
    cem_log, rm_log = tmp_path / "cem.jsonl", tmp_path / "rm.jsonl"
    async with asyncio.timeout(60):
        async with s2python_script("s2python_cem.py", "--port", "0", "--timeout", "30", "--log", str(cem_log)) as cem:
            port = await cem.wait_port()
            url = f"ws://127.0.0.1:{port}"
            async with s2python_script("s2python_rm.py", "--url", url, "--timeout", "30", "--log", str(rm_log)) as rm:
                rm_result = await rm.finish(40)
            cem_result = await cem.finish(40)

    rm_summary, cem_summary = rm_result.summary, cem_result.summary
    assert rm_result.returncode == 0, rm_result.describe()
    assert cem_result.returncode == 0, cem_result.describe()
    assert rm_summary["end"] == "peer_closed" and rm_summary["error"] is None
    assert rm_summary["close_code"] == 1000
    assert cem_summary["end"] == "done" and len(cem_summary["sessions"]) == 1
    session = cem_summary["sessions"][0]
    assert session["end"] == "cem_terminated", cem_result.describe()
    assert session["errors"] == [] and session["error"] is None

    # handshake, details, control type selection
    assert session["rm_versions"] == ["0.0.2-beta"] and session["selected_version"] == "0.0.2-beta"
    assert session["available_control_types"] == ["FILL_RATE_BASED_CONTROL", "NOT_CONTROLABLE"]
    assert session["selected_control_type"] == "FILL_RATE_BASED_CONTROL"

    # the instruction uses the RM's actuator and its charge mode, and runs to SUCCEEDED
    instruction = session["instruction"]
    assert instruction["actuator_id"] == rm_summary["actuator_id"]
    assert instruction["operation_mode"] == rm_summary["operation_modes"]["charge"]
    assert [i["accepted"] for i in rm_summary["instructions"]] == [True]
    statuses = [(s["instruction_id"], s["status"]) for s in session["instruction_statuses"]]
    assert statuses == [(instruction["id"], status) for status in ("ACCEPTED", "STARTED", "SUCCEEDED")]

    # ReceptionStatuses both ways, all OK; the one gap is s2-python's: its RM never answers SessionRequest
    assert all(s["status"] == "OK" for s in rm_summary["statuses_received"] + session["statuses_received"])
    assert rm_summary["unanswered_sent"] == [] and session["unanswered_received"] == []
    assert rm_summary["unanswered_received"] == ["SessionRequest"]
    assert session["unanswered_sent"] == ["SessionRequest"]
    assert rm_summary["sent"] == session["received"] and rm_summary["received"] == session["sent"]
    assert Counter(rm_summary["sent"]) == Counter(
        {
            "Handshake": 1,
            "ResourceManagerDetails": 1,
            "FRBC.SystemDescription": 1,
            "FRBC.ActuatorStatus": 2,
            "FRBC.StorageStatus": 1,
            "PowerMeasurement": 1,
            "InstructionStatusUpdate": 3,
            "ReceptionStatus": 4,
        }
    )

    # both transcripts are well formed and saw the same frames in the same order, per direction
    rm_frames, cem_frames = read_transcript(rm_log), read_transcript(cem_log)
    for direction in ("cem>rm", "rm>cem"):
        assert [f.text for f in rm_frames if f.dir == direction] == [f.text for f in cem_frames if f.dir == direction]
    assert {f.session for f in rm_frames} == {rm_summary["session"]}
    assert {f.session for f in cem_frames} == {session["session"]}
    assert [m["message_type"] for m in messages(rm_frames, "rm>cem")][:1] == ["Handshake"]

    # s2-python writes UUIDs for every id
    for message in messages(rm_frames):
        assert all(is_uuid(value) for value in _ids(message)), message


async def test_cem_script_exits_on_its_timeout_without_a_client() -> None:
    s2python_interpreter()
    async with asyncio.timeout(30), s2python_script("s2python_cem.py", "--timeout", "0.5") as cem:
        await cem.wait_port()
        result = await cem.finish(20)
    assert result.returncode == 3, result.describe()
    assert result.summary["end"] == "timeout" and result.summary["sessions"] == []


def test_rm_script_reports_a_refused_connection() -> None:
    s2python_interpreter()
    # a port that was just free: nothing listens there, the connection is refused at once
    url = f"ws://127.0.0.1:{free_port()}"
    result = run_s2python_script("s2python_rm.py", "--url", url, "--timeout", "10", timeout=30)
    assert result.returncode == 2, result.describe()
    assert result.summary["end"] == "connect_failed"
    assert result.summary["sent"] == {} and result.summary["received"] == {}
