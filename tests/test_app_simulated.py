"""SimulatedBattery and SimulatedPV are DeviceRM devices on the shared instruction scheduler.

Without a socket: the messages go straight to the RM's judging hook, as the engine's receive
would hand them over, and the test reads what the device would send.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest

from s2ws import (
    ControlType,
    FRBCInstruction,
    InstructionStatus,
    InstructionStatusUpdate,
    InvalidContent,
    RevokableObjects,
    RevokeObject,
    SelectControlType,
    new_id,
)
from s2ws.app import DeviceRM, SimulatedBattery, SimulatedPV, on

FRBC = ControlType.FILL_RATE_BASED_CONTROL


def _instruction(battery: SimulatedBattery, mode: str, *, later: timedelta = timedelta(0)) -> FRBCInstruction:
    return FRBCInstruction(
        message_id=new_id(),
        id=new_id(),
        actuator_id=battery.sim.actuator_id,
        operation_mode=battery.sim.mode_ids[mode],
        operation_mode_factor=0.5,
        execution_time=battery.clock() + later,
        abnormal_condition=False,
    )


def _statuses(messages: Sequence[object]) -> list[InstructionStatus]:
    return [m.status_type for m in messages if isinstance(m, InstructionStatusUpdate)]


class Refusing(SimulatedBattery):
    @on(FRBCInstruction)
    def judge(self, instruction: FRBCInstruction) -> None:
        raise InvalidContent("APP-001", "/operation_mode_factor", "not today")


async def test_the_simulated_devices_are_device_rms() -> None:
    assert isinstance(SimulatedBattery(interval=60), DeviceRM)
    assert isinstance(SimulatedPV(interval=60), DeviceRM)
    with pytest.raises(ValueError, match="positive"):
        SimulatedBattery(interval=0)


async def test_an_instruction_lives_the_scheduler_lifecycle() -> None:
    battery = SimulatedBattery(interval=60)
    battery._judge_incoming(None, SelectControlType(message_id=new_id(), control_type=FRBC))  # type: ignore[arg-type]
    assert battery.sim.instructions.active
    instruction = _instruction(battery, "charge")
    battery._judge_incoming(None, instruction)  # type: ignore[arg-type]
    assert _statuses(battery._outbox) == [InstructionStatus.ACCEPTED]
    done = battery.sim.tick(battery.clock())
    assert _statuses(done) == [InstructionStatus.STARTED, InstructionStatus.SUCCEEDED]
    assert battery.sim.mode == "charge"


async def test_a_future_instruction_is_revoked_before_it_starts() -> None:
    battery = SimulatedBattery(interval=60)
    battery._judge_incoming(None, SelectControlType(message_id=new_id(), control_type=FRBC))  # type: ignore[arg-type]
    instruction = _instruction(battery, "discharge", later=timedelta(hours=1))
    battery._judge_incoming(None, instruction)  # type: ignore[arg-type]
    battery._outbox.clear()
    revoke = RevokeObject(message_id=new_id(), object_type=RevokableObjects.FRBC_Instruction, object_id=instruction.id)
    battery._judge_incoming(None, revoke)  # type: ignore[arg-type]
    assert _statuses(battery._outbox) == [InstructionStatus.REVOKED]
    assert _statuses(battery.sim.tick(battery.clock() + timedelta(hours=2))) == []
    assert battery.sim.mode == "idle"


async def test_a_subclass_refusing_an_instruction_keeps_it_from_the_device() -> None:
    battery = Refusing(interval=60)
    battery._judge_incoming(None, SelectControlType(message_id=new_id(), control_type=FRBC))  # type: ignore[arg-type]
    battery._outbox.clear()
    instruction = _instruction(battery, "charge")
    with pytest.raises(InvalidContent, match="not today"):
        battery._judge_incoming(None, instruction)  # type: ignore[arg-type]
    assert battery._outbox == [] and battery.sim.instructions.scheduler.status(instruction.id) is None
    assert _statuses(battery.sim.tick(battery.clock())) == [] and battery.sim.mode == "idle"
