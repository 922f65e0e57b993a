"""PPBC end to end: a CEM session with a PPBCView against an RM session running the washing machine.

Both sessions judge every message with a SessionContext; the test walks a whole session and
checks the messages each side sent, the CEM's picture against the device's, and that every
message was answered OK except the one sent wrong on purpose.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from msgspec.structs import replace

from s2ws.control import PPBCView
from s2ws.errors import InstructionRefused
from s2ws.messages import (
    CommodityQuantity,
    ControlType,
    InstructionStatus,
    PPBCPowerSequenceStatus,
    PPBCStartInterruptionInstruction,
    ReceptionStatusValues,
    new_id,
)
from s2ws.rules.replay import replay
from s2ws.sim import Loopback, ReadableIds, WasherSim

PPBC = ControlType.POWER_PROFILE_BASED_CONTROL
L1 = CommodityQuantity.ELECTRIC_POWER_L1
S = InstructionStatus
P = PPBCPowerSequenceStatus
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
STATUS = "PPBC.PowerProfileStatus"
ACCEPTED = ["InstructionStatusUpdate:ACCEPTED", STATUS]


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def said(loop: Loopback, mark: int, direction: str = "rm>cem") -> list[str]:
    return [t for t in loop.types_since(mark, direction) if t != "PowerMeasurement"]


def states(view: PPBCView, profile_id: str, now: datetime) -> list[tuple[str, P, str | None]]:
    return [(c.container_id, c.status, c.selected_sequence_id) for c in view.feasible_schedules(profile_id, now)]


def device_states(sim: WasherSim, now: datetime) -> list[tuple[str, P, str | None]]:
    return [
        (
            s.sequence_container_id,
            s.status,
            None if not isinstance(s.selected_sequence_id, str) else s.selected_sequence_id,
        )
        for s in sim.device.status(now).sequence_container_status
    ]


def test_washer_session() -> None:
    sim = WasherSim(now=T0, ids=ReadableIds(), interval=timedelta(hours=1))
    view = PPBCView()
    loop = Loopback(sim, view, now=T0, session="washer")
    task = sim.definition.id

    loop.start(PPBC)
    assert loop.types_since(0, "rm>cem") == [
        "Handshake",
        "ResourceManagerDetails",
        "PPBC.PowerProfileDefinition",
        STATUS,
    ]
    assert view.profiles() == [sim.definition]
    options = {c.container_id: c for c in view.feasible_schedules(task, T0)}
    assert [o.sequence_id for o in options["prewash"].options] == ["prewash-cold", "prewash-warm"]
    # The whole programme needs at least 80 minutes before 18:00.
    assert options["prewash"].options[0].latest_start == T0.replace(hour=16, minute=40)

    # A prewash at 17:30 ends in the window, which is all the session context checks; the rest of
    # the programme would not fit any more, so the device rejects it.
    with pytest.raises(InstructionRefused, match="too late"):
        view.schedule(task, "prewash", "prewash-cold", T0.replace(hour=17, minute=30), T0)
    too_late = replace(
        view.schedule(task, "prewash", "prewash-cold", at(10), T0, record=False),
        message_id=new_id(),
        id=new_id(),
        execution_time=T0.replace(hour=17, minute=30),
    )
    mark = loop.mark()
    loop.send(too_late)
    assert said(loop, mark) == ["InstructionStatusUpdate:REJECTED"]
    assert sim.device.scheduler.status(too_late.id) is S.REJECTED

    # A warm prewash at 09:00, revoked again: the container is free once more.
    warm = view.schedule(task, "prewash", "prewash-warm", at(60), T0)
    mark = loop.mark()
    loop.send(warm)
    loop.send(view.revoke(warm.id, T0))
    assert said(loop, mark) == [*ACCEPTED, "InstructionStatusUpdate:REVOKED", STATUS]
    assert states(view, task, T0)[0] == ("prewash", P.NOT_SCHEDULED, None)

    # The spin cannot be interrupted: forced through, the RM's rule check says INVALID_CONTENT.
    spin_pause = PPBCStartInterruptionInstruction(
        message_id=new_id(),
        id=new_id(),
        power_profile_id=task,
        sequence_container_id="spin",
        power_sequence_id="spin-1200",
        execution_time=at(5),
        abnormal_condition=False,
    )
    loop.send(spin_pause, checked=False)
    assert loop.not_ok() == {
        spin_pause.message_id: ("PPBC.StartInterruptionInstruction", ReceptionStatusValues.INVALID_CONTENT)
    }

    # The cold prewash at 08:10, the 40 °C wash right after it.
    mark = loop.mark()
    loop.send(view.schedule(task, "prewash", "prewash-cold", at(10), T0))
    loop.send(view.schedule(task, "main-wash", "main-40", at(20), T0))
    assert said(loop, mark) == ACCEPTED * 2
    assert states(view, task, T0) == device_states(sim, T0)
    mark = loop.mark()
    loop.advance(at(20))
    assert said(loop, mark) == [
        "InstructionStatusUpdate:STARTED",
        STATUS,
        "InstructionStatusUpdate:SUCCEEDED",
        "InstructionStatusUpdate:STARTED",
        STATUS,
    ]
    assert sim.power(at(20))[L1] == 2000.0

    # The wash pauses at 08:30 for ten minutes; then the spin within 15 minutes of its end.
    pause = view.interrupt(task, "main-wash", at(30), at(20))
    resume = view.resume(task, "main-wash", at(40), at(20))
    mark = loop.mark()
    loop.send(pause)
    loop.send(resume)
    loop.advance(at(40))
    assert said(loop, mark) == [
        "InstructionStatusUpdate:ACCEPTED",
        "InstructionStatusUpdate:ACCEPTED",
        "InstructionStatusUpdate:STARTED",
        "InstructionStatusUpdate:SUCCEEDED",
        STATUS,
        "InstructionStatusUpdate:STARTED",
        "InstructionStatusUpdate:SUCCEEDED",
        STATUS,
    ]
    [main] = [c for c in view.feasible_schedules(task, at(40)) if c.container_id == "main-wash"]
    assert main.status is P.EXECUTING and main.end == at(90)
    with pytest.raises(InstructionRefused, match="max_pause_before"):
        view.schedule(task, "spin", "spin-1200", at(110), at(40))
    loop.send(view.schedule(task, "spin", "spin-1200", at(95), at(40)))
    loop.advance(at(106))
    assert states(view, task, at(106)) == device_states(sim, at(106))
    assert [s for _, s, _ in states(view, task, at(106))] == [P.FINISHED] * 3
    # 10 min at 150 W, 15 at 2 kW and 45 at 250 W, 10 at 450 W.
    assert sim.used_wh == pytest.approx((10 * 150 + 15 * 2000 + 45 * 250 + 10 * 450) / 60)

    # The next load, to run from noon: the old definition is revoked, the new one's window opens then.
    mark = loop.mark()
    loop.publish(sim.load(at(110), start=T0.replace(hour=12), ready_within=timedelta(hours=6)))
    assert said(loop, mark) == ["RevokeObject", "PPBC.PowerProfileDefinition", STATUS]
    assert view.profiles() == [sim.definition] and sim.definition.id != task
    second = sim.definition.id
    with pytest.raises(InstructionRefused, match="was revoked"):
        view.schedule(task, "prewash", "prewash-cold", at(120), at(110))
    with pytest.raises(InstructionRefused) as refused:
        view.schedule(second, "prewash", "prewash-cold", at(120), at(110))
    assert refused.value.rule == "S2-PPBC-014"
    [prewash, *_] = view.feasible_schedules(second, at(110))
    assert prewash.options[0].earliest_start == T0.replace(hour=12)
    mark = loop.mark()
    loop.send(view.schedule(second, "prewash", "prewash-cold", T0.replace(hour=12), at(110)))
    assert said(loop, mark) == ACCEPTED

    assert set(loop.not_ok()) == {spin_pause.message_id}
    findings = replay(loop.transcript())
    assert [(f.rule, f.message_id) for f in findings] == [("S2-PPBC-017", spin_pause.message_id)]
