"""PEBC end to end: a CEM session with a PEBCView against an RM session running the PV inverter.

Both sessions judge every message with a SessionContext; the test walks a whole session and
checks the messages each side sent, the CEM's picture against the device's, and that every
message was answered OK except the one sent wrong on purpose.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from msgspec.structs import replace

from s2ws.control import EnvelopeStep, PEBCView
from s2ws.errors import InstructionRefused, RuleViolation
from s2ws.messages import (
    CommodityQuantity,
    ControlType,
    InstructionStatus,
    PEBCPowerEnvelopeElement,
    ReceptionStatusValues,
    new_id,
)
from s2ws.rules.replay import replay
from s2ws.sim import Loopback, PVDeviceSim, ReadableIds

PEBC = ControlType.POWER_ENVELOPE_BASED_CONTROL
L1 = CommodityQuantity.ELECTRIC_POWER_L1
S = InstructionStatus
T0 = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)
H = timedelta(hours=1)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def said(loop: Loopback, mark: int, direction: str = "rm>cem") -> list[str]:
    return [t for t in loop.types_since(mark, direction) if t not in ("PowerMeasurement", "PowerForecast")]


def same_picture(loop: Loopback, view: PEBCView, sim: PVDeviceSim, *instruction_ids: str) -> None:
    mine = sim.device.view
    assert [c.id for c in view.constraints(loop.now)] == [c.id for c in mine.constraints(loop.now)]
    assert view.constraints_at(loop.now) == mine.constraints_at(loop.now)
    for instruction_id in instruction_ids:
        assert view.instruction_status(instruction_id) is sim.device.scheduler.status(instruction_id)


def test_pv_session() -> None:
    sim = PVDeviceSim(now=T0, ids=ReadableIds(), interval=timedelta(minutes=30))
    view = PEBCView()
    loop = Loopback(sim, view, now=T0, session="pv")

    loop.start(PEBC)
    assert loop.types_since(0, "rm>cem") == ["Handshake", "ResourceManagerDetails", "PEBC.PowerConstraints"]
    first = view.constraints_at(T0)
    assert first is not None
    allowed = view.allowed_limits(L1, T0)
    assert allowed is not None and (allowed.upper, allowed.lower) == (((0.0, 0.0),), ((-4000.0, 0.0),))
    # Measurements and a day's forecast follow with the first tick.
    mark = loop.mark()
    loop.advance(at(0))
    assert loop.types_since(mark, "rm>cem") == ["PowerMeasurement", "PowerForecast"]
    available = sim.available_w(at(5))
    assert available < -3000

    # Cap production at 2 kW from minute 5 for half an hour.
    cap = view.cap(L1, at(5), T0, 30 * timedelta(minutes=1), lower=-2000.0)
    mark = loop.mark()
    loop.send(cap)
    loop.advance(at(5))
    assert said(loop, mark) == ["InstructionStatusUpdate:ACCEPTED", "InstructionStatusUpdate:STARTED"]
    assert sim.power(at(5))[L1] == -2000.0
    limits = sim.device.limits_at(L1, at(5))
    assert limits is not None and (limits.lower_limit, limits.upper_limit, limits.until) == (-2000.0, 0.0, at(35))

    # The inverter will be derated to 3 kW from minute 20: new constraints, sent now.
    mark = loop.mark()
    loop.publish(sim.derate(3000.0, at(6), valid_from=at(20)))
    assert said(loop, mark) == ["PEBC.PowerConstraints"]
    second = view.constraints_at(at(20))
    assert second is not None and second.id != first.id and view.constraints_at(at(6)) == first
    assert [c.id for c in view.constraints(at(6))] == [first.id, second.id]

    # An envelope from minute 25 on the old constraints: they are open-ended, but superseded by
    # then (protocol §3.6). The session context, the view and the device read the one S2-PEBC-011.
    stale = view.instruct({L1: [EnvelopeStep(H, -1000.0, 0.0)]}, at(15), at(6), record=False)
    stale = replace(stale, message_id=new_id(), id=new_id(), execution_time=at(25))
    mark = loop.mark()
    with pytest.raises(RuleViolation, match=r"S2-PEBC-011 at /power_constraints_id: .* superseded"):
        loop.send(stale)
    assert said(loop, mark) == []
    assert [f.rule for f in sim.device.view.check(stale, at(6))] == ["S2-PEBC-011"]
    assert [f.rule for f in view.check(stale, at(6))] == ["S2-PEBC-011"]
    with pytest.raises(InstructionRefused, match="superseded"):
        view.instruct({L1: [EnvelopeStep(H, -1000.0, 0.0)]}, at(25), at(6), constraints_id=first.id)

    # A lower limit beyond the inverter's range: the view refuses it; forced through, the RM's
    # rule check answers INVALID_CONTENT.
    with pytest.raises(InstructionRefused) as refused:
        view.instruct({L1: [EnvelopeStep(H, -5000.0, 0.0)]}, at(7), at(6))
    assert refused.value.rule == "S2-PEBC-014"
    valid = view.instruct({L1: [EnvelopeStep(H, -1000.0, 0.0)]}, at(7), at(6), record=False)
    envelope = valid.power_envelopes[0]
    wide = PEBCPowerEnvelopeElement(duration=3_600_000, upper_limit=0.0, lower_limit=-5000.0)
    forced = replace(valid, power_envelopes=[replace(envelope, power_envelope_elements=[wide])])
    loop.send(forced, checked=False)
    assert loop.not_ok() == {forced.message_id: ("PEBC.Instruction", ReceptionStatusValues.INVALID_CONTENT)}

    # A cap for this afternoon, revoked.
    later = view.cap(L1, at(240), at(6), H, lower=-1000.0)
    loop.send(later)
    loop.advance(at(7))
    mark = loop.mark()
    loop.send(view.revoke(later.id, at(7)))
    assert said(loop, mark, "cem>rm") == ["RevokeObject"]
    assert said(loop, mark) == ["InstructionStatusUpdate:REVOKED"]
    same_picture(loop, view, sim, cap.id, later.id)

    # From minute 20 the derated constraints are in force: the tightest cap of 3.5 kW is 3 kW.
    loop.advance(at(21))
    assert view.constraints_at(at(21)) == second
    steps = view.tightest_envelope(L1, at(36), at(21), 30 * timedelta(minutes=1), lower=-3500.0)
    assert [(s.lower_limit, s.upper_limit) for s in steps] == [(-3000.0, 0.0)]
    assert sim.power(at(21))[L1] == -2000.0  # the first cap still runs
    follow = view.cap(L1, at(36), at(21), 30 * timedelta(minutes=1), lower=-2500.0)
    loop.send(follow)
    mark = loop.mark()
    loop.advance(at(36))
    assert said(loop, mark) == ["InstructionStatusUpdate:SUCCEEDED", "InstructionStatusUpdate:STARTED"]
    assert view.instruction_status(cap.id) is S.SUCCEEDED
    assert sim.power(at(36))[L1] == -2500.0
    loop.advance(at(70))
    assert view.instruction_status(follow.id) is S.SUCCEEDED
    # Uncapped again, but derated: 3 kW at most although the sun would give more.
    assert sim.pv.available_w(at(70)) < -3000 and sim.power(at(70))[L1] == -3000.0
    same_picture(loop, view, sim, cap.id, follow.id)
    assert sim.curtailed_wh > 0 and sim.produced_wh > 0

    assert set(loop.not_ok()) == {forced.message_id}
    findings = replay(loop.transcript())
    assert [(f.rule, f.message_id) for f in findings] == [("S2-PEBC-014", forced.message_id)]


def test_pv_without_control_only_reports() -> None:
    sim = PVDeviceSim(now=T0, controllable=False, interval=timedelta(minutes=15))
    loop = Loopback(sim, now=T0)
    loop.start(ControlType.NOT_CONTROLABLE)
    assert loop.cem.peer_details is not None
    assert loop.cem.peer_details.available_control_types == [ControlType.NOT_CONTROLABLE]
    loop.advance(T0 + 2 * H)
    kinds = loop.types_since(0, "rm>cem")
    assert kinds[:2] == ["Handshake", "ResourceManagerDetails"]
    assert kinds.count("PowerMeasurement") == 9 and kinds.count("PowerForecast") == 3
    assert sim.power(T0 + H)[L1] == sim.pv.available_w(T0 + H) < -3000
    assert loop.not_ok() == {} and replay(loop.transcript()) == []
