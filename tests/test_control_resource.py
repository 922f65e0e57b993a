"""A Resource bundles a device's details with one control device per control type it offers:
what DeviceRM runs, so that a device maker writes only the device part."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from builders import T0, at, details, frbc_description, frbc_instruction, ombc_description, ombc_instruction
from s2ws.app import CEM, DeviceRM
from s2ws.control import FRBCDevice, FRBCView, OMBCDevice, Resource, control_type_of
from s2ws.errors import InvalidContent
from s2ws.messages import (
    ControlType,
    FRBCInstruction,
    FRBCStorageStatus,
    InstructionStatus,
    InstructionStatusUpdate,
    RevokableObjects,
    RevokeObject,
)
from s2ws.messages.base import S2Message, message_type_of, new_id
from s2ws.transport import memory_pair

FRBC = ControlType.FILL_RATE_BASED_CONTROL
OMBC = ControlType.OPERATION_MODE_BASED_CONTROL


def frbc() -> FRBCDevice:
    return FRBCDevice(frbc_description(), {"act1": ("off", 0.0)}, fill_level=40.0)


def ombc() -> OMBCDevice:
    return OMBCDevice(ombc_description(), "off")


def both() -> Resource:
    return Resource(details(available_control_types=[FRBC, OMBC]), frbc(), ombc())


def kinds(messages: list[S2Message]) -> list[str]:
    return [message_type_of(type(m)) for m in messages]


def updates(messages: list[S2Message]) -> list[tuple[str, InstructionStatus]]:
    return [(m.instruction_id, m.status_type) for m in messages if isinstance(m, InstructionStatusUpdate)]


def test_the_details_and_the_devices_must_agree() -> None:
    with pytest.raises(ValueError, match="do not offer OPERATION_MODE_BASED_CONTROL, which OMBCDevice implements"):
        Resource(details(available_control_types=[FRBC]), frbc(), ombc())
    with pytest.raises(ValueError, match="two devices for FILL_RATE_BASED_CONTROL"):
        Resource(details(available_control_types=[FRBC]), frbc(), frbc())
    with pytest.raises(ValueError, match="offer OPERATION_MODE_BASED_CONTROL but no device implements it"):
        Resource(details(available_control_types=[FRBC, OMBC]), frbc())
    with pytest.raises(TypeError, match="str is not a control device"):
        control_type_of("battery")
    plain = Resource(details(available_control_types=[FRBC, ControlType.NOT_CONTROLABLE]), frbc())
    assert plain.control_types == (FRBC, ControlType.NOT_CONTROLABLE) and set(plain.devices) == {FRBC}
    assert plain.on_select(ControlType.NOT_CONTROLABLE, T0) == []  # nothing to publish, nothing active


def test_selection_activates_one_device_and_deactivates_the_other() -> None:
    resource = both()
    frbc_device, ombc_device = resource.devices[FRBC], resource.devices[OMBC]
    assert isinstance(frbc_device, FRBCDevice) and isinstance(ombc_device, OMBCDevice)
    first = resource.on_select(FRBC, T0)
    assert kinds(first)[0] == "FRBC.SystemDescription" and "FRBC.ActuatorStatus" in kinds(first)
    assert frbc_device.active and not ombc_device.active
    instruction = frbc_instruction("on", 0.5, execution_time=at(1))
    assert updates(resource.handle(instruction, T0)) == [(instruction.id, InstructionStatus.ACCEPTED)]
    assert resource.next_wakeup() == at(1)
    # switching: the FRBC instruction still pending is aborted before OMBC publishes
    switched = resource.on_select(OMBC, T0)
    assert updates(switched)[0] == (instruction.id, InstructionStatus.ABORTED)
    assert kinds(switched)[len(updates(switched))] == "OMBC.SystemDescription"
    assert ombc_device.active and not frbc_device.active and resource.next_wakeup() is None
    # an instruction reaches only the device of its type; the other ignores it
    other = ombc_instruction("on", 0.5, execution_time=at(2))
    assert updates(resource.handle(other, T0)) == [(other.id, InstructionStatus.ACCEPTED)]
    done = resource.tick(at(2))
    assert (other.id, InstructionStatus.SUCCEEDED) in updates(done) and "OMBC.Status" in kinds(done)
    assert resource.on_select(ControlType.NO_SELECTION, at(3)) == [] and not ombc_device.active


def test_a_revocation_the_device_cannot_place_is_refused() -> None:
    resource = both()
    resource.on_select(FRBC, T0)
    revoke = RevokeObject(message_id=new_id(), object_type=RevokableObjects.FRBC_Instruction, object_id="nope")
    with pytest.raises(InvalidContent):
        resource.handle(revoke, T0)


async def test_device_rm_runs_a_resource_against_a_cem() -> None:
    now = datetime.now(UTC)
    description = frbc_description(valid_from=now)
    device = FRBCDevice(description, {"act1": ("off", 0.0)}, fill_level=40.0)
    rm = DeviceRM(Resource(details(available_control_types=[FRBC]), device))
    cem = CEM(preference=[FRBC])
    near, far = memory_pair(("cem", "rm"))
    tasks: list[asyncio.Task[Any]] = []
    try:
        async with asyncio.timeout(10):
            tasks += [asyncio.create_task(cem.run_channel(near)), asyncio.create_task(rm.run_channel(far))]
            handle = await cem.next_rm()
            await handle.wait_until(lambda: handle.last(FRBCStorageStatus) is not None)
            view = handle.view
            assert isinstance(view, FRBCView) and handle.active_control_type is FRBC
            when = datetime.now(UTC)
            instruction = view.instruct("act1", "on", 0.5, when, when)
            assert isinstance(instruction, FRBCInstruction)
            await handle.send(instruction)
            await handle.wait_until(lambda: (r := handle.instructions.get(instruction.id)) is not None and r.finished)
            assert handle.instructions[instruction.id].status is InstructionStatus.SUCCEEDED
            assert device.statuses["act1"].mode_id == "on" and device.statuses["act1"].factor == 0.5
            rm.publish(device.set_fill_level(45.0, datetime.now(UTC)))  # the device reports on its own
            await handle.wait_until(
                lambda: (status := handle.last(FRBCStorageStatus)) is not None and status.present_fill_level == 45.0
            )
            assert rm.refused == []
    finally:
        async with asyncio.timeout(10):
            await rm.close()
            await cem.close()
            await asyncio.gather(*tasks, return_exceptions=True)
    assert not device.active  # the session ended: the device was deselected for the next one
    rm.publish(device.set_fill_level(55.0, datetime.now(UTC)))  # no session: kept, not raised
    assert device.fill_level == 55.0
    rm.publish([instruction])  # even a message is dropped quietly without a session
