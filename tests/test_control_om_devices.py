"""RM building blocks for OMBC, FRBC and DDBC: selection, instruction lifecycle, timers, deselection."""

from __future__ import annotations

from typing import Any

import pytest
from msgspec.structs import replace

from builders import (
    T0,
    at,
    ddbc_actuator,
    ddbc_description,
    frbc_description,
    mid,
    number_range,
    ombc_description,
    ombc_instruction,
    revoke,
    select,
    storage,
    timer,
    transition,
    usage_forecast,
)
from s2ws.control import DEVICE_POLICY, DDBCDevice, FRBCDevice, ModeChange, OMBCDevice, TimerBook, timer_status
from s2ws.errors import EncodeError, InvalidContent
from s2ws.messages import (
    ControlType,
    DDBCActuatorStatus,
    DDBCPresentDemandStatus,
    DDBCSystemDescription,
    DDBCSystemDescriptionV1,
    FRBCActuatorStatus,
    FRBCInstruction,
    FRBCLeakageBehaviourElement,
    FRBCStorageStatus,
    FRBCTimerStatus,
    FRBCUsageForecast,
    InstructionStatus,
    InstructionStatusUpdate,
    OMBCStatus,
    OMBCSystemDescription,
    OMBCTimerStatus,
    RevokableObjects,
    RevokeObject,
)
from s2ws.messages.base import S2Message
from s2ws.rules.catalogue import OM_RULE_IDS

OMBC = OM_RULE_IDS["OMBC"]
S = InstructionStatus
OMBC_CT = ControlType.OPERATION_MODE_BASED_CONTROL


def kinds(messages: list[S2Message]) -> list[str]:
    out = []
    for message in messages:
        name = type(message).__name__
        if isinstance(message, InstructionStatusUpdate):
            name += f":{message.status_type.value}"
        out.append(name)
    return out


def selected_ombc(**kwargs: Any) -> OMBCDevice:
    device = OMBCDevice(ombc_description(), "off", **kwargs)
    device.handle(select(OMBC_CT), T0)
    return device


def test_ombc_selection_sends_description_status_and_running_timers() -> None:
    device = OMBCDevice(ombc_description(), "off")
    assert device.set_mode("on", 0.5, T0) == []  # not selected: kept, not sent
    assert device.status.mode_id == "on"
    out = device.handle(select(OMBC_CT), at(1))
    assert kinds(out) == ["OMBCSystemDescription", "OMBCStatus", "OMBCTimerStatus"]
    timer = out[2]
    assert isinstance(timer, OMBCTimerStatus) and timer.timer_id == "min-on" and timer.finished_at == at(10)
    status = out[1]
    assert isinstance(status, OMBCStatus) and status.previous_operation_mode_id == "off"
    assert status.transition_timestamp == T0
    assert device.active


def test_instruction_lifecycle_with_timers_and_the_change_callback() -> None:
    changes: list[ModeChange] = []
    device = selected_ombc(on_change=changes.append)
    instruction = ombc_instruction("on", 0.5, execution_time=at(5))
    assert kinds(device.handle(instruction, T0)) == ["InstructionStatusUpdate:ACCEPTED"]
    assert device.next_wakeup() == at(5)
    assert device.tick(at(4)) == []
    out = device.tick(at(5))
    assert kinds(out) == [
        "InstructionStatusUpdate:STARTED",
        "OMBCStatus",
        "OMBCTimerStatus",
        "InstructionStatusUpdate:SUCCEEDED",
    ]
    assert all(m.timestamp == at(5) for m in out if isinstance(m, InstructionStatusUpdate))
    status, timer = out[1], out[2]
    assert isinstance(status, OMBCStatus) and status.active_operation_mode_id == "on"
    assert status.previous_operation_mode_id == "off" and status.transition_timestamp == at(5)
    assert isinstance(timer, OMBCTimerStatus) and timer.finished_at == at(15)
    [change] = changes
    assert (change.mode_id, change.factor, change.previous_mode_id) == ("on", 0.5, "off")
    assert change.transition is not None and change.transition.id == "t-on" and change.instruction == instruction
    # A factor change keeps the previous mode and transition time, and starts no timer.
    out = device.handle(ombc_instruction("on", 1.0, execution_time=at(6)), at(6))
    assert kinds(out)[1:3] == ["InstructionStatusUpdate:STARTED", "OMBCStatus"]
    status = out[2]
    assert isinstance(status, OMBCStatus) and status.transition_timestamp == at(5) and status.operation_mode_factor == 1


