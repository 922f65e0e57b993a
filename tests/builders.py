"""The one module of builders and harnesses the tests share.

- Builders of valid S2 messages for the rule tests: every builder returns a message that breaks no
  rule; a test changes one thing with keyword arguments or ``msgspec.structs.replace`` and
  expects exactly the rule it targets. :class:`Session` feeds them to a rule-catalogue
  :class:`~s2ws.rules.SessionContext` with a clock.
- A CEM/RM pair of session engines wired without sockets (:class:`Pair`, on a hand-moved
  :class:`Clock`), helpers to read what they said, and builders for the one-actuator FRBC
  description those tests use (:func:`frbc_system_description`, :func:`frbc_instruction_om1`).
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from s2ws.codec import decode
from s2ws.messages import (
    FRBCActuatorStatus,
    FRBCInstruction,
    FRBCSystemDescription,
    PEBCEnergyConstraint,
    PowerMeasurement,
    PowerValue,
    ResourceManagerDetails,
    Role,
    SelectControlType,
    common,
    ddbc,
    frbc,
    new_id,
    ombc,
    pebc,
    ppbc,
)
from s2ws.messages.base import UNSET, S2Message
from s2ws.messages.enums import (
    Commodity,
    CommodityQuantity,
    ControlType,
    EnergyManagementRole,
    InstructionStatus,
    PEBCPowerEnvelopeConsequenceType,
    PEBCPowerEnvelopeLimitType,
    PPBCPowerSequenceStatus,
    ReceptionStatusValues,
    RevokableObjects,
    RoleType,
)
from s2ws.rules import RuleFinding, SessionContext
from s2ws.session import Event
from s2ws.session import Session as EngineSession

T0 = datetime(2024, 8, 24, 14, 0, tzinfo=UTC)
L1 = CommodityQuantity.ELECTRIC_POWER_L1
L2 = CommodityQuantity.ELECTRIC_POWER_L2
GAS_FLOW = CommodityQuantity.NATURAL_GAS_FLOW_RATE
HEAT_POWER = CommodityQuantity.HEAT_THERMAL_POWER
ELECTRICITY = Commodity.ELECTRICITY
CEM_TO_RM = "cem>rm"
RM_TO_CEM = "rm>cem"
UPPER = PEBCPowerEnvelopeLimitType.UPPER_LIMIT
LOWER = PEBCPowerEnvelopeLimitType.LOWER_LIMIT
MINUTE = 60_000

_counter = itertools.count(1)
M = TypeVar("M", bound=S2Message)


def at(minutes: float = 0) -> datetime:
    return T0 + timedelta(minutes=minutes)


def mid() -> str:
    """A fresh message id."""
    return f"msg-{next(_counter)}"


def ids(findings: Sequence[RuleFinding]) -> list[str]:
    return [f.rule for f in findings]


# --- common ----------------------------------------------------------------------------------


def handshake(role: EnergyManagementRole, versions: list[str] | None = None) -> common.Handshake:
    return common.Handshake(
        message_id=mid(), role=role, supported_protocol_versions=versions if versions is not None else ["0.0.2-beta"]
    )


def handshake_response(version: str = "0.0.2-beta") -> common.HandshakeResponse:
    return common.HandshakeResponse(message_id=mid(), selected_protocol_version=version)


def details(**changes: Any) -> common.ResourceManagerDetails:
    fields: dict[str, Any] = {
        "message_id": mid(),
        "resource_id": "rm-1",
        "roles": [common.Role(role=RoleType.ENERGY_CONSUMER, commodity=ELECTRICITY)],
        "instruction_processing_delay": 1000,
        "available_control_types": [
            ControlType.POWER_ENVELOPE_BASED_CONTROL,
            ControlType.POWER_PROFILE_BASED_CONTROL,
            ControlType.OPERATION_MODE_BASED_CONTROL,
            ControlType.FILL_RATE_BASED_CONTROL,
            ControlType.DEMAND_DRIVEN_BASED_CONTROL,
        ],
        "currency": "EUR",
        "provides_forecast": True,
        "provides_power_measurement_types": [L1],
    }
    fields.update(changes)
    return common.ResourceManagerDetails(**fields)


def select(control_type: ControlType) -> common.SelectControlType:
    return common.SelectControlType(message_id=mid(), control_type=control_type)


def reception(subject: str, status: ReceptionStatusValues = ReceptionStatusValues.OK, label: str | None = None) -> Any:
    return common.ReceptionStatus(subject_message_id=subject, status=status, diagnostic_label=label or UNSET)


def measurement(*quantities: CommodityQuantity) -> common.PowerMeasurement:
    values = [common.PowerValue(commodity_quantity=q, value=100.0) for q in quantities or (L1,)]
    return common.PowerMeasurement(message_id=mid(), measurement_timestamp=T0, values=values)


def forecast_value(expected: float = -3000.0, cq: CommodityQuantity = L1, **bands: float) -> common.PowerForecastValue:
    return common.PowerForecastValue(value_expected=expected, commodity_quantity=cq, **bands)


def forecast(elements: list[common.PowerForecastElement] | None = None) -> common.PowerForecast:
    if elements is None:
        value = forecast_value(value_lower_limit=-3500.0, value_lower_68PPR=-3100.0, value_upper_limit=-2000.0)
        elements = [common.PowerForecastElement(duration=15 * MINUTE, power_values=[value])]
    return common.PowerForecast(message_id=mid(), start_time=T0, elements=elements)


def status_update(
    instruction_id: str, status: InstructionStatus, when: datetime | None = None
) -> common.InstructionStatusUpdate:
    return common.InstructionStatusUpdate(
        message_id=mid(), instruction_id=instruction_id, status_type=status, timestamp=when or T0
    )


def revoke(object_type: RevokableObjects, object_id: str) -> common.RevokeObject:
    return common.RevokeObject(message_id=mid(), object_type=object_type, object_id=object_id)


def session_request() -> common.SessionRequest:
    from s2ws.messages.enums import SessionRequestType

    return common.SessionRequest(message_id=mid(), request=SessionRequestType.TERMINATE)


# --- operation-mode pieces -------------------------------------------------------------------


def power_range(start: float, end: float, cq: CommodityQuantity = L1) -> common.PowerRange:
    return common.PowerRange(start_of_range=start, end_of_range=end, commodity_quantity=cq)


def number_range(start: float, end: float) -> common.NumberRange:
    return common.NumberRange(start_of_range=start, end_of_range=end)


def transition(
    tid: str,
    source: str,
    target: str,
    start: Sequence[str] = (),
    block: Sequence[str] = (),
    abnormal: bool = False,
    costs: float | None = None,
) -> common.Transition:
    return common.Transition(
        id=tid,
        from_=source,
        to=target,
        start_timers=list(start),
        blocking_timers=list(block),
        transition_costs=UNSET if costs is None else costs,
        abnormal_condition_only=abnormal,
    )


def timer(tid: str, ms: int = 10 * MINUTE, label: str | None = None) -> common.Timer:
    return common.Timer(id=tid, duration=ms, diagnostic_label=label or UNSET)


STATE_MACHINE_TRANSITIONS = [
    transition("t-on", "off", "on", start=["min-on"], block=["min-off"]),
    transition("t-off", "on", "off", start=["min-off"], block=["min-on"]),
    transition("t-boost", "off", "boost", abnormal=True),
    transition("t-unboost", "boost", "off"),
]
STATE_MACHINE_TIMERS = [timer("min-on", label="minimum run time"), timer("min-off", label="minimum off time")]


# --- OMBC ------------------------------------------------------------------------------------


def ombc_mode(oid: str, low: float, high: float, abnormal: bool = False, **changes: Any) -> ombc.OMBCOperationMode:
    fields: dict[str, Any] = {"id": oid, "power_ranges": [power_range(low, high)], "abnormal_condition_only": abnormal}
    fields.update(changes)
    return ombc.OMBCOperationMode(**fields)


def ombc_description(**changes: Any) -> ombc.OMBCSystemDescription:
    fields: dict[str, Any] = {
        "message_id": mid(),
        "valid_from": T0,
        "operation_modes": [
            ombc_mode("off", 0, 0),
            ombc_mode("on", 1000, 2000, running_costs=number_range(0.01, 0.02)),
            ombc_mode("boost", 2000, 4000, abnormal=True),
        ],
        "transitions": list(STATE_MACHINE_TRANSITIONS),
        "timers": list(STATE_MACHINE_TIMERS),
    }
    fields.update(changes)
    return ombc.OMBCSystemDescription(**fields)


def ombc_status(active: str = "off", factor: float = 0.0, **changes: Any) -> ombc.OMBCStatus:
    return ombc.OMBCStatus(message_id=mid(), active_operation_mode_id=active, operation_mode_factor=factor, **changes)


def ombc_timer(timer_id: str = "min-off", finished: datetime = T0) -> ombc.OMBCTimerStatus:
    return ombc.OMBCTimerStatus(message_id=mid(), timer_id=timer_id, finished_at=finished)


def ombc_instruction(mode: str = "on", factor: float = 0.5, **changes: Any) -> ombc.OMBCInstruction:
    fields: dict[str, Any] = {
        "message_id": mid(),
        "id": f"instr-{next(_counter)}",
        "execution_time": at(1),
        "operation_mode_id": mode,
        "operation_mode_factor": factor,
        "abnormal_condition": False,
    }
    fields.update(changes)
    return ombc.OMBCInstruction(**fields)


# --- FRBC ------------------------------------------------------------------------------------


def frbc_element(
    low: float, high: float, ranges: list[common.PowerRange] | None = None, **changes: Any
) -> frbc.FRBCOperationModeElement:
    fields: dict[str, Any] = {
        "fill_level_range": number_range(low, high),
        "fill_rate": number_range(0.001, 0.002),
        "power_ranges": ranges or [power_range(1000, 3000)],
    }
    fields.update(changes)
    return frbc.FRBCOperationModeElement(**fields)


def frbc_mode(
    oid: str, elements: list[frbc.FRBCOperationModeElement] | None = None, abnormal: bool = False
) -> frbc.FRBCOperationMode:
    return frbc.FRBCOperationMode(id=oid, elements=elements or [frbc_element(0, 100)], abnormal_condition_only=abnormal)


def frbc_actuator(aid: str = "act1", **changes: Any) -> frbc.FRBCActuatorDescription:
    fields: dict[str, Any] = {
        "id": aid,
        "supported_commodities": [ELECTRICITY],
        "operation_modes": [
            frbc_mode("off", [frbc_element(0, 100, [power_range(0, 0)])]),
            frbc_mode(
                "on",
                [frbc_element(0, 50, running_costs=number_range(0.0, 0.1)), frbc_element(50, 100)],
            ),
            frbc_mode("boost", [frbc_element(0, 100, [power_range(3000, 5000)])], abnormal=True),
        ],
        "transitions": list(STATE_MACHINE_TRANSITIONS),
        "timers": list(STATE_MACHINE_TIMERS),
    }
    fields.update(changes)
    return frbc.FRBCActuatorDescription(**fields)


def storage(low: float = 0, high: float = 100, **changes: Any) -> frbc.FRBCStorageDescription:
    fields: dict[str, Any] = {
        "provides_leakage_behaviour": True,
        "provides_fill_level_target_profile": True,
        "provides_usage_forecast": True,
        "fill_level_range": number_range(low, high),
    }
    fields.update(changes)
    return frbc.FRBCStorageDescription(**fields)


def frbc_description(**changes: Any) -> frbc.FRBCSystemDescription:
    fields: dict[str, Any] = {
        "message_id": mid(),
        "valid_from": T0,
        "actuators": [frbc_actuator()],
        "storage": storage(),
    }
    fields.update(changes)
    return frbc.FRBCSystemDescription(**fields)


def frbc_status(active: str = "off", factor: float = 0.0, actuator: str = "act1", **changes: Any) -> Any:
    return frbc.FRBCActuatorStatus(
        message_id=mid(), actuator_id=actuator, active_operation_mode_id=active, operation_mode_factor=factor, **changes
    )


def frbc_timer(timer_id: str = "min-off", finished: datetime = T0, actuator: str = "act1") -> frbc.FRBCTimerStatus:
    return frbc.FRBCTimerStatus(message_id=mid(), timer_id=timer_id, actuator_id=actuator, finished_at=finished)


def storage_status(level: float = 40.0) -> frbc.FRBCStorageStatus:
    return frbc.FRBCStorageStatus(message_id=mid(), present_fill_level=level)


def leakage(*spans: tuple[float, float]) -> frbc.FRBCLeakageBehaviour:
    elements = [
        frbc.FRBCLeakageBehaviourElement(fill_level_range=number_range(lo, hi), leakage_rate=0.0001)
        for lo, hi in spans or ((0, 50), (50, 100))
    ]
    return frbc.FRBCLeakageBehaviour(message_id=mid(), valid_from=T0, elements=elements)


def usage_forecast(duration: int = 15 * MINUTE, **bands: float) -> frbc.FRBCUsageForecast:
    element = frbc.FRBCUsageForecastElement(duration=duration, usage_rate_expected=0.001, **bands)
    return frbc.FRBCUsageForecast(message_id=mid(), start_time=T0, elements=[element])


def target_profile(low: float = 40, high: float = 60, duration: int = 60 * MINUTE) -> frbc.FRBCFillLevelTargetProfile:
    element = frbc.FRBCFillLevelTargetProfileElement(duration=duration, fill_level_range=number_range(low, high))
    return frbc.FRBCFillLevelTargetProfile(message_id=mid(), start_time=T0, elements=[element])


def frbc_instruction(mode: str = "on", factor: float = 0.5, actuator: str = "act1", **changes: Any) -> Any:
    fields: dict[str, Any] = {
        "message_id": mid(),
        "id": f"instr-{next(_counter)}",
        "actuator_id": actuator,
        "operation_mode": mode,
        "operation_mode_factor": factor,
        "execution_time": at(1),
        "abnormal_condition": False,
    }
    fields.update(changes)
    return frbc.FRBCInstruction(**fields)


# --- DDBC ------------------------------------------------------------------------------------


def ddbc_mode(oid: str, low: float, high: float, abnormal: bool = False, **changes: Any) -> ddbc.DDBCOperationMode:
    fields: dict[str, Any] = {
        "Id": oid,
        "power_ranges": [power_range(low, high)],
        "supply_range": number_range(0, 1),
        "abnormal_condition_only": abnormal,
    }
    fields.update(changes)
    return ddbc.DDBCOperationMode(**fields)


def ddbc_actuator(aid: str = "act1", **changes: Any) -> ddbc.DDBCActuatorDescription:
    fields: dict[str, Any] = {
        "id": aid,
        "supported_commodites": [ELECTRICITY],
        "operation_modes": [
            ddbc_mode("off", 0, 0),
            ddbc_mode("on", 1000, 2000, running_costs=number_range(0.01, 0.02)),
            ddbc_mode("boost", 2000, 4000, abnormal=True),
        ],
        "transitions": list(STATE_MACHINE_TRANSITIONS),
        "timers": list(STATE_MACHINE_TIMERS),
    }
    fields.update(changes)
    return ddbc.DDBCActuatorDescription(**fields)


def ddbc_description(**changes: Any) -> ddbc.DDBCSystemDescription:
    fields: dict[str, Any] = {
        "message_id": mid(),
        "valid_from": T0,
        "actuators": [ddbc_actuator()],
        "present_demand_rate": number_range(1, 2),
        "provides_average_demand_rate_forecast": True,
    }
    fields.update(changes)
    return ddbc.DDBCSystemDescription(**fields)


def ddbc_status(active: str = "off", factor: float = 0.0, actuator: str = "act1", **changes: Any) -> Any:
    return ddbc.DDBCActuatorStatus(
        message_id=mid(), actuator_id=actuator, active_operation_mode_id=active, operation_mode_factor=factor, **changes
    )


def ddbc_timer(timer_id: str = "min-off", finished: datetime = T0, actuator: str = "act1") -> ddbc.DDBCTimerStatus:
    return ddbc.DDBCTimerStatus(message_id=mid(), timer_id=timer_id, actuator_id=actuator, finished_at=finished)


def demand_forecast(duration: int = 15 * MINUTE, **bands: float) -> ddbc.DDBCAverageDemandRateForecast:
    element = ddbc.DDBCAverageDemandRateForecastElement(duration=duration, demand_rate_expected=1.0, **bands)
    return ddbc.DDBCAverageDemandRateForecast(message_id=mid(), start_time=T0, elements=[element])


def ddbc_instruction(mode: str = "on", factor: float = 0.5, actuator: str = "act1", **changes: Any) -> Any:
    fields: dict[str, Any] = {
        "message_id": mid(),
        "id": f"instr-{next(_counter)}",
        "execution_time": at(1),
        "abnormal_condition": False,
        "actuator_id": actuator,
        "operation_mode_id": mode,
        "operation_mode_factor": factor,
    }
    fields.update(changes)
    return ddbc.DDBCInstruction(**fields)


# --- PEBC ------------------------------------------------------------------------------------


def allowed(
    limit: PEBCPowerEnvelopeLimitType, start: float, end: float, cq: CommodityQuantity = L1, abnormal: bool = False
) -> pebc.PEBCAllowedLimitRange:
    return pebc.PEBCAllowedLimitRange(
        commodity_quantity=cq,
        limit_type=limit,
        range_boundary=number_range(start, end),
        abnormal_condition_only=abnormal,
    )


def power_constraints(cid: str = "pc1", **changes: Any) -> pebc.PEBCPowerConstraints:
    fields: dict[str, Any] = {
        "message_id": mid(),
        "id": cid,
        "valid_from": T0,
        "valid_until": at(24 * 60),
        "consequence_type": PEBCPowerEnvelopeConsequenceType.DEFER,
        "allowed_limit_ranges": [
            allowed(UPPER, 0, 5000),
            allowed(UPPER, 5000, 8000, abnormal=True),
            allowed(LOWER, -4000, 0),
        ],
    }
    fields.update(changes)
    return pebc.PEBCPowerConstraints(**fields)


def energy_constraint(cid: str = "ec1", **changes: Any) -> pebc.PEBCEnergyConstraint:
    fields: dict[str, Any] = {
        "message_id": mid(),
        "id": cid,
        "valid_from": at(120),
        "valid_until": at(180),
        "upper_average_power": 2000.0,
        "lower_average_power": 0.0,
        "commodity_quantity": L1,
    }
    fields.update(changes)
    return pebc.PEBCEnergyConstraint(**fields)


def envelope(
    eid: str = "env1",
    limits: Sequence[tuple[float, float]] = ((0, 3000),),
    cq: CommodityQuantity = L1,
    minutes: int = 60,
) -> pebc.PEBCPowerEnvelope:
    elements = [
        pebc.PEBCPowerEnvelopeElement(duration=minutes * MINUTE, lower_limit=lo, upper_limit=hi) for lo, hi in limits
    ]
    return pebc.PEBCPowerEnvelope(id=eid, commodity_quantity=cq, power_envelope_elements=elements)


def pebc_instruction(envelopes: list[pebc.PEBCPowerEnvelope] | None = None, **changes: Any) -> pebc.PEBCInstruction:
    fields: dict[str, Any] = {
        "message_id": mid(),
        "id": f"instr-{next(_counter)}",
        "execution_time": at(60),
        "abnormal_condition": False,
        "power_constraints_id": "pc1",
        "power_envelopes": envelopes or [envelope(f"env-{next(_counter)}")],
    }
    fields.update(changes)
    return pebc.PEBCInstruction(**fields)


# --- PPBC ------------------------------------------------------------------------------------


def sequence(
    sid: str, minutes: Sequence[int] = (15, 15), interruptible: bool = False, abnormal: bool = False, **changes: Any
) -> ppbc.PPBCPowerSequence:
    elements = [
        ppbc.PPBCPowerSequenceElement(duration=m * MINUTE, power_values=[forecast_value(1000.0)]) for m in minutes
    ]
    fields: dict[str, Any] = {
        "id": sid,
        "elements": elements,
        "is_interruptible": interruptible,
        "abnormal_condition_only": abnormal,
    }
    fields.update(changes)
    return ppbc.PPBCPowerSequence(**fields)


def container(cid: str, sequences: list[ppbc.PPBCPowerSequence]) -> ppbc.PPBCPowerSequenceContainer:
    return ppbc.PPBCPowerSequenceContainer(id=cid, power_sequences=sequences)


def profile(pid: str = "pp1", **changes: Any) -> ppbc.PPBCPowerProfileDefinition:
    fields: dict[str, Any] = {
        "message_id": mid(),
        "id": pid,
        "start_time": T0,
        "end_time": at(240),
        "power_sequences_containers": [
            container("c1", [sequence("s1", interruptible=True), sequence("s2", (30,), abnormal=True)]),
            container("c2", [sequence("s3", (30,), max_pause_before=10 * MINUTE)]),
        ],
    }
    fields.update(changes)
    return ppbc.PPBCPowerProfileDefinition(**fields)


def container_status(
    container_id: str = "c1",
    state: PPBCPowerSequenceStatus = PPBCPowerSequenceStatus.NOT_SCHEDULED,
    selected: str | None = None,
    progress: int | None = None,
    profile_id: str = "pp1",
) -> ppbc.PPBCPowerSequenceContainerStatus:
    return ppbc.PPBCPowerSequenceContainerStatus(
        power_profile_id=profile_id,
        sequence_container_id=container_id,
        selected_sequence_id=UNSET if selected is None else selected,
        progress=UNSET if progress is None else progress,
        status=state,
    )


def profile_status(*statuses: ppbc.PPBCPowerSequenceContainerStatus) -> ppbc.PPBCPowerProfileStatus:
    return ppbc.PPBCPowerProfileStatus(
        message_id=mid(), sequence_container_status=list(statuses or (container_status(), container_status("c2")))
    )


def ppbc_instruction(
    kind: type[Any] = ppbc.PPBCScheduleInstruction,
    container_id: str = "c1",
    sequence_id: str = "s1",
    start: datetime | None = None,
    **changes: Any,
) -> Any:
    fields: dict[str, Any] = {
        "message_id": mid(),
        "id": f"instr-{next(_counter)}",
        "power_profile_id": "pp1",
        "sequence_container_id": container_id,
        "power_sequence_id": sequence_id,
        "execution_time": start or at(10),
        "abnormal_condition": False,
    }
    fields.update(changes)
    return kind(**fields)


# --- a rule-catalogue context to feed ---------------------------------------------------------


class Session:
    """A SessionContext plus a clock: ``send`` applies a message and the peer's OK answer."""

    def __init__(self, profile: str = "0.0.2-beta") -> None:
        self.context = SessionContext(profile)
        self.now = T0

    def send(self, direction: str, message: M, answer: ReceptionStatusValues | None = ReceptionStatusValues.OK) -> M:
        """Apply ``message``, then (unless ``answer`` is None) the receiver's ReceptionStatus."""
        assert not isinstance(message, common.ReceptionStatus)
        self.context.apply(message, direction, self.now)
        if answer is not None:
            back = RM_TO_CEM if direction == CEM_TO_RM else CEM_TO_RM
            self.context.apply(reception(getattr(message, "message_id"), answer), back, self.now)  # noqa: B009
        return message

    def cem(self, message: M) -> M:
        return self.send(CEM_TO_RM, message)

    def rm(self, message: M) -> M:
        return self.send(RM_TO_CEM, message)

    def check(self, direction: str, message: S2Message) -> list[str]:
        return ids(self.context.check(message, direction, self.now))

    def handshake(self) -> Session:
        self.cem(handshake(EnergyManagementRole.CEM))
        self.rm(handshake(EnergyManagementRole.RM))
        self.cem(handshake_response())
        return self

    def ready(self, control_type: ControlType | None = None, **rmd: Any) -> Session:
        """Handshake done, details sent, and ``control_type`` selected with its basics in place."""
        self.handshake()
        self.rm(details(**rmd))
        if control_type is None:
            return self
        self.cem(select(control_type))
        if control_type is ControlType.FILL_RATE_BASED_CONTROL:
            self.rm(frbc_description())
            self.rm(frbc_status("off"))
            self.rm(storage_status(40))
        elif control_type is ControlType.OPERATION_MODE_BASED_CONTROL:
            self.rm(ombc_description())
            self.rm(ombc_status("off"))
        elif control_type is ControlType.DEMAND_DRIVEN_BASED_CONTROL:
            self.rm(ddbc_description())
            self.rm(ddbc_status("off"))
        elif control_type is ControlType.POWER_ENVELOPE_BASED_CONTROL:
            self.rm(power_constraints())
            self.rm(energy_constraint())
        elif control_type is ControlType.POWER_PROFILE_BASED_CONTROL:
            self.rm(profile())
        return self


