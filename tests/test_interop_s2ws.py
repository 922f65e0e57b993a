"""s2ws against s2-python 0.11.1, both ways, as real processes on 127.0.0.1.

1. s2-python's RM (interop/s2python_rm.py) against ``s2ws cem``: handshake, details, FRBC selection,
   the planner's FRBC.Instruction and its statuses, ReceptionStatuses both ways; then ``s2ws replay``
   on the CEM's transcript finds exactly the pinned s2-python deviation.
2. ``s2ws rm simulate battery`` against s2-python's CEM (interop/s2python_cem.py): the same flow from
   the other side, ended by s2-python's TERMINATE.

docs/interop.md explains every pinned behaviour. The tests skip (with the reason) when the s2-python
environment is missing; ``make test`` creates it.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from app_support import (
    cheap_now_site_file,
    interrupt,
    listening_url,
    pairs,
    s2ws_command,
    statuses,
    unanswered,
    wait_line,
)
from interop_support import REPO, TranscriptFrame, is_uuid, read_transcript, s2python_interpreter, s2python_script

DEADLINE = 60.0
NO_SESSION_REQUEST_HANDLER = (
    "Received an event of type <class 's2python.common.session_request.SessionRequest'> "
    "but no handler is registered. Ignoring the event."
)


def replay_findings(path: Path) -> tuple[int, list[dict[str, Any]]]:
    done = subprocess.run(
        [sys.executable, "-m", "s2ws.cli", "replay", "--json", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=str(REPO),
    )
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()]


def same_frames(ours: list[TranscriptFrame], theirs: list[TranscriptFrame], *, spare: str | None = None) -> None:
    """Both transcripts hold the same frames in the same order per direction; in direction ``spare``
    ours may have one more at the end (an answer the peer closed before reading)."""
    for direction in ("cem>rm", "rm>cem"):
        mine = [f.text for f in ours if f.dir == direction]
        other = [f.text for f in theirs if f.dir == direction]
        if direction == spare and len(mine) == len(other) + 1:
            mine = mine[:-1]
        assert mine == other, direction


async def test_s2python_rm_runs_the_frbc_scenario_against_s2ws_cem(tmp_path: Path) -> None:
    s2python_interpreter()
    cem_log, rm_log = tmp_path / "cem.jsonl", tmp_path / "s2python-rm.jsonl"
    async with asyncio.timeout(DEADLINE):
        site = cheap_now_site_file(tmp_path)  # cheap now, dear later: the optimiser charges the battery at once
        async with s2ws_command("cem", "--listen", "127.0.0.1:0", "--site", str(site), "--record", str(cem_log)) as cem:
            url = await listening_url(cem)
            async with s2python_script("s2python_rm.py", "--url", url, "--timeout", "30", "--log", str(rm_log)) as rm:
                await wait_line(cem, lambda line: "SUCCEEDED for FRBC instruction" in line)
                cem_result = await interrupt(cem)  # s2ws ends the session: TERMINATE, then close
                rm_result = await rm.finish(30)
    assert cem_result.returncode == 0, cem_result.describe()
    assert rm_result.returncode == 0, rm_result.describe()
    summary = rm_result.summary
    assert summary["end"] == "peer_closed" and summary["error"] is None and summary["close_code"] == 1000

    frames = read_transcript(cem_log)
    conversation = pairs(frames)
    flow = [(d, m["message_type"]) for d, m in conversation if m["message_type"] != "ReceptionStatus"]
    assert flow[:4] == [
        ("cem>rm", "Handshake"),
        ("rm>cem", "Handshake"),
        ("cem>rm", "HandshakeResponse"),
        ("rm>cem", "ResourceManagerDetails"),
    ]
    assert flow[4] == ("cem>rm", "SelectControlType") and flow[-1] == ("cem>rm", "SessionRequest")
    select = next(m for d, m in conversation if m["message_type"] == "SelectControlType")
    assert select["control_type"] == "FILL_RATE_BASED_CONTROL"
    assert ("rm>cem", "FRBC.SystemDescription") in flow
    sent = [m for d, m in conversation if m["message_type"] == "FRBC.Instruction"]
    instruction = sent[0]
    assert all(is_uuid(instruction[k]) for k in ("message_id", "id", "actuator_id", "operation_mode"))
    assert instruction["operation_mode"] == summary["operation_modes"]["charge"]
    assert 0.0 < instruction["operation_mode_factor"] <= 1.0
    updates = [
        (m["instruction_id"], m["status_type"])
        for d, m in conversation
        if m["message_type"] == "InstructionStatusUpdate" and m["instruction_id"] == instruction["id"]
    ]
    assert updates == [(instruction["id"], s) for s in ("ACCEPTED", "STARTED", "SUCCEEDED")]
    assert [i["accepted"] for i in summary["instructions"]] == [True] * len(sent)

    # ReceptionStatus OK both ways for everything, except that s2-python never answers SessionRequest
    assert {s for _, _, s in statuses(conversation)} == {"OK"}
    assert unanswered(conversation) == ["SessionRequest"]
    assert summary["unanswered_sent"] == [] and summary["unanswered_received"] == ["SessionRequest"]
    assert summary["s2python_log"] == [{"level": "WARNING", "message": NO_SESSION_REQUEST_HANDLER}]
    assert Counter(summary["sent"]) == Counter(
        {
            "Handshake": 1,
            "ResourceManagerDetails": 1,
            "FRBC.SystemDescription": 1,
            "FRBC.ActuatorStatus": 2,
            "FRBC.StorageStatus": 1,
            "PowerMeasurement": 1,
            "InstructionStatusUpdate": 3,
            "ReceptionStatus": 4,  # Handshake, HandshakeResponse, SelectControlType, FRBC.Instruction
        }
    )
    assert summary["received"]["ReceptionStatus"] == 10  # s2ws answered all ten of its messages
    theirs = [m for d, m in conversation if d == "rm>cem" and m["message_type"] == "ReceptionStatus"]
    assert {m.get("diagnostic_label") for m in theirs} == {"Processed okay."}  # s2-python labels even an OK
    ours = [m for d, m in conversation if d == "cem>rm" and m["message_type"] == "ReceptionStatus"]
    assert all("diagnostic_label" not in m for m in ours)
    same_frames(frames, read_transcript(rm_log))

    # replay judges the CEM's transcript: exactly the pinned gap, plus a warning on the script's offer
    code, findings = replay_findings(cem_log)
    assert code == 1
    assert sorted((f["rule"], f["severity"], f["message_type"]) for f in findings) == [
        ("S2-RMD-005", "warning", "ResourceManagerDetails"),  # FRBC offered together with NOT_CONTROLABLE
        ("S2-RS-004", "error", "SessionRequest"),  # s2-python sends no ReceptionStatus for SessionRequest
    ]


async def test_s2ws_battery_runs_the_frbc_scenario_against_s2python_cem(tmp_path: Path) -> None:
    s2python_interpreter()
    cem_log, rm_log = tmp_path / "s2python-cem.jsonl", tmp_path / "rm.jsonl"
    async with asyncio.timeout(DEADLINE):
        async with s2python_script("s2python_cem.py", "--port", "0", "--timeout", "30", "--log", str(cem_log)) as cem:
            port = await cem.wait_port()
            url = f"ws://127.0.0.1:{port}"
            args = ("--connect", url, "--record", str(rm_log), "--interval", "60", "--duration", "30")
            async with s2ws_command("rm", "simulate", "battery", *args) as rm:
                rm_result = await rm.finish(40)  # s2-python's TERMINATE ends it
            cem_result = await cem.finish(40)
    assert rm_result.returncode == 0, rm_result.describe()
    assert any("session ended: the peer sent SessionRequest TERMINATE" in line for line in rm_result.stdout_lines)
    assert cem_result.returncode == 0, cem_result.describe()
    summary = cem_result.summary
    assert summary["end"] == "done" and summary["s2python_log"] == []
    (session,) = summary["sessions"]
    assert session["end"] == "cem_terminated" and session["error"] is None and session["errors"] == []
    assert session["rm_versions"] == ["0.0.2-beta"] and session["selected_version"] == "0.0.2-beta"
    assert session["available_control_types"] == ["FILL_RATE_BASED_CONTROL"]
    assert session["selected_control_type"] == "FILL_RATE_BASED_CONTROL"
    instruction = session["instruction"]
    statuses_seen = [(s["instruction_id"], s["status"]) for s in session["instruction_statuses"]]
    assert statuses_seen == [(instruction["id"], s) for s in ("ACCEPTED", "STARTED", "SUCCEEDED")]
    # s2-python answered every s2ws message OK, and s2ws answered every s2-python message
    assert {s["status"] for s in session["statuses_received"]} == {"OK"}
    assert session["unanswered_received"] == []

    frames = read_transcript(rm_log)
    conversation = pairs(frames)
    flow = [(d, m["message_type"]) for d, m in conversation if m["message_type"] != "ReceptionStatus"]
    assert flow[0] == ("rm>cem", "Handshake") and ("cem>rm", "HandshakeResponse") in flow
    assert flow.index(("rm>cem", "ResourceManagerDetails")) < flow.index(("cem>rm", "SelectControlType"))
    assert flow[-1] == ("cem>rm", "SessionRequest")
    (description,) = [m for d, m in conversation if m["message_type"] == "FRBC.SystemDescription"]
    charge = next(
        mode for mode in description["actuators"][0]["operation_modes"] if mode["diagnostic_label"] == "Charge"
    )
    assert (
        instruction["operation_mode"] == charge["id"]
        and instruction["actuator_id"] == description["actuators"][0]["id"]
    )
    updates = [m["status_type"] for d, m in conversation if m["message_type"] == "InstructionStatusUpdate"]
    assert updates == ["ACCEPTED", "STARTED", "SUCCEEDED"]
    assert {s for _, _, s in statuses(conversation)} == {"OK"} and unanswered(conversation) == []
    theirs = [m for d, m in conversation if d == "cem>rm" and m["message_type"] == "ReceptionStatus"]
    assert {m.get("diagnostic_label") for m in theirs} == {"Processed okay."}
    for _, message in conversation:
        for key in ("message_id", "id", "instruction_id", "actuator_id", "resource_id"):
            assert key not in message or is_uuid(message[key]), message
    same_frames(frames, read_transcript(cem_log), spare="rm>cem")

    code, findings = replay_findings(rm_log)
    assert code == 0
    assert findings == []