def test_blocked_transition_is_rejected_with_timer_and_time() -> None:
    device = selected_ombc()
    device.handle(ombc_instruction("on", 0.5, execution_time=T0), T0)
    decision = device.receive(ombc_instruction("off", 0.0, execution_time=at(3)), at(1))
    assert decision.status is S.REJECTED and decision.rule == OMBC["transition_blocked"]
    assert decision.rejectable
    assert decision.reason == (
        "transition t-off on→off is blocked by timer min-on (minimum run time) until 2024-08-24T14:10:00Z, "
        "after the execution time 2024-08-24T14:03:00Z"
    )
    assert device.receive(ombc_instruction("off", 0.0, execution_time=at(10)), at(1)).accepted


def test_pending_instructions_chain_on_the_rm_too() -> None:
    device = selected_ombc()
    assert device.receive(ombc_instruction("on", 0.5, execution_time=at(5)), T0).accepted
    later = device.receive(ombc_instruction("off", 0.0, execution_time=at(10)), T0)
    assert later.rule == OMBC["transition_blocked"] and "until 2024-08-24T14:15:00Z" in (later.reason or "")


def test_unknown_mode_rejected_or_invalid_content_when_strict() -> None:
    device = selected_ombc()
    decision = device.receive(ombc_instruction("turbo"), T0)
    assert decision.rule == OMBC["instr_om"] and not decision.rejectable
    strict = selected_ombc(strict_ids=True)
    with pytest.raises(InvalidContent, match="turbo is not an operation mode"):
        strict.handle(ombc_instruction("turbo"), T0)
    assert kinds(strict.handle(ombc_instruction("boost"), T0)) == ["InstructionStatusUpdate:REJECTED"]


def test_device_policy_and_failing_device() -> None:
    def comfort(change: ModeChange) -> str | None:
        return "the owner asked for quiet hours" if change.factor > 0.8 else None

    def broken(change: ModeChange) -> None:
        raise RuntimeError("relay stuck")

    device = selected_ombc(accept=comfort, on_change=broken)
    loud = device.receive(ombc_instruction("on", 0.9, execution_time=T0), T0)
    assert loud.rule == DEVICE_POLICY and loud.reason == "the owner asked for quiet hours" and loud.rejectable
    quiet = ombc_instruction("on", 0.5, execution_time=T0)
    out = device.handle(quiet, T0)
    assert kinds(out) == [
        "InstructionStatusUpdate:ACCEPTED",
        "InstructionStatusUpdate:STARTED",
        "InstructionStatusUpdate:ABORTED",
    ]
    assert device.scheduler.reason(quiet.id) == "relay stuck"
    assert device.status.mode_id == "off"


def test_state_changed_before_execution_aborts() -> None:
    device = selected_ombc()
    instruction = ombc_instruction("on", 0.5, execution_time=at(5))
    device.handle(instruction, T0)
    device.set_mode("boost", 1.0, at(1))  # the RM decides on its own; boost has no transition to on
    out = device.tick(at(5))
    assert kinds(out) == ["InstructionStatusUpdate:ABORTED"]
    assert device.scheduler.reason(instruction.id) == "the system description has no transition boost→on"


def test_revocation_and_deselection() -> None:
    device = selected_ombc()
    first, second = ombc_instruction("on", execution_time=at(5)), ombc_instruction("on", execution_time=at(6))
    device.handle(first, T0)
    device.handle(second, T0)
    out = device.handle(revoke(RevokableObjects.OMBC_Instruction, first.id), at(1))
    assert kinds(out) == ["InstructionStatusUpdate:REVOKED"]
    with pytest.raises(InvalidContent, match="S2-REVOKE-002"):
        device.handle(revoke(RevokableObjects.OMBC_Instruction, "never-sent"), at(1))
    out = device.handle(select(ControlType.FILL_RATE_BASED_CONTROL), at(2))
    assert kinds(out) == ["InstructionStatusUpdate:ABORTED"] and out[0].instruction_id == second.id  # type: ignore[attr-defined]
    assert not device.active and device.next_wakeup() is None
    assert device.set_mode("on", 0.5, at(3)) == []
    assert kinds(device.handle(select(OMBC_CT), at(4)))[:2] == ["OMBCSystemDescription", "OMBCStatus"]


def test_reselecting_the_same_type_starts_afresh() -> None:
    device = selected_ombc()
    device.handle(ombc_instruction("on", execution_time=at(5)), T0)
    out = device.handle(select(OMBC_CT), at(1))
    assert kinds(out)[:2] == ["InstructionStatusUpdate:ABORTED", "OMBCSystemDescription"]


