"""Every s2ws simulator against s2-python 0.11.1's CEM (interop/s2python_cem.py), as real processes.

Each of the seven ``s2ws rm simulate DEVICE`` runs at speed 1 (s2-python's CEM works in wall-clock
time) against its own s2-python CEM on 127.0.0.1; all seven pairs run at once, in one module fixture,
and the tests below check each conversation and ``s2ws replay`` on the RM's transcript. Pinned per
device (docs/interop.md, "Every simulator against s2-python's CEM"):

- battery, heatpump (FRBC), generator (OMBC): instruction ACCEPTED, STARTED, SUCCEEDED; s2-python ends
  the session; replay finds nothing;
- ev (FRBC): run twice on purpose, its simulated clock pinned to a time of day (the s2-python CEM
  works in wall-clock time, so the RM's clock runs ahead of the wall by less than a day and every
  instruction is due at once): at 21:00 the car is plugged in (target profile, then ACCEPTED,
  STARTED, SUCCEEDED), at 12:00 it is away (no target profile, REJECTED);
- pv (PEBC): PEBC.Instruction ACCEPTED, STARTED (the envelope lasts an hour); the RM ends the session;
  replay finds nothing;
- washer (PPBC): PPBC.ScheduleInstruction ACCEPTED, STARTED; s2-python answers INVALID_MESSAGE to every
  PPBC.PowerProfileStatus that carries ``progress``; replay finds exactly those answers (S2-RS-005);
- hybrid-heatpump (DDBC): s2-python answers the DDBC.SystemDescription INVALID_MESSAGE and instructs
  nothing; replay finds exactly that answer (S2-RS-005).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from app_support import pairs, s2ws_command, statuses, unanswered
from interop_support import REPO, S2PYTHON_VENV, ScriptResult, is_uuid, read_transcript, s2python_script

DEVICES = ("battery", "ev", "heatpump", "pv", "washer", "hybrid-heatpump", "generator")
EV_HOURS = {"ev-at-home": time(21, 0), "ev-away": time(12, 0)}
"""Each EV run and the simulated time of day it starts at: the car's routine brings it home at 18:00
and takes it away at 07:30, whatever the wall clock says."""
RUNS = tuple(name for device in DEVICES for name in (sorted(EV_HOURS) if device == "ev" else [device]))
CONTROL_TYPES = {
    "battery": "FILL_RATE_BASED_CONTROL",
    "ev": "FILL_RATE_BASED_CONTROL",
    "heatpump": "FILL_RATE_BASED_CONTROL",
    "pv": "POWER_ENVELOPE_BASED_CONTROL",
    "washer": "POWER_PROFILE_BASED_CONTROL",
    "hybrid-heatpump": "DEMAND_DRIVEN_BASED_CONTROL",
    "generator": "OPERATION_MODE_BASED_CONTROL",
}
DESCRIPTIONS = {
    "FILL_RATE_BASED_CONTROL": "FRBC.SystemDescription",
    "POWER_ENVELOPE_BASED_CONTROL": "PEBC.PowerConstraints",
    "POWER_PROFILE_BASED_CONTROL": "PPBC.PowerProfileDefinition",
    "DEMAND_DRIVEN_BASED_CONTROL": "DDBC.SystemDescription",
    "OPERATION_MODE_BASED_CONTROL": "OMBC.SystemDescription",
}
INSTRUCTIONS = {
    "FILL_RATE_BASED_CONTROL": "FRBC.Instruction",
    "POWER_ENVELOPE_BASED_CONTROL": "PEBC.Instruction",
    "POWER_PROFILE_BASED_CONTROL": "PPBC.ScheduleInstruction",
    "OPERATION_MODE_BASED_CONTROL": "OMBC.Instruction",
}
COMPLETED = ["ACCEPTED", "STARTED", "SUCCEEDED"]
DEADLINE = 50.0
RM_DURATION = "6"  # wall seconds after which the RM ends a session s2-python has not ended


@dataclass
class Run:
    name: str
    device: str
    rm: ScriptResult
    cem: ScriptResult
    rm_log: Path
    cem_log: Path


def clock_args(name: str) -> tuple[str, ...]:
    """For the EV runs: a simulated clock at speed 1 that starts at the next occurrence of the run's
    time of day (ahead of the wall clock by less than a day)."""
    if name not in EV_HOURS:
        return ()
    now = datetime.now(UTC)
    start = datetime.combine(now.date(), EV_HOURS[name], UTC)
    if start < now:
        start += timedelta(days=1)
    return ("--origin", now.isoformat(), "--start", start.isoformat())


async def run_device(name: str, folder: Path) -> Run:
    device = "ev" if name in EV_HOURS else name
    cem_log, rm_log = folder / f"{name}.s2python-cem.jsonl", folder / f"{name}.rm.jsonl"
    cem_args = ("--port", "0", "--timeout", "30", "--log", str(cem_log))
    async with s2python_script("s2python_cem.py", *cem_args) as cem:
        port = await cem.wait_port()
        url = f"ws://127.0.0.1:{port}"
        args = ("--connect", url, "--record", str(rm_log), "--interval", "60", "--duration", RM_DURATION, "--once")
        async with s2ws_command("rm", "simulate", device, *args, *clock_args(name)) as rm:
            rm_result = await rm.finish(30)
        cem_result = await cem.finish(30)
    return Run(name, device, rm_result, cem_result, rm_log, cem_log)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    if not (S2PYTHON_VENV / "bin" / "python").exists():
        pytest.skip(
            f"s2-python interpreter not found at {S2PYTHON_VENV / 'bin' / 'python'}; "
            "`make interop-venv` (part of `make test`) creates it"
        )
    folder = tmp_path_factory.mktemp("sims")

    async def run_all() -> list[Run]:
        async with asyncio.timeout(DEADLINE):
            return list(await asyncio.gather(*(run_device(name, folder) for name in RUNS)))

    return {run.name: run for run in asyncio.run(run_all())}


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


def expected_statuses(name: str, conversation: list[tuple[str, dict[str, Any]]]) -> list[str]:
    if name in EV_HOURS:
        # the EV publishes a fill-level target profile only while the car is plugged in (its daily routine)
        plugged = any(m["message_type"] == "FRBC.FillLevelTargetProfile" for _, m in conversation)
        assert plugged is (name == "ev-at-home")
        return COMPLETED if plugged else ["REJECTED"]
    device = name
    if device in ("pv", "washer"):  # the envelope lasts an hour, the washer's sequence ten minutes
        return ["ACCEPTED", "STARTED"]
    if device == "hybrid-heatpump":
        return []
    return COMPLETED


REFUSED = {"washer": "PPBC.PowerProfileStatus", "hybrid-heatpump": "DDBC.SystemDescription"}
"""What s2-python answers INVALID_MESSAGE to, per device (it cannot parse these schema-valid messages)."""


@pytest.mark.parametrize("name", RUNS)
def test_simulator_runs_against_s2python_cem(runs: dict[str, Run], name: str) -> None:
    run = runs[name]
    device = run.device
    control_type = CONTROL_TYPES[device]
    assert run.rm.returncode == 0, run.rm.describe()
    assert run.cem.returncode == 0, run.cem.describe()
    summary = run.cem.summary
    assert summary["end"] == "done" and summary["s2python_log"] == [], run.cem.describe()
    (session,) = summary["sessions"]
    assert session["error"] is None and session["errors"] == [], run.cem.describe()
    assert session["rm_versions"] == ["0.0.2-beta"] and session["selected_version"] == "0.0.2-beta"
    assert session["available_control_types"] == [control_type]
    assert session["selected_control_type"] == control_type

    frames = read_transcript(run.rm_log)
    conversation = pairs(frames)
    flow = [(d, m["message_type"]) for d, m in conversation if m["message_type"] != "ReceptionStatus"]
    assert flow[0] == ("rm>cem", "Handshake") and ("cem>rm", "HandshakeResponse") in flow
    assert flow.index(("rm>cem", "ResourceManagerDetails")) < flow.index(("cem>rm", "SelectControlType"))
    (select,) = [m for _, m in conversation if m["message_type"] == "SelectControlType"]
    assert select["control_type"] == control_type
    description = DESCRIPTIONS[control_type]
    assert flow.index(("cem>rm", "SelectControlType")) < flow.index(("rm>cem", description))

    # the instruction s2-python sent, and the RM's statuses for it
    instructions = [m for _, m in conversation if m["message_type"] in INSTRUCTIONS.values()]
    updates = [m for _, m in conversation if m["message_type"] == "InstructionStatusUpdate"]
    if control_type in INSTRUCTIONS:
        (instruction,) = instructions
        assert instruction["message_type"] == INSTRUCTIONS[control_type]
        assert session["instruction"]["id"] == instruction["id"] and is_uuid(instruction["id"])
        assert {m["instruction_id"] for m in updates} == {instruction["id"]}
    else:
        assert instructions == [] and session["instruction"] is None
    assert [m["status_type"] for m in updates] == expected_statuses(name, conversation)

    # who ended the session: s2-python after a terminal status (or the DDBC refusal), else the RM
    ended_by_s2python = device not in ("pv", "washer")
    assert session["end"] == ("cem_terminated" if ended_by_s2python else "rm_requested")
    assert flow[-1] == (("cem>rm" if ended_by_s2python else "rm>cem"), "SessionRequest")
    if ended_by_s2python:
        assert any("the peer sent SessionRequest TERMINATE" in line for line in run.rm.stdout_lines)

    # ReceptionStatuses: every message answered both ways; OK except s2-python's pinned refusals
    assert unanswered(conversation) == []
    refused = [(d, t) for d, t, s in statuses(conversation) if s != "OK"]
    if device in REFUSED:
        assert refused and set(refused) == {("cem>rm", REFUSED[device])}
        assert {s for _, _, s in statuses(conversation) if s != "OK"} == {"INVALID_MESSAGE"}
    else:
        assert refused == []
    for _, message in conversation:
        for key in ("message_id", "id", "instruction_id", "actuator_id", "resource_id"):
            assert key not in message or is_uuid(message[key]), message

    code, findings = replay_findings(run.rm_log)
    if device in REFUSED:
        assert code == 1
        assert [(f["rule"], f["severity"], f["message_type"]) for f in findings] == [
            ("S2-RS-005", "error", "ReceptionStatus")
        ] * len(refused)
        assert all(REFUSED[device] in f["reason"] for f in findings)
    else:
        assert (code, findings) == (0, [])