# --- two session engines joined in memory ---------------------------------------------------

CEM = EnergyManagementRole.CEM
RM = EnergyManagementRole.RM
FRBC = ControlType.FILL_RATE_BASED_CONTROL
PEBC = ControlType.POWER_ENVELOPE_BASED_CONTROL


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

    cem: EngineSession
    rm: EngineSession
    clock: Clock = field(default_factory=Clock)
    transcript: list[tuple[str, str]] = field(default_factory=list)
    cem_events: list[Event] = field(default_factory=list)
    rm_events: list[Event] = field(default_factory=list)

    @classmethod
    def create(cls, cem: dict[str, Any] | None = None, rm: dict[str, Any] | None = None) -> Pair:
        return cls(EngineSession(CEM, **(cem or {})), EngineSession(RM, **(rm or {})))

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


# --- builders matching frbc_system_description(): actuator1 with mode om1 ------------------------


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


def actuator_status() -> FRBCActuatorStatus:
    return FRBCActuatorStatus(
        message_id=new_id(), actuator_id="actuator1", active_operation_mode_id="om1", operation_mode_factor=0.5
    )


def frbc_instruction_om1(instruction_id: str = "instruction1") -> FRBCInstruction:
    """An instruction for mode om1 of :func:`frbc_system_description`, executed at T0."""
    return FRBCInstruction(
        message_id=new_id(),
        id=instruction_id,
        actuator_id="actuator1",
        operation_mode="om1",
        operation_mode_factor=1.0,
        execution_time=T0,
        abnormal_condition=False,
    )


def energy_constraint_from_t0(constraint_id: str = "ec1") -> PEBCEnergyConstraint:
    """An energy constraint valid from T0 for four hours (the engine tests' clock starts at T0)."""
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
