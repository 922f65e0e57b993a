"""Test helpers for the session engine: a fake clock, a CEM/RM pair wired without sockets, and
builders for the messages the tests exchange."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from s2ws.codec import decode
from s2ws.messages import (
    CommodityQuantity,
    ControlType,
    EnergyManagementRole,
    FRBCActuatorStatus,
    FRBCInstruction,
    FRBCStorageStatus,
    FRBCSystemDescription,
    InstructionStatus,
    InstructionStatusUpdate,
    PEBCEnergyConstraint,
    PowerMeasurement,
    PowerValue,
    ResourceManagerDetails,
    Role,
    RoleType,
    S2Message,
    SelectControlType,
    new_id,
)
from s2ws.messages.enums import Commodity
from s2ws.session import Event, Session

CEM = EnergyManagementRole.CEM
RM = EnergyManagementRole.RM
FRBC = ControlType.FILL_RATE_BASED_CONTROL
PEBC = ControlType.POWER_ENVELOPE_BASED_CONTROL
T0 = datetime(2024, 8, 24, 14, 0, tzinfo=UTC)


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = T0

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@dataclass
class Pair:
    """A CEM session and an RM session joined by an in-memory pipe.

    ``pump`` shuttles frames until both sides are quiet, recording every frame in
    ``transcript`` as (direction, text) and every event per side.
    """

    cem: Session
    rm: Session
    clock: Clock = field(default_factory=Clock)
    transcript: list[tuple[str, str]] = field(default_factory=list)
    cem_events: list[Event] = field(default_factory=list)
    rm_events: list[Event] = field(default_factory=list)

    @classmethod
    def create(cls, cem: dict[str, Any] | None = None, rm: dict[str, Any] | None = None) -> Pair:
        return cls(Session(CEM, **(cem or {})), Session(RM, **(rm or {})))

    def start(self) -> None:
        self.cem.start(self.clock.now)
        self.rm.start(self.clock.now)
        self.pump()

    def pump(self, rounds: int = 100) -> None:
        for _ in range(rounds):
            to_rm = self.cem.data_to_send()
            to_cem = self.rm.data_to_send()
            for frame in to_rm:
                self.transcript.append(("cem>rm", frame))
                self.rm.receive(frame, self.clock.now)
            for frame in to_cem:
                self.transcript.append(("rm>cem", frame))
                self.cem.receive(frame, self.clock.now)
            self.collect()
            if not to_rm and not to_cem:
                return
        raise AssertionError("the sessions kept talking")

    def collect(self) -> None:
        self.cem_events.extend(self.cem.events())
        self.rm_events.extend(self.rm.events())

    def tick(self, seconds: float) -> None:
        """Advance the clock and fire due timers on both sides, then deliver what they wrote."""
        now = self.clock.advance(seconds)
        self.cem.handle_timeout(now)
        self.rm.handle_timeout(now)
        self.pump()

    def initialize(self, control_type: ControlType | None = FRBC, **details: Any) -> None:
        """Handshake, ResourceManagerDetails and (optionally) SelectControlType."""
        self.start()
        self.rm.send(rm_details(**details), self.clock.now)
        self.pump()
        if control_type is not None:
            self.cem.send(SelectControlType(message_id=new_id(), control_type=control_type), self.clock.now)
            self.pump()

    def decoded(self) -> list[tuple[str, dict[str, Any]]]:
        return [(direction, json.loads(text)) for direction, text in self.transcript]


def answers_by_subject(transcript: list[tuple[str, str]]) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str]]]:
    """(messages sent per (direction, message_id), ReceptionStatuses per (answered direction, subject))."""
    sent: Counter[tuple[str, str]] = Counter()
    answered: Counter[tuple[str, str]] = Counter()
    for direction, text in transcript:
        doc = json.loads(text)
        if doc["message_type"] == "ReceptionStatus":
            back = "rm>cem" if direction == "cem>rm" else "cem>rm"
            answered[(back, doc["subject_message_id"])] += 1
        else:
            sent[(direction, doc["message_id"])] += 1
    return sent, answered


def statuses(transcript: list[tuple[str, str]]) -> list[str]:
    return [doc["status"] for _, doc in ((d, json.loads(t)) for d, t in transcript) if "status" in doc]


def reception_statuses(frames: list[str]) -> list[dict[str, Any]]:
    """The ReceptionStatus frames among ``frames``, parsed."""
    docs = [json.loads(f) for f in frames]
    return [d for d in docs if d["message_type"] == "ReceptionStatus"]


def of_type(events: list[Event], cls: type[Any]) -> list[Any]:
    return [e for e in events if isinstance(e, cls)]


def frame(message: S2Message) -> str:
    from s2ws.codec import encode

    return encode(message).decode()


# --- builders ---------------------------------------------------------------------------------


def rm_details(
    control_types: tuple[ControlType, ...] = (FRBC, PEBC), message_id: str | None = None
) -> ResourceManagerDetails:
    return ResourceManagerDetails(
        message_id=message_id or new_id(),
        resource_id="test-rm",
        roles=[Role(role=RoleType.ENERGY_STORAGE, commodity=Commodity.ELECTRICITY)],
        instruction_processing_delay=1000,
        available_control_types=list(control_types),
        provides_forecast=False,
        provides_power_measurement_types=[CommodityQuantity.ELECTRIC_POWER_L1],
    )


def power_measurement(message_id: str | None = None, value: float = 1200.0) -> PowerMeasurement:
    return PowerMeasurement(
        message_id=message_id or new_id(),
        measurement_timestamp=T0,
        values=[PowerValue(commodity_quantity=CommodityQuantity.ELECTRIC_POWER_L1, value=value)],
    )


def storage_status(level: float = 50.0) -> FRBCStorageStatus:
    return FRBCStorageStatus(message_id=new_id(), present_fill_level=level)


def actuator_status() -> FRBCActuatorStatus:
    return FRBCActuatorStatus(
        message_id=new_id(), actuator_id="actuator1", active_operation_mode_id="om1", operation_mode_factor=0.5
    )


def frbc_instruction(instruction_id: str = "instruction1") -> FRBCInstruction:
    return FRBCInstruction(
        message_id=new_id(),
        id=instruction_id,
        actuator_id="actuator1",
        operation_mode="om1",
        operation_mode_factor=1.0,
        execution_time=T0,
        abnormal_condition=False,
    )


def status_update(instruction_id: str, status: InstructionStatus) -> InstructionStatusUpdate:
    return InstructionStatusUpdate(message_id=new_id(), instruction_id=instruction_id, status_type=status, timestamp=T0)


def energy_constraint(constraint_id: str = "ec1") -> PEBCEnergyConstraint:
    return PEBCEnergyConstraint(
        message_id=new_id(),
        id=constraint_id,
        valid_from=T0,
        valid_until=T0 + timedelta(hours=4),
        upper_average_power=11000.0,
        lower_average_power=3000.0,
        commodity_quantity=CommodityQuantity.ELECTRIC_POWER_L1,
    )


def frbc_system_description(message_id: str | None = None) -> FRBCSystemDescription:
    doc = {
        "message_type": "FRBC.SystemDescription",
        "message_id": message_id or new_id(),
        "valid_from": "2024-08-24T14:00:00Z",
        "actuators": [
            {
                "id": "actuator1",
                "supported_commodities": ["ELECTRICITY"],
                "operation_modes": [
                    {
                        "id": "om1",
                        "elements": [
                            {
                                "fill_level_range": {"start_of_range": 0, "end_of_range": 100},
                                "fill_rate": {"start_of_range": 0.001, "end_of_range": 0.005},
                                "power_ranges": [
                                    {
                                        "start_of_range": 1400,
                                        "end_of_range": 11000,
                                        "commodity_quantity": "ELECTRIC.POWER.L1",
                                    }
                                ],
                            }
                        ],
                        "abnormal_condition_only": False,
                    }
                ],
                "transitions": [],
                "timers": [],
            }
        ],
        "storage": {
            "provides_leakage_behaviour": False,
            "provides_fill_level_target_profile": False,
            "provides_usage_forecast": False,
            "fill_level_range": {"start_of_range": 0, "end_of_range": 100},
        },
    }
    message = decode(json.dumps(doc))
    assert isinstance(message, FRBCSystemDescription)
    return message
