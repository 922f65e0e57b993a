"""OMBC end to end: a CEM session with an OMBCView against an RM session running the generator.

Both sessions judge every message with a SessionContext; the test walks a whole session and
checks the messages each side sent, the CEM's picture against the device's, and that every
message was answered OK except the one sent wrong on purpose.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from msgspec.structs import replace

from s2ws.control import OMBCView, Reach
from s2ws.errors import InstructionRefused
from s2ws.messages import ControlType, InstructionStatus, ReceptionStatusValues
from s2ws.rules.catalogue import OM_RULE_IDS
from s2ws.rules.replay import replay
from s2ws.sim import GeneratorSim, Loopback, ReadableIds

OMBC = ControlType.OPERATION_MODE_BASED_CONTROL
RULES = OM_RULE_IDS["OMBC"]
S = InstructionStatus
T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
STEP = [
    "InstructionStatusUpdate:STARTED",
    "OMBC.Status",
    "InstructionStatusUpdate:SUCCEEDED",
]
"""What executing an instruction that starts no timer sends."""
STEP_WITH_TIMER = [*STEP[:2], "OMBC.TimerStatus", STEP[2]]


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def said(loop: Loopback, mark: int, direction: str = "rm>cem") -> list[str]:
    return [t for t in loop.types_since(mark, direction) if t != "PowerMeasurement"]


def same_picture(loop: Loopback, view: OMBCView, sim: GeneratorSim) -> None:
    device = sim.device
    assert view.description(loop.now) == device.descriptions.at(loop.now)
    status, mine = view.status, device.status
    assert status is not None
    assert (status.mode_id, status.factor, status.previous_mode_id, status.transition_timestamp) == (
        mine.mode_id,
        mine.factor,
        mine.previous_mode_id,
        mine.transition_timestamp,
    )
    assert view.timers.snapshot("") == device.timers.snapshot("")


def reach(view: OMBCView, when: datetime) -> dict[str, tuple[Reach, datetime | None]]:
    return {r.mode_id: (r.reach, r.at) for r in view.reachable_modes(when)}


def test_generator_session() -> None:
    sim = GeneratorSim(now=T0, ids=ReadableIds(), interval=timedelta(hours=1))
    view = OMBCView()
    loop = Loopback(sim, view, now=T0, session="generator")
    off, low, high = sim.off_id, sim.low_id, sim.high_id

    loop.start(OMBC)
    assert loop.types_since(0, "cem>rm") == ["Handshake", "HandshakeResponse", "SelectControlType"]
    assert loop.types_since(0, "rm>cem") == [
        "Handshake",
        "ResourceManagerDetails",
        "OMBC.SystemDescription",
        "OMBC.Status",
    ]
    assert loop.cem.peer_details is not None and loop.cem.peer_details.currency == "EUR"
    same_picture(loop, view, sim)
    # From off only low can be reached: a hot start to high output is no transition.
    assert reach(view, T0) == {off: (Reach.ACTIVE, T0), low: (Reach.NOW, T0), high: (Reach.NEVER, None)}
    with pytest.raises(InstructionRefused) as refused:
        view.instruct(high, 0.0, T0, T0)
    assert refused.value.rule == RULES["transition_exists"]

    # Start at minute 1 (full low output): two minutes of start-up, then 3 kW; the minimum run
    # time starts. Up to high output at minute 5.
    start = view.instruct(low, 0.0, at(1), T0)
    up = view.instruct(high, 0.5, at(5), T0)
    mark = loop.mark()
    loop.send(start)
    loop.send(up)
    assert said(loop, mark) == ["InstructionStatusUpdate:ACCEPTED"] * 2
    mark = loop.mark()
    loop.advance(at(1))
    assert said(loop, mark) == STEP_WITH_TIMER
    assert view.timers.finished_at("", sim.min_run_id) == at(31)
    assert sim.power(at(2))[sim.measured[0]] == 0.0 and sim.power(at(3))[sim.measured[0]] == -3000.0
    mark = loop.mark()
    loop.advance(at(5))
    assert said(loop, mark) == STEP
    assert sim.mode() == (high, 0.5) and sim.power(at(5))[sim.measured[0]] == -5000.0
    same_picture(loop, view, sim)

    # Full high output tonight: the rules allow it, the device refuses it (quiet hours).
    tonight = view.instruct(high, 0.0, T0.replace(hour=22, minute=30), at(5))
    mark = loop.mark()
    loop.send(tonight)
    assert said(loop, mark) == ["InstructionStatusUpdate:REJECTED"]
    assert sim.device.scheduler.reason(tonight.id) == "high output is not allowed between 22:00 and 07:00"
    assert view.instruction_status(tonight.id) is S.REJECTED

    # Down to low at minute 8; off at minute 10 is blocked by the minimum run time. The view
    # refuses it; forced through, the RM's rule check answers INVALID_CONTENT.
    down = view.instruct(low, 0.0, at(8), at(5))
    loop.send(down)
    assert reach(view, at(10))[off] == (Reach.LATER, at(31))
    with pytest.raises(InstructionRefused) as refused:
        view.instruct(off, 0.0, at(10), at(5))
    assert refused.value.rule == RULES["transition_blocked"]
    forced = replace(view.instruct(low, 0.0, at(10), at(5), record=False), operation_mode_id=off)
    loop.send(forced, checked=False)
    assert loop.not_ok() == {forced.message_id: ("OMBC.Instruction", ReceptionStatusValues.INVALID_CONTENT)}
    assert sim.device.scheduler.status(forced.id) is None
    mark = loop.mark()
    loop.advance(at(8))
    assert said(loop, mark) == STEP

    # Off at minute 40, revoked at minute 12.
    stop = view.instruct(off, 0.0, at(40), at(8))
    loop.send(stop)
    loop.advance(at(12))
    mark = loop.mark()
    loop.send(view.revoke(stop.id, at(12)))
    assert said(loop, mark, "cem>rm") == ["RevokeObject"]
    assert said(loop, mark) == ["InstructionStatusUpdate:REVOKED"]
    assert sim.device.scheduler.status(stop.id) is S.REVOKED and stop not in view.pending_instructions()

    # A new description from minute 45: a wider low range and a longer minimum run time.
    mark = loop.mark()
    loop.publish(sim.reconfigure(at(12), valid_from=at(45), low_w=(1500.0, 3500.0), min_run=timedelta(minutes=45)))
    assert said(loop, mark) == ["OMBC.SystemDescription"]
    [upcoming] = view.descriptions.scheduled(at(12))
    assert upcoming.valid_from == at(45)

    # Off at minute 35 (the run time is over): the cool-down starts and blocks a restart.
    stop = view.instruct(off, 0.0, at(35), at(12))
    loop.send(stop)
    mark = loop.mark()
    loop.advance(at(35))
    assert said(loop, mark) == STEP_WITH_TIMER
    assert reach(view, at(40))[low] == (Reach.LATER, at(50))

    # From minute 45 the new description is in force; the restart at 50 runs by it.
    loop.advance(at(46))
    assert view.description(at(46)) == upcoming and view.descriptions.scheduled(at(46)) == []
    restart = view.instruct(low, 0.0, at(50), at(46))
    loop.send(restart)
    mark = loop.mark()
    loop.advance(at(53))
    assert said(loop, mark) == STEP_WITH_TIMER
    assert view.timers.finished_at("", sim.min_run_id) == at(95)
    assert sim.power(at(53))[sim.measured[0]] == -3500.0
    same_picture(loop, view, sim)

    # Two starts cost 0.20 EUR; the rest is running costs (0.0005 EUR/s at low, 0.001 at high).
    running = 0.0005 * 60 * (4 + 27 + 3) + 0.001 * 60 * 3
    assert sim.costs == pytest.approx(0.2 + running)
    assert set(loop.not_ok()) == {forced.message_id}
    findings = replay(loop.transcript())
    assert [(f.rule, f.message_id) for f in findings] == [(RULES["transition_blocked"], forced.message_id)]