def test_driver_executes_due_instructions_itself() -> None:
    device = selected_ombc()
    instruction = ombc_instruction("on", 0.5, execution_time=at(1))
    device.receive(instruction, T0)
    [due] = device.take_due(at(1))
    assert kinds(device.begin(due, at(1))) == ["InstructionStatusUpdate:STARTED"]
    assert device.status.mode_id == "off"
    out = device.complete(due.id, at(2))
    assert kinds(out) == ["OMBCStatus", "OMBCTimerStatus", "InstructionStatusUpdate:SUCCEEDED"]
    failed = ombc_instruction("on", 0.7, execution_time=at(3))
    device.receive(failed, at(2))
    [due] = device.take_due(at(3))
    device.begin(due, at(3))
    assert kinds(device.complete(due.id, at(3), ok=False, reason="grid fault")) == ["InstructionStatusUpdate:ABORTED"]


def test_descriptions_published_and_revoked_by_the_rm() -> None:
    device = selected_ombc()
    newer = ombc_description(message_id=mid(), valid_from=at(30))
    assert device.publish_description(newer, T0) == [newer]
    again = device.activate(at(1))
    assert kinds(again)[:2] == ["OMBCSystemDescription", "OMBCSystemDescription"]
    # Sent again in the same session, so under fresh message ids; revoking by the old id still works.
    resent = again[1]
    assert isinstance(resent, OMBCSystemDescription) and resent.message_id != newer.message_id
    assert resent == replace(newer, message_id=resent.message_id)
    [revocation] = device.revoke_description(newer.message_id, at(2))
    assert isinstance(revocation, RevokeObject) and revocation.object_id == resent.message_id
    assert revocation.object_type is RevokableObjects.OMBC_SystemDescription
    with pytest.raises(ValueError, match="no description"):
        device.revoke_description("unknown", at(2))


def test_construction_checks_the_starting_state() -> None:
    with pytest.raises(ValueError, match="not a valid state"):
        OMBCDevice(ombc_description(), "turbo")
    with pytest.raises(ValueError, match="no initial operation mode for actuator act1"):
        FRBCDevice(frbc_description(), {})
    with pytest.raises(ValueError, match="not an actuator"):
        FRBCDevice(frbc_description(), {"act1": ("off", 0.0), "act2": ("off", 0.0)})
    duplicate_modes = ombc_description(operation_modes=[*ombc_description().operation_modes][:1] * 2)
    assert isinstance(duplicate_modes, OMBCSystemDescription)
    with pytest.raises(InvalidContent):
        OMBCDevice(duplicate_modes, "off")


# --- FRBC ------------------------------------------------------------------------------------


def test_frbc_device_storage_messages_and_fill_level_rule() -> None:
    device = FRBCDevice(frbc_description(), {"act1": ("off", 0.0)}, fill_level=40.0)
    elements = [FRBCLeakageBehaviourElement(fill_level_range=number_range(0, 100), leakage_rate=0.0001)]
    assert device.set_leakage(elements, T0) == []
    device.set_usage_forecast(T0, usage_forecast().elements, T0)
    out = device.handle(select(ControlType.FILL_RATE_BASED_CONTROL), T0)
    assert kinds(out) == [
        "FRBCSystemDescription",
        "FRBCActuatorStatus",
        "FRBCStorageStatus",
        "FRBCLeakageBehaviour",
        "FRBCUsageForecast",
    ]
    [level] = device.set_fill_level(120.0, at(1))
    assert isinstance(level, FRBCStorageStatus) and level.present_fill_level == 120
    instruction = FRBCInstruction(
        message_id=mid(),
        id=mid(),
        actuator_id="act1",
        operation_mode="on",
        operation_mode_factor=0.5,
        execution_time=at(2),
        abnormal_condition=False,
    )
    decision = device.receive(instruction, at(1))
    assert decision.rule == OM_RULE_IDS["FRBC"]["fill_level"] and "fill level 120" in (decision.reason or "")
    device.set_fill_level(60.0, at(2))
    out = device.handle(
        FRBCInstruction(
            message_id=mid(),
            id=mid(),
            actuator_id="act1",
            operation_mode="on",
            operation_mode_factor=0.5,
            execution_time=at(2),
            abnormal_condition=False,
        ),
        at(2),
    )
    assert kinds(out)[-3:] == ["FRBCActuatorStatus", "FRBCTimerStatus", "InstructionStatusUpdate:SUCCEEDED"]
    status, timer = out[-3], out[-2]
    assert isinstance(status, FRBCActuatorStatus) and status.actuator_id == "act1"
    assert isinstance(timer, FRBCTimerStatus) and timer.actuator_id == "act1" and timer.timer_id == "min-on"


