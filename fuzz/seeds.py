"""Starting inputs for each target: valid messages and a working session, so that the fuzzer
begins from the deep end (past decoding and the handshake) and mutates from there."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

from s2ws import encode
from s2ws.messages import (
    Commodity,
    CommodityQuantity,
    ControlType,
    EnergyManagementRole,
    FRBCActuatorDescription,
    FRBCActuatorStatus,
    FRBCInstruction,
    FRBCOperationMode,
    FRBCOperationModeElement,
    FRBCStorageDescription,
    FRBCStorageStatus,
    FRBCSystemDescription,
    Handshake,
    HandshakeResponse,
    InstructionStatus,
    InstructionStatusUpdate,
    NumberRange,
    PowerForecastValue,
    PowerMeasurement,
    PowerRange,
    PowerValue,
    PPBCPowerProfileDefinition,
    PPBCPowerSequence,
    PPBCPowerSequenceContainer,
    PPBCPowerSequenceElement,
    PPBCScheduleInstruction,
    ReceptionStatus,
    ReceptionStatusValues,
    ResourceManagerDetails,
    Role,
    RoleType,
    S2Message,
    SelectControlType,
    SessionRequest,
    SessionRequestType,
    Timer,
    Transition,
)

__all__ = ["REGRESSIONS", "ppbc_past_the_calendar", "seeds"]

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "spec" / "examples"


def _mode(mode_id: str, watts: float) -> FRBCOperationMode:
    element = FRBCOperationModeElement(
        fill_level_range=NumberRange(start_of_range=0.0, end_of_range=100.0),
        fill_rate=NumberRange(start_of_range=0.0, end_of_range=0.01 * watts / 1000),
        power_ranges=[
            PowerRange(
                start_of_range=0.0,
                end_of_range=watts,
                commodity_quantity=CommodityQuantity.ELECTRIC_POWER_3_PHASE_SYMMETRIC,
            )
        ],
    )
    return FRBCOperationMode(id=mode_id, elements=[element], abnormal_condition_only=False)


def frbc_session() -> list[tuple[str, S2Message]]:
    """(direction, message) of an FRBC session from handshake to an executed instruction."""
    description = FRBCSystemDescription(
        message_id="rm-sd-1",
        valid_from=T0,
        actuators=[
            FRBCActuatorDescription(
                id="act-1",
                supported_commodities=[Commodity.ELECTRICITY],
                operation_modes=[_mode("om-off", 0.0), _mode("om-on", 3000.0)],
                transitions=[
                    Transition(
                        id="tr-1",
                        from_="om-off",
                        to="om-on",
                        start_timers=["tm-1"],
                        blocking_timers=[],
                        abnormal_condition_only=False,
                    )
                ],
                timers=[Timer(id="tm-1", duration=60_000)],
            )
        ],
        storage=FRBCStorageDescription(
            provides_leakage_behaviour=False,
            provides_fill_level_target_profile=False,
            provides_usage_forecast=False,
            fill_level_range=NumberRange(start_of_range=0.0, end_of_range=100.0),
        ),
    )
    return [
        (
            "cem>rm",
            Handshake(message_id="cem-hs-1", role=EnergyManagementRole.CEM, supported_protocol_versions=["0.0.2-beta"]),
        ),
        (
            "rm>cem",
            Handshake(message_id="rm-hs-1", role=EnergyManagementRole.RM, supported_protocol_versions=["0.0.2-beta"]),
        ),
        ("cem>rm", HandshakeResponse(message_id="cem-hr-1", selected_protocol_version="0.0.2-beta")),
        (
            "rm>cem",
            ResourceManagerDetails(
                message_id="rm-rmd-1",
                resource_id="rm-1",
                roles=[Role(role=RoleType.ENERGY_STORAGE, commodity=Commodity.ELECTRICITY)],
                instruction_processing_delay=1000,
                available_control_types=[ControlType.FILL_RATE_BASED_CONTROL],
                provides_forecast=False,
                provides_power_measurement_types=[CommodityQuantity.ELECTRIC_POWER_3_PHASE_SYMMETRIC],
            ),
        ),
        ("cem>rm", SelectControlType(message_id="cem-sct-1", control_type=ControlType.FILL_RATE_BASED_CONTROL)),
        ("rm>cem", description),
        (
            "rm>cem",
            PowerMeasurement(
                message_id="rm-pm-1",
                measurement_timestamp=T0,
                values=[
                    PowerValue(commodity_quantity=CommodityQuantity.ELECTRIC_POWER_3_PHASE_SYMMETRIC, value=1500.0)
                ],
            ),
        ),
        ("rm>cem", FRBCStorageStatus(message_id="rm-ss-1", present_fill_level=40.0)),
        (
            "rm>cem",
            FRBCActuatorStatus(
                message_id="rm-as-1", actuator_id="act-1", active_operation_mode_id="om-off", operation_mode_factor=0.0
            ),
        ),
        (
            "cem>rm",
            FRBCInstruction(
                message_id="cem-in-1",
                id="instr-1",
                actuator_id="act-1",
                operation_mode="om-on",
                operation_mode_factor=0.5,
                execution_time=T0 + timedelta(minutes=5),
                abnormal_condition=False,
            ),
        ),
        (
            "rm>cem",
            InstructionStatusUpdate(
                message_id="rm-isu-1", instruction_id="instr-1", status_type=InstructionStatus.ACCEPTED, timestamp=T0
            ),
        ),
        ("cem>rm", SessionRequest(message_id="cem-sr-1", request=SessionRequestType.TERMINATE)),
    ]


def ppbc_past_the_calendar() -> list[tuple[str, S2Message]]:
    """A regression: a schema-valid power sequence whose duration (about 7,975 years) ends past
    9999-12-31, scheduled in 2000. The rule context raised OverflowError adding it to the start;
    now the end saturates and the schedule is refused under S2-PPBC-014."""
    start = datetime(2000, 1, 1, tzinfo=UTC)
    element = PPBCPowerSequenceElement(
        duration=251_677_792_800_000,
        power_values=[PowerForecastValue(value_expected=0.0, commodity_quantity=CommodityQuantity.ELECTRIC_POWER_L1)],
    )
    sequence = PPBCPowerSequence(id="seq-1", elements=[element], is_interruptible=False, abnormal_condition_only=False)
    return [
        *frbc_session()[:3],
        (
            "rm>cem",
            ResourceManagerDetails(
                message_id="rm-rmd-1",
                resource_id="rm-1",
                roles=[Role(role=RoleType.ENERGY_CONSUMER, commodity=Commodity.ELECTRICITY)],
                instruction_processing_delay=1000,
                available_control_types=[ControlType.POWER_PROFILE_BASED_CONTROL],
                provides_forecast=False,
                provides_power_measurement_types=[CommodityQuantity.ELECTRIC_POWER_L1],
            ),
        ),
        ("cem>rm", SelectControlType(message_id="cem-sct-1", control_type=ControlType.POWER_PROFILE_BASED_CONTROL)),
        (
            "rm>cem",
            PPBCPowerProfileDefinition(
                message_id="rm-ppd-1",
                id="profile-1",
                start_time=start,
                end_time=start,
                power_sequences_containers=[PPBCPowerSequenceContainer(id="box-1", power_sequences=[sequence])],
            ),
        ),
        (
            "cem>rm",
            PPBCScheduleInstruction(
                message_id="cem-in-1",
                id="instr-1",
                power_profile_id="profile-1",
                sequence_container_id="box-1",
                power_sequence_id="seq-1",
                execution_time=start,
                abnormal_condition=False,
            ),
        ),
    ]


REGRESSIONS = (ppbc_past_the_calendar,)
"""Sessions that once made a target crash: every target starts from each of them too, so every
fuzzing run (and ``tests/test_fuzz.py``) replays them first. Add new ones here."""


def _ok(message: S2Message) -> bytes:
    subject: str = message.message_id  # type: ignore[attr-defined]
    return encode(ReceptionStatus(subject_message_id=subject, status=ReceptionStatusValues.OK))


def _codec_seeds() -> Iterator[bytes]:
    for _direction, message in frbc_session():
        yield encode(message)
    if EXAMPLES.is_dir():
        for path in sorted(EXAMPLES.glob("*.json")):
            yield msgspec.json.encode(msgspec.json.decode(path.read_bytes()))
    yield b'{"message_type": "PowerMeasurement", "message_id": "m 1", "values": []}'
    yield b'{"message_type": "ReceptionStatus", "subject_message_id": "x", "status": "OK"}'


def _rules_seed(session: list[tuple[str, S2Message]]) -> bytes:
    marks = {"cem>rm": b">", "rm>cem": b"<"}
    lines = []
    for direction, message in session:
        lines.append(marks[direction] + encode(message))
        back = "rm>cem" if direction == "cem>rm" else "cem>rm"
        lines.append(marks[back] + _ok(message))
    return b"\n".join(lines)


def _session_seed(role: str, session: list[tuple[str, S2Message]]) -> bytes:
    """The peer's side of the session as frames; what ``role`` sends itself comes by ``@send``."""
    ours = "cem>rm" if role == "cem" else "rm>cem"
    lines = []
    for direction, message in session:
        if direction == ours:
            if not isinstance(message, Handshake | HandshakeResponse):  # the engine sends those itself
                lines.append(b"@send " + encode(message))
            lines.append(b"@ok")
        else:
            lines.append(encode(message))
    lines.append(b"@tick")
    return b"\n".join(lines)


def _transcript_seed(session: list[tuple[str, S2Message]]) -> bytes:
    lines = []
    for n, (direction, message) in enumerate(session):
        back = "rm>cem" if direction == "cem>rm" else "cem>rm"
        for i, (way, text) in enumerate(((direction, encode(message)), (back, _ok(message)))):
            t = (T0 + timedelta(seconds=2 * n + i)).isoformat().replace("+00:00", "Z")
            lines.append(json.dumps({"t": t, "dir": way, "session": "s-1", "text": text.decode()}).encode())
    return b"\n".join(lines)


def seeds(target: str) -> list[bytes]:
    """The seed inputs of one target."""
    if target == "codec":
        return list(_codec_seeds())
    sessions = [frbc_session()] + [regression() for regression in REGRESSIONS]
    if target == "rules":
        return [_rules_seed(s) for s in sessions]
    if target == "session_cem":
        return [_session_seed("cem", s) for s in sessions]
    if target == "session_rm":
        return [_session_seed("rm", s) for s in sessions]
    if target == "transcript":
        return [_transcript_seed(s) for s in sessions]
    raise KeyError(target)
