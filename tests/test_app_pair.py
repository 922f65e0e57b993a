"""The CEM and RM applications joined in memory: selection, descriptions, instructions, statuses.

No sockets and no sleeps: every wait is for a state the session reaches (``wait_until``), bounded
by ``asyncio.timeout``.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from app_support import DEADLINE, cheap_now_dear_later, joined, lines_of, recorder, statuses, unanswered
from s2ws import (
    ControlType,
    EnergyManagementRole,
    FRBCActuatorStatus,
    FRBCInstruction,
    FRBCStorageStatus,
    FRBCSystemDescription,
    InstructionStatus,
    PEBCInstruction,
    PEBCPowerConstraints,
    PowerForecast,
    PowerMeasurement,
    ReceptionStatusValues,
    RevokableObjects,
    new_id,
)
from s2ws.app import CEM, PlannerCEM, RMHandle, SimulatedBattery, SimulatedPV
from s2ws.app.clock import SimClock
from s2ws.errors import InvalidContent
from s2ws.rules.replay import replay
from s2ws.session import Session
from s2ws.transport import memory_pair

FRBC = ControlType.FILL_RATE_BASED_CONTROL
PEBC = ControlType.POWER_ENVELOPE_BASED_CONTROL
S = InstructionStatus


def _finished(rm: RMHandle, count: int = 1) -> bool:
    return len(rm.instructions) >= count and all(record.finished for record in rm.instructions.values())


NOON = datetime(2026, 6, 21, 12, 0, tzinfo=UTC)


def at_noon() -> SimClock:
    """Real-time speed, but from noon of midsummer (UTC): the rule planners act by the time of day."""
    return SimClock(1.0, origin=datetime.now(UTC), start=NOON)


async def test_planner_selects_frbc_and_the_battery_carries_out_its_instruction() -> None:
    cem_log, cem_stream = recorder()
    rm_log, rm_stream = recorder()
    cem = PlannerCEM(observers=[cem_log], site=cheap_now_dear_later(datetime.now(UTC)))
    battery = SimulatedBattery(interval=60, observers=[rm_log])
    async with asyncio.timeout(DEADLINE), joined(cem, battery):
        rm = await cem.next_rm()
        await rm.wait_until(lambda: _finished(rm))
        assert rm.active_control_type is FRBC and battery.active_control_type is FRBC
        assert rm.details is not None and rm.details.name == "Home battery"
        assert rm.last(FRBCSystemDescription) is not None
        record = next(iter(rm.instructions.values()))
        instruction = record.message
        assert isinstance(instruction, FRBCInstruction)
        factor = instruction.operation_mode_factor
        assert instruction.operation_mode == battery.sim.mode_ids["charge"] and factor > 0  # cheap now: charge
        assert record.status is S.SUCCEEDED
        await rm.wait_until(
            lambda: (s := rm.last(FRBCActuatorStatus)) is not None and s.operation_mode_factor == factor
        )
        assert battery.sim.mode == "charge"
        assert battery.session is not None and battery.session.instructions[instruction.id].status is S.SUCCEEDED
        await battery.close()  # the RM ends it, so the CEM's transcript holds the answer to its TERMINATE
        await rm.wait_closed()
    cem_frames = [(line["dir"], json.loads(line["text"])) for line in lines_of(cem_stream)]
    seen = [(d, m["message_type"]) for d, m in cem_frames if m["message_type"] != "ReceptionStatus"]
    for expected in [
        ("cem>rm", "Handshake"),
        ("rm>cem", "Handshake"),
        ("cem>rm", "HandshakeResponse"),
        ("rm>cem", "ResourceManagerDetails"),
        ("cem>rm", "SelectControlType"),
        ("rm>cem", "FRBC.SystemDescription"),
        ("cem>rm", "FRBC.Instruction"),
        ("rm>cem", "InstructionStatusUpdate"),
    ]:
        assert expected in seen
    updates = [m["status_type"] for d, m in cem_frames if m["message_type"] == "InstructionStatusUpdate"]
    assert updates == ["ACCEPTED", "STARTED", "SUCCEEDED"]
    assert {s for _, _, s in statuses(cem_frames)} == {"OK"}
    assert cem_frames[-2][1]["message_type"] == "SessionRequest" and unanswered(cem_frames) == []
    findings = replay(cem_stream.getvalue().splitlines())
    assert findings == []  # the simulator offers FRBC alone (NOT_CONTROLABLE means no control is possible)
    for direction in ("cem>rm", "rm>cem"):  # both sides recorded the same frames, in the same order
        rm_side = [line["text"] for line in lines_of(rm_stream) if line["dir"] == direction]
        cem_side = [line["text"] for line in lines_of(cem_stream) if line["dir"] == direction]
        # the CEM's answer to the RM's TERMINATE may find the RM gone already
        assert cem_side[: len(rm_side)] == rm_side and len(cem_side) - len(rm_side) in (0, 1)


async def test_a_cem_ending_the_session_waits_for_the_answer_to_its_terminate() -> None:
    """The RM is a bare engine the test plays by hand, so its answer to the TERMINATE comes only
    when the test says: the CEM keeps the socket open for it, and its transcript replays clean."""
    cem_log, cem_stream = recorder()
    cem = CEM(observers=[cem_log], close_grace=60.0)
    near, far = memory_pair(("cem", "rm"))
    peer = Session(EnergyManagementRole.RM)
    async with asyncio.timeout(DEADLINE):
        served = asyncio.create_task(cem.run_channel(near))
        peer.start(cem.clock())
        for text in peer.data_to_send():
            await far.send_text(text)
        while peer.selected_version is None:  # the handshake, answered as it comes
            peer.receive(await far.receive() or "", cem.clock())
            for text in peer.data_to_send():
                await far.send_text(text)
        rm = await cem.next_rm()
        closing = asyncio.create_task(rm.close("maintenance"))
        request = await far.receive() or ""
        assert json.loads(request)["message_type"] == "SessionRequest"
        # the CEM may wait up to a minute for the answer (close_grace): it must not close the socket
        # while the answer is due, however long the driver gets to run (a slow machine only runs it less)
        done, _ = await asyncio.wait({closing, served}, timeout=1.0)
        assert not done and not rm.closed and not far.closed
        peer.receive(request, cem.clock())
        (answer,) = peer.data_to_send()
        await far.send_text(answer)
        await closing
        assert rm.closed and rm.close_reason == "maintenance"
        assert await far.receive() is None
        await served
    cem_frames = [(line["dir"], json.loads(line["text"])) for line in lines_of(cem_stream)]
    assert cem_frames[-2][1]["message_type"] == "SessionRequest" and cem_frames[-1][0] == "rm>cem"
    assert statuses(cem_frames)[-1] == ("rm>cem", "SessionRequest", "OK") and unanswered(cem_frames) == []
    assert replay(cem_stream.getvalue().splitlines()) == []  # no S2-RS-004


async def test_rule_planner_caps_the_pv_export_within_its_allowed_range() -> None:
    cem = PlannerCEM(planner="rules", clock=at_noon())
    pv = SimulatedPV(interval=60, clock=cem.clock)
    async with asyncio.timeout(DEADLINE), joined(cem, pv):
        rm = await cem.next_rm()
        await rm.wait_until(lambda: _finished(rm))
        assert rm.active_control_type is PEBC
        constraints = rm.last(PEBCPowerConstraints)
        assert constraints is not None and rm.last(PowerForecast) is not None
        (record,) = rm.instructions.values()
        assert record.status is S.SUCCEEDED
        assert isinstance(record.message, PEBCInstruction)
        (envelope,) = record.message.power_envelopes
        (element,) = envelope.power_envelope_elements
        assert element.lower_limit == -2500.0  # the rule: an export limit of 2.5 kW at midday
        assert element.duration == 900_000  # a quarter hour, planned again every step
        when = pv.clock() + timedelta(minutes=1)
        assert pv.sim.available_w(when) < -2500.0  # the panels could deliver more than the envelope allows
        assert pv.sim.lower_limit(when) == -2500.0 and pv.sim.power_w(when) >= -2500.0


async def test_one_cem_serves_two_rms_each_with_its_own_picture() -> None:
    cem = PlannerCEM(planner="rules", clock=at_noon())  # charge the battery, cap the PV
    battery, pv = SimulatedBattery(interval=60, clock=cem.clock), SimulatedPV(interval=60, clock=cem.clock)
    async with asyncio.timeout(DEADLINE), joined(cem, battery, pv):
        first, second = await cem.next_rm(), await cem.next_rm()
        for rm in (first, second):
            await rm.wait_until(lambda rm=rm: _finished(rm))  # type: ignore[misc]
        assert {rm.active_control_type for rm in cem.rms.values()} == {FRBC, PEBC}
        assert len(cem.rms) == 2 and first.id != second.id
    assert cem.rms == {}


async def test_preference_without_an_offered_type_selects_nothing() -> None:
    cem = CEM(preference=[ControlType.OPERATION_MODE_BASED_CONTROL])
    battery = SimulatedBattery(interval=60)
    async with asyncio.timeout(DEADLINE), joined(cem, battery):
        rm = await cem.next_rm()
        # the measurement follows the details; a selection would have been sent right after their OK
        await rm.wait_until(lambda: rm.last(PowerMeasurement) is not None)
        assert rm.active_control_type is None and rm.selecting is None
        with pytest.raises(InvalidContent) as refused:
            await rm.select(ControlType.OPERATION_MODE_BASED_CONTROL)
        assert refused.value.rule == "S2-SESSION-007"
        answer = await rm.select(FRBC)
        assert answer is not None and answer.status is ReceptionStatusValues.OK
        assert rm.active_control_type is FRBC
        await rm.wait_until(lambda: rm.last(FRBCStorageStatus) is not None)
        assert rm.instructions == {}  # a plain CEM plans nothing


async def test_send_refuses_an_instruction_that_breaks_a_rule() -> None:
    cem = CEM()
    battery = SimulatedBattery(interval=60)
    async with asyncio.timeout(DEADLINE), joined(cem, battery):
        rm = await cem.next_rm()
        await rm.wait_until(lambda: rm.last(FRBCSystemDescription) is not None)
        bad = FRBCInstruction(
            message_id=new_id(),
            id=new_id(),
            actuator_id=new_id(),  # not an actuator of the description
            operation_mode=battery.sim.mode_ids["charge"],
            operation_mode_factor=0.5,
            execution_time=cem.clock(),
            abnormal_condition=False,
        )
        with pytest.raises(InvalidContent) as refused:
            await rm.send(bad)
        assert refused.value.rule.startswith("S2-FRBC-")
        assert rm.instructions == {} and battery.session is not None and battery.session.instructions == {}


async def test_revoking_a_future_instruction_is_answered_revoked() -> None:
    cem = CEM()
    battery = SimulatedBattery(interval=60)
    async with asyncio.timeout(DEADLINE), joined(cem, battery):
        rm = await cem.next_rm()
        await rm.wait_until(lambda: rm.last(FRBCSystemDescription) is not None)
        instruction = FRBCInstruction(
            message_id=new_id(),
            id=new_id(),
            actuator_id=battery.sim.actuator_id,
            operation_mode=battery.sim.mode_ids["discharge"],
            operation_mode_factor=0.0,
            execution_time=cem.clock() + timedelta(hours=1),
            abnormal_condition=False,
        )
        answer = await rm.send(instruction, wait=True)
        assert answer is not None and answer.status is ReceptionStatusValues.OK
        record = rm.instructions[instruction.id]
        await rm.wait_until(lambda: record.status is S.ACCEPTED)
        assert [r.id for r in rm.outstanding] == [instruction.id]
        await rm.revoke(RevokableObjects.FRBC_Instruction, instruction.id, wait=True)
        await rm.wait_until(lambda: record.status is S.REVOKED)
        assert rm.outstanding == [] and battery.sim.mode == "idle"


async def test_hooks_run_in_order_and_a_new_session_sends_fresh_details() -> None:
    calls: list[str] = []

    class Watching(CEM):
        async def on_connect(self, rm: RMHandle) -> None:
            calls.append("connect")

        async def on_select(self, rm: RMHandle, control_type: ControlType) -> None:
            calls.append(f"select {control_type.value}")

        async def on_disconnect(self, rm: RMHandle, reason: str) -> None:
            calls.append("disconnect")

    battery = SimulatedBattery(interval=60)
    details_ids = []
    for _ in range(2):
        cem = Watching()
        async with asyncio.timeout(DEADLINE), joined(cem, battery):
            rm = await cem.next_rm()
            await rm.wait_until(lambda rm=rm: rm.active_control_type is FRBC)  # type: ignore[misc]
            assert rm.details is not None
            details_ids.append(rm.details.message_id)
            handle = rm
        await handle._worker.join(5)
    assert calls == ["connect", f"select {FRBC.value}", "disconnect"] * 2
    assert len(set(details_ids)) == 2