def test_frbc_device_refuses_unannounced_storage_messages() -> None:
    quiet = frbc_description(storage=storage(provides_usage_forecast=False))
    device = FRBCDevice(quiet, {"act1": ("off", 0.0)})
    with pytest.raises(ValueError, match="provides_usage_forecast false"):
        device.set_usage_forecast(T0, usage_forecast().elements, T0)
    loud = FRBCDevice(frbc_description(), {"act1": ("off", 0.0)})
    with pytest.raises(EncodeError, match="at least 1 required"):
        loud.set_fill_level_target(T0, [], T0)  # the schema is checked before anything is sent
    [forecast] = loud.handle(select(ControlType.FILL_RATE_BASED_CONTROL), T0)[-1:]
    assert not isinstance(forecast, FRBCUsageForecast)
    [forecast] = loud.set_usage_forecast(T0, usage_forecast().elements, T0)
    assert isinstance(forecast, FRBCUsageForecast)


# --- DDBC ------------------------------------------------------------------------------------


def test_ddbc_demand_in_either_profile() -> None:
    beta = DDBCDevice(ddbc_description(), {"act1": ("off", 0.0)})
    beta.handle(select(ControlType.DEMAND_DRIVEN_BASED_CONTROL), T0)
    [renewed] = beta.set_demand_rate(number_range(3, 5), at(1))
    assert isinstance(renewed, DDBCSystemDescription) and renewed.present_demand_rate == number_range(3, 5)
    assert renewed.valid_from == at(1) and beta.description(at(1)) is renewed
    v1 = DDBCSystemDescriptionV1(
        message_id=mid(), valid_from=T0, actuators=[ddbc_actuator()], provides_average_demand_rate_forecast=False
    )
    device = DDBCDevice(v1, {"act1": ("on", 0.5)}, demand_rate=number_range(1, 2))
    out = device.handle(select(ControlType.DEMAND_DRIVEN_BASED_CONTROL), T0)
    assert kinds(out) == ["DDBCSystemDescriptionV1", "DDBCActuatorStatus", "DDBCPresentDemandStatus"]
    [demand] = device.set_demand_rate(number_range(2, 3), at(1))
    assert isinstance(demand, DDBCPresentDemandStatus)
    with pytest.raises(ValueError, match="provides_average_demand_rate_forecast false"):
        device.set_demand_forecast(T0, [], T0)
    [status] = device.set_mode("act1", "off", 0.0, at(2))[:1]
    assert isinstance(status, DDBCActuatorStatus) and status.previous_operation_mode_id == "on"


def test_reselection_resends_kept_messages_under_fresh_ids() -> None:
    device = FRBCDevice(frbc_description(), {"act1": ("off", 0.0)}, fill_level=40.0)
    device.set_usage_forecast(T0, usage_forecast().elements, T0)
    first = device.handle(select(ControlType.FILL_RATE_BASED_CONTROL), T0)
    second = device.handle(select(ControlType.FILL_RATE_BASED_CONTROL), at(1))
    assert kinds(first) == kinds(second)
    assert {m.message_id for m in first}.isdisjoint(m.message_id for m in second)  # type: ignore[attr-defined]


def test_timer_book() -> None:
    book = TimerBook("FRBC")
    start_on = transition("t-on", "off", "on", start=["min-on"], block=["min-off"])
    timers = {"min-on": timer("min-on", ms=60_000)}
    [status] = book.start("act1", start_on, timers, T0)
    assert isinstance(status, FRBCTimerStatus) and status.finished_at == at(1) and status.actuator_id == "act1"
    assert book.is_running("act1", "min-on", T0) and not book.is_running("act1", "min-on", at(1))
    book.set("act1", "min-off", at(5))
    assert book.blocking("act1", start_on, at(4)) == [("min-off", at(5))]
    assert book.blocking("act1", start_on, at(5)) == []
    assert book.blocking("act2", start_on, at(4)) == []  # timers belong to one actuator
    assert [s.timer_id for s in book.statuses(at(2))] == ["min-off"]
    assert len(book.statuses(at(2), running_only=False)) == 2
    assert isinstance(timer_status("OMBC", "", "x1", T0), OMBCTimerStatus)
    book.clear("act1")
    assert len(book) == 0 and book.finished_at("act1", "min-off") is None
