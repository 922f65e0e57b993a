"""What the UI's monitor keeps: PPBC placement derived from the frames, and every per-device and per-session
structure capped however long it runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from s2ws.web import Monitor
from s2ws.web.monitor import (
    MAX_CONTAINERS,
    MAX_ENDED_SESSIONS,
    MAX_INSTRUCTIONS,
    MAX_MESSAGES,
    MAX_POINTS,
    MAX_STATUSES,
)

T0 = datetime(2026, 3, 20, 10, 0, tzinfo=UTC)
DETAILS = {"message_type": "ResourceManagerDetails", "message_id": "d1", "resource_id": "washer", "name": "Washer"}


def _element(minutes: int, watts: float) -> dict[str, Any]:
    return {
        "duration": minutes * 60_000,
        "power_values": [{"commodity_quantity": "ELECTRIC.POWER.L1", "value_expected": watts}],
    }


def _sequence(ident: str, *elements: dict[str, Any]) -> dict[str, Any]:
    return {"id": ident, "elements": list(elements), "is_interruptible": False, "abnormal_condition_only": False}


DEFINITION = {
    "message_type": "PPBC.PowerProfileDefinition",
    "message_id": "p1",
    "id": "programme",
    "start_time": "2026-03-20T10:00:00Z",
    "end_time": "2026-03-20T20:00:00Z",
    "power_sequences_containers": [
        {"id": "prewash", "power_sequences": [_sequence("cold", _element(10, 150))]},
        {"id": "main", "power_sequences": [_sequence("m40", _element(15, 2000), _element(45, 250)), _sequence("m60")]},
        {"id": "spin", "power_sequences": [_sequence("s1200", _element(10, 450))]},
    ],
}


def _schedule(n: int, container: str, sequence: str, start: str) -> dict[str, Any]:
    return {
        "message_type": "PPBC.ScheduleInstruction",
        "message_id": f"i{n}",
        "id": f"i{n}",
        "power_profile_id": "programme",
        "sequence_container_id": container,
        "power_sequence_id": sequence,
        "execution_time": start,
        "abnormal_condition": False,
    }


def _feed(monitor: Monitor, *messages: tuple[str, dict[str, Any]]) -> None:
    for i, (direction, body) in enumerate(messages):
        monitor.add(T0 + timedelta(seconds=i), "s1", direction, json.dumps(body))


def test_ppbc_placement_shows_sequences_on_the_time_axis_with_the_rm_status() -> None:
    monitor = Monitor()
    status = {
        "message_type": "PPBC.PowerProfileStatus",
        "message_id": "st1",
        "sequence_container_status": [
            {"power_profile_id": "programme", "sequence_container_id": "prewash", "status": "FINISHED",
             "selected_sequence_id": "cold"},
            {"power_profile_id": "programme", "sequence_container_id": "main", "status": "EXECUTING",
             "selected_sequence_id": "m40"},
            {"power_profile_id": "programme", "sequence_container_id": "spin", "status": "SCHEDULED"},
        ],
    }  # fmt: skip
    _feed(
        monitor,
        ("rm>cem", DETAILS),
        ("rm>cem", DEFINITION),
        ("cem>rm", _schedule(1, "prewash", "cold", "2026-03-20T12:00:00Z")),
        ("cem>rm", _schedule(2, "main", "m40", "2026-03-20T12:10:00Z")),
        ("rm>cem", status),
    )
    (device,) = monitor.energy()["devices"]
    placement = device["ppbc"]
    assert placement["profile"] == "programme"
    assert placement["window"] == ["2026-03-20T10:00:00Z", "2026-03-20T20:00:00Z"]
    prewash, main, spin = placement["containers"]
    assert (prewash["sequence"], prewash["start"], prewash["status"]) == ("cold", "2026-03-20T12:00:00Z", "FINISHED")
    assert prewash["points"] == [("2026-03-20T12:00:00.000000Z", 150.0), ("2026-03-20T12:10:00.000000Z", 150.0)]
    assert main["status"] == "EXECUTING" and [p[1] for p in main["points"]] == [2000.0, 250.0, 250.0]
    assert main["points"][-1][0] == "2026-03-20T13:10:00.000000Z"  # 15 + 45 minutes after its start
    # nothing placed yet: the RM's status is shown, no points are made up
    assert (spin["sequence"], spin["start"], spin["status"], spin["points"]) == (None, None, "SCHEDULED", [])
    # a new definition replaces the placement of the old one
    _feed(monitor, ("rm>cem", {**DEFINITION, "message_id": "p2", "id": "programme-2"}))
    (device,) = monitor.energy()["devices"]
    assert device["ppbc"]["profile"] == "programme-2"
    assert all(c["sequence"] is None and c["status"] is None for c in device["ppbc"]["containers"])


def test_ppbc_placement_is_capped() -> None:
    monitor = Monitor()
    many = {
        **DEFINITION,
        "power_sequences_containers": [
            {"id": f"c{i}", "power_sequences": [_sequence(f"s{j}", _element(1, j)) for j in range(3 * MAX_CONTAINERS)]}
            for i in range(3 * MAX_CONTAINERS)
        ],
    }
    schedules = [("cem>rm", _schedule(i, f"x{i}", "s", "2026-03-20T12:00:00Z")) for i in range(3 * MAX_CONTAINERS)]
    _feed(monitor, ("rm>cem", DETAILS), ("rm>cem", many), *schedules)
    device = monitor.sessions["s1"].device
    assert device.profile is not None and len(device.profile["containers"]) == MAX_CONTAINERS
    assert all(len(c["sequences"]) == MAX_CONTAINERS for c in device.profile["containers"])
    assert len(device.placed) == MAX_CONTAINERS


def test_every_structure_stays_at_its_cap_when_fed_far_more() -> None:
    """N >> cap measurements, statuses, instructions and ended sessions: each size stops at its cap."""
    monitor = Monitor()
    n = MAX_MESSAGES + MAX_POINTS + 1000
    frbc = "FRBC.Instruction"
    for i in range(n):
        t = T0 + timedelta(seconds=i)
        stamp = t.isoformat().replace("+00:00", "Z")
        kind = i % 4
        if kind == 0:
            body: dict[str, Any] = {
                "message_type": "PowerMeasurement",
                "message_id": f"m{i}",
                "measurement_timestamp": stamp,
                "values": [{"commodity_quantity": "ELECTRIC.POWER.L1", "value": i}],
            }
        elif kind == 1:
            body = {"message_type": "FRBC.StorageStatus", "message_id": f"s{i}", "present_fill_level": i % 100}
        elif kind == 2:
            body = {"message_type": frbc, "message_id": f"i{i}", "id": f"i{i}", "operation_mode": "charge"}
            body |= {"execution_time": stamp, "actuator_id": "a", "operation_mode_factor": 1}
        else:
            body = {"message_type": "OMBC.Status", "message_id": f"o{i}", "active_operation_mode_id": f"mode{i % 3}"}
        monitor.add(t, "s1", "cem>rm" if kind == 2 else "rm>cem", json.dumps(body))
    for i in range(3 * MAX_STATUSES):  # one instruction's status, over and over
        update = {"message_type": "InstructionStatusUpdate", "message_id": f"u{i}", "instruction_id": f"i{n - 2}"}
        update |= {"status_type": "STARTED", "timestamp": "2026-03-20T10:00:00Z"}
        monitor.add(T0, "s1", "rm>cem", json.dumps(update))
    for i in range(3 * MAX_ENDED_SESSIONS):
        monitor.session_started(f"old{i}", "CEM", None)
        monitor.add(T0, f"old{i}", "rm>cem", '{"message_type":"x"}')
        monitor.session_ended(f"old{i}", "gone")
    device = monitor.sessions["s1"].device
    assert len(monitor.messages) == MAX_MESSAGES
    assert len(device.power) == len(device.fill) == len(device.modes) == MAX_POINTS
    assert len(device.instructions) == MAX_INSTRUCTIONS
    assert len(device.instructions[f"i{n - 2}"]["statuses"]) == MAX_STATUSES
    assert len(monitor._pending) <= MAX_INSTRUCTIONS * 10  # instructions nobody answered
    assert len([s for s in monitor.sessions.values() if s.state == "closed"]) == MAX_ENDED_SESSIONS
    assert len(monitor._judges) == 1  # a judge per live session only


def test_ppbc_placement_comes_from_the_plan_until_an_instruction_is_sent() -> None:
    monitor = Monitor()
    _feed(monitor, ("rm>cem", DETAILS), ("rm>cem", DEFINITION))
    planned = [
        {"profile": "programme", "container": "prewash", "sequence": "cold", "start": "2026-03-20T14:00:00.000000Z"},
        {"profile": "programme", "container": "main", "sequence": "m40", "start": "2026-03-20T14:10:00.000000Z"},
        {"profile": "older", "container": "spin", "sequence": "s1200", "start": "2026-03-20T15:00:00.000000Z"},
    ]
    monitor.extra["planned"] = {"devices": {"Washer": {"power_w": [], "sequences": planned}}}
    _feed(monitor, ("cem>rm", _schedule(1, "prewash", "cold", "2026-03-20T12:00:00Z")))
    prewash, main, spin = monitor.energy()["devices"][0]["ppbc"]["containers"]
    assert (prewash["placed_by"], prewash["start"]) == ("instruction", "2026-03-20T12:00:00Z")
    assert (main["placed_by"], main["sequence"], main["start"]) == ("plan", "m40", "2026-03-20T14:10:00.000000Z")
    assert main["points"][0] == ("2026-03-20T14:10:00.000000Z", 2000.0)
    assert spin["placed_by"] is None and spin["points"] == []  # planned for another profile: not this one


def test_freed_heap_memory_is_given_back_at_most_every_trim_interval() -> None:
    from s2ws.cli.ui_opts import TRIM_EVERY, give_back_memory

    start = 1e9  # far from any earlier call in this process
    assert give_back_memory(start) is True  # glibc: malloc_trim exists
    assert give_back_memory(start + TRIM_EVERY / 2) is False
    assert give_back_memory(start + TRIM_EVERY) is True


def test_a_live_monitor_keeps_a_day_of_each_series_whatever_the_rate() -> None:
    from s2ws.web.monitor import LIVE_WINDOW

    live, replay = Monitor(window=LIVE_WINDOW), Monitor()
    for monitor in (live, replay):
        for i in range(3 * 24 * 4):  # three days, a measurement and a status every 15 minutes
            t = T0 + timedelta(minutes=15 * i)
            measured: dict[str, Any] = {"message_type": "PowerMeasurement", "message_id": f"m{i}"}
            measured |= {"measurement_timestamp": t.isoformat(), "values": [{"value": i}]}  # +00:00, not Z
            monitor.add(t, "s1", "rm>cem", json.dumps(measured))
            status = {"message_type": "FRBC.StorageStatus", "message_id": f"s{i}", "present_fill_level": 1}
            monitor.add(t, "s1", "rm>cem", json.dumps(status))
    device, everything = live.sessions["s1"].device, replay.sessions["s1"].device
    assert len(device.power) == len(device.fill) == 24 * 4 + 1  # the newest day, both ends included
    assert device.power[0][0] == "2026-03-22T09:45:00.000000Z" and device.power[-1][1] == 3 * 24 * 4 - 1
    assert len(everything.power) == 3 * 24 * 4  # replay keeps what the count cap allows
