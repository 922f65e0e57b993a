"""The benchmark corpus: the official example messages plus generated, realistic large ones.

Generated messages are built as s2ws model instances and encoded to bytes. Every id is a UUID4
string (s2-python refuses any other id) and every PowerRange runs low..high (s2-python refuses
start > end), so that both libraries can be timed on the same bytes. The generator is seeded:
every run times the same corpus.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import msgspec

import s2ws
from s2ws.messages import common, ddbc, frbc, ombc, pebc, ppbc
from s2ws.messages.base import S2Message
from s2ws.messages.common import NumberRange, PowerRange, Timer, Transition
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
    SessionRequestType,
)

__all__ = ["SESSION_WEIGHTS", "Entry", "count_ids", "generated", "official_examples", "session_mix", "uuid_ids"]

L1, L2, L3 = (
    CommodityQuantity.ELECTRIC_POWER_L1,
    CommodityQuantity.ELECTRIC_POWER_L2,
    CommodityQuantity.ELECTRIC_POWER_L3,
)
SYM = CommodityQuantity.ELECTRIC_POWER_3_PHASE_SYMMETRIC
QUARTER = 15 * 60 * 1000  # ms
FIVE_MIN = 5 * 60 * 1000


@dataclass(frozen=True)
class Entry:
    """One corpus message: the label it is reported under, where it comes from, its bytes."""

    label: str
    source: str
    data: bytes


class _Gen:
    """Seeded ids, times and values for the generated messages."""

    def __init__(self, seed: int = 50491) -> None:
        self.rng = random.Random(seed)
        self.t0 = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)

    def id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def at(self, minutes: float = 0) -> datetime:
        return self.t0 + timedelta(minutes=minutes)

    def watts(self, low: float, high: float) -> float:
        return round(self.rng.uniform(low, high), 1)


def _power_values(g: _Gen, expected: float, quantity: CommodityQuantity) -> common.PowerForecastValue:
    spread = abs(expected) * 0.1 + 50
    return common.PowerForecastValue(
        value_upper_95PPR=round(expected + 2 * spread, 1),
        value_upper_68PPR=round(expected + spread, 1),
        value_expected=expected,
        value_lower_68PPR=round(expected - spread, 1),
        value_lower_95PPR=round(expected - 2 * spread, 1),
        commodity_quantity=quantity,
    )


def power_forecast(g: _Gen, n: int) -> common.PowerForecast:
    """A PV-plus-load forecast on three phases: n elements of 15 (96) or 5 (288) minutes."""
    step = QUARTER if n <= 96 else FIVE_MIN
    elements = [
        common.PowerForecastElement(
            duration=step,
            power_values=[_power_values(g, g.watts(-3500, 2500), q) for q in (L1, L2, L3)],
        )
        for _ in range(n)
    ]
    return common.PowerForecast(message_id=g.id(), start_time=g.at(), elements=elements)


def usage_forecast(g: _Gen, n: int) -> frbc.FRBCUsageForecast:
    step = QUARTER if n <= 96 else FIVE_MIN
    elements = []
    for _ in range(n):
        expected = round(g.rng.uniform(0.0001, 0.004), 6)
        elements.append(
            frbc.FRBCUsageForecastElement(
                duration=step,
                usage_rate_upper_68PPR=round(expected * 1.2, 6),
                usage_rate_expected=expected,
                usage_rate_lower_68PPR=round(expected * 0.8, 6),
            )
        )
    return frbc.FRBCUsageForecast(message_id=g.id(), start_time=g.at(), elements=elements)


def frbc_system_description(g: _Gen, actuators: int = 4, modes: int = 10) -> frbc.FRBCSystemDescription:
    """A heat pump / buffer / boiler installation: ``actuators`` x ``modes`` operation modes, each
    valid in three fill-level bands with an electric and a thermal power range, with transitions and timers."""
    descriptions = []
    for a in range(actuators):
        timers = [
            Timer(id=g.id(), diagnostic_label=label, duration=duration)
            for label, duration in (("min on", 300_000), ("min off", 600_000), ("restart", 900_000))
        ]
        min_on, min_off, _ = (t.id for t in timers)
        operation_modes = []
        for m in range(modes):
            top = 1000.0 * m  # watts per phase at full rate in this mode
            elements = []
            for band in range(3):
                elements.append(
                    frbc.FRBCOperationModeElement(
                        fill_level_range=NumberRange(start_of_range=20.0 + 20 * band, end_of_range=40.0 + 20 * band),
                        fill_rate=NumberRange(
                            start_of_range=round(0.00005 * m * (1 - 0.1 * band), 6),
                            end_of_range=round(0.0001 * m * (1 - 0.1 * band), 6),
                        ),
                        power_ranges=[  # s2-python allows one range per commodity in an element
                            PowerRange(start_of_range=round(top * 0.4, 1), end_of_range=top, commodity_quantity=SYM),
                            PowerRange(
                                start_of_range=round(top * 1.2, 1),
                                end_of_range=round(top * (3.5 - 0.3 * band), 1),
                                commodity_quantity=CommodityQuantity.HEAT_THERMAL_POWER,
                            ),
                        ],
                        running_costs=NumberRange(start_of_range=0.01 * m, end_of_range=0.02 * m),
                    )
                )
            operation_modes.append(
                frbc.FRBCOperationMode(
                    id=g.id(),
                    diagnostic_label=f"stage {m}" if m else "off",
                    elements=elements,
                    abnormal_condition_only=m == modes - 1,
                )
            )
        ids = [om.id for om in operation_modes]
        pairs = [(i, i + 1) for i in range(modes - 1)] + [(i + 1, i) for i in range(modes - 1)]
        pairs += [(i, 0) for i in range(2, modes)]  # switch off from any stage
        transitions = [
            Transition(
                id=g.id(),
                from_=ids[i],
                to=ids[j],
                start_timers=[min_off] if j == 0 else [min_on],
                blocking_timers=[min_on] if j == 0 else [min_off] if i == 0 else [],
                transition_costs=0.05,
                transition_duration=30_000,
                abnormal_condition_only=False,
            )
            for i, j in pairs
        ]
        descriptions.append(
            frbc.FRBCActuatorDescription(
                id=g.id(),
                diagnostic_label=f"heat pump stage group {a}",
                supported_commodities=[Commodity.ELECTRICITY, Commodity.HEAT],
                operation_modes=operation_modes,
                transitions=transitions,
                timers=timers,
            )
        )
    storage = frbc.FRBCStorageDescription(
        diagnostic_label="buffer tank",
        fill_level_label="°C",
        provides_leakage_behaviour=True,
        provides_fill_level_target_profile=True,
        provides_usage_forecast=True,
        fill_level_range=NumberRange(start_of_range=20.0, end_of_range=80.0),
    )
    return frbc.FRBCSystemDescription(message_id=g.id(), valid_from=g.at(), actuators=descriptions, storage=storage)


def ombc_system_description(g: _Gen, modes: int = 8) -> ombc.OMBCSystemDescription:
    timers = [Timer(id=g.id(), diagnostic_label="min run", duration=600_000)]
    operation_modes = [
        ombc.OMBCOperationMode(
            id=g.id(),
            diagnostic_label=f"mode {m}",
            power_ranges=[PowerRange(start_of_range=500.0 * m, end_of_range=800.0 * m, commodity_quantity=SYM)],
            running_costs=NumberRange(start_of_range=0.0, end_of_range=0.1 * m),
            abnormal_condition_only=False,
        )
        for m in range(modes)
    ]
    ids = [om.id for om in operation_modes]
    transitions = [
        Transition(
            id=g.id(),
            from_=ids[i],
            to=ids[j],
            start_timers=[timers[0].id],
            blocking_timers=[timers[0].id],
            transition_duration=10_000,
            abnormal_condition_only=False,
        )
        for i in range(modes)
        for j in range(modes)
        if abs(i - j) == 1
    ]
    return ombc.OMBCSystemDescription(
        message_id=g.id(), valid_from=g.at(), operation_modes=operation_modes, transitions=transitions, timers=timers
    )


def ppbc_power_profile_definition(
    g: _Gen, containers: int = 3, sequences: int = 2, n: int = 16
) -> ppbc.PPBCPowerProfileDefinition:
    return ppbc.PPBCPowerProfileDefinition(
        message_id=g.id(),
        id=g.id(),
        start_time=g.at(),
        end_time=g.at(24 * 60),
        power_sequences_containers=[
            ppbc.PPBCPowerSequenceContainer(
                id=g.id(),
                power_sequences=[
                    ppbc.PPBCPowerSequence(
                        id=g.id(),
                        elements=[
                            ppbc.PPBCPowerSequenceElement(
                                duration=FIVE_MIN, power_values=[_power_values(g, g.watts(200, 2200), SYM)]
                            )
                            for _ in range(n)
                        ],
                        is_interruptible=s == 0,
                        max_pause_before=3_600_000,
                        abnormal_condition_only=False,
                    )
                    for s in range(sequences)
                ],
            )
            for _ in range(containers)
        ],
    )


def ddbc_system_description(g: _Gen) -> ddbc.DDBCSystemDescription:
    actuators = [
        ddbc.DDBCActuatorDescription(
            id=g.id(),
            diagnostic_label=f"compressor {a}",
            supported_commodites=[Commodity.ELECTRICITY],
            operation_modes=[
                ddbc.DDBCOperationMode(
                    Id=g.id(),
                    diagnostic_label=f"speed {m}",
                    power_ranges=[PowerRange(start_of_range=400.0 * m, end_of_range=600.0 * m, commodity_quantity=SYM)],
                    supply_range=NumberRange(start_of_range=0.2 * m, end_of_range=0.3 * m),
                    abnormal_condition_only=False,
                )
                for m in range(1, 6)
            ],
            transitions=[],
            timers=[],
        )
        for a in range(2)
    ]
    return ddbc.DDBCSystemDescription(
        message_id=g.id(),
        valid_from=g.at(),
        actuators=actuators,
        present_demand_rate=NumberRange(start_of_range=0.5, end_of_range=0.7),
        provides_average_demand_rate_forecast=True,
    )


_PPBCInstruction = (
    ppbc.PPBCScheduleInstruction | ppbc.PPBCStartInterruptionInstruction | ppbc.PPBCEndInterruptionInstruction
)


def _ppbc_instruction(g: _Gen, cls: type[_PPBCInstruction]) -> _PPBCInstruction:
    return cls(
        message_id=g.id(),
        id=g.id(),
        power_profile_id=g.id(),
        sequence_container_id=g.id(),
        power_sequence_id=g.id(),
        execution_time=g.at(30),
        abnormal_condition=False,
    )


def _builders(g: _Gen) -> Iterator[tuple[str, Callable[[], S2Message]]]:
    """(label, builder) for every generated message; labels name the size where it matters."""
    yield (
        "Handshake",
        lambda: common.Handshake(
            message_id=g.id(), role=EnergyManagementRole.CEM, supported_protocol_versions=["0.0.2-beta", "1.0.0"]
        ),
    )
    yield (
        "HandshakeResponse",
        lambda: common.HandshakeResponse(message_id=g.id(), selected_protocol_version="0.0.2-beta"),
    )
    yield "ReceptionStatus", lambda: common.ReceptionStatus(subject_message_id=g.id(), status=ReceptionStatusValues.OK)
    yield (
        "ResourceManagerDetails",
        lambda: common.ResourceManagerDetails(
            message_id=g.id(),
            resource_id=g.id(),
            name="Heat pump",
            roles=[
                common.Role(role=RoleType.ENERGY_CONSUMER, commodity=Commodity.ELECTRICITY),
                common.Role(role=RoleType.ENERGY_STORAGE, commodity=Commodity.HEAT),
            ],
            manufacturer="ACME",
            model="HP-9000",
            serial_number="SN-0001",
            firmware_version="1.2.3",
            instruction_processing_delay=500,
            available_control_types=[ControlType.FILL_RATE_BASED_CONTROL, ControlType.NOT_CONTROLABLE],
            provides_forecast=True,
            provides_power_measurement_types=[L1, L2, L3],
        ),
    )
    yield (
        "SelectControlType",
        lambda: common.SelectControlType(message_id=g.id(), control_type=ControlType.FILL_RATE_BASED_CONTROL),
    )
    yield (
        "PowerMeasurement",
        lambda: common.PowerMeasurement(
            message_id=g.id(),
            measurement_timestamp=g.at(1),
            values=[common.PowerValue(commodity_quantity=q, value=g.watts(-4000, 4000)) for q in (L1, L2, L3)],
        ),
    )
    yield "PowerForecast (96 x 15 min, 3 phases)", lambda: power_forecast(g, 96)
    yield "PowerForecast (288 x 5 min, 3 phases)", lambda: power_forecast(g, 288)
    yield (
        "InstructionStatusUpdate",
        lambda: common.InstructionStatusUpdate(
            message_id=g.id(), instruction_id=g.id(), status_type=InstructionStatus.STARTED, timestamp=g.at(2)
        ),
    )
    yield (
        "RevokeObject",
        lambda: common.RevokeObject(message_id=g.id(), object_type=RevokableObjects.FRBC_Instruction, object_id=g.id()),
    )
    yield "SessionRequest", lambda: common.SessionRequest(message_id=g.id(), request=SessionRequestType.RECONNECT)
    # FRBC
    yield "FRBC.SystemDescription (large: 4 actuators x 10 modes)", lambda: frbc_system_description(g)
    yield (
        "FRBC.ActuatorStatus",
        lambda: frbc.FRBCActuatorStatus(
            message_id=g.id(),
            actuator_id=g.id(),
            active_operation_mode_id=g.id(),
            operation_mode_factor=0.35,
            previous_operation_mode_id=g.id(),
            transition_timestamp=g.at(-5),
        ),
    )
    yield "FRBC.StorageStatus", lambda: frbc.FRBCStorageStatus(message_id=g.id(), present_fill_level=47.25)
    yield (
        "FRBC.LeakageBehaviour",
        lambda: frbc.FRBCLeakageBehaviour(
            message_id=g.id(),
            valid_from=g.at(),
            elements=[
                frbc.FRBCLeakageBehaviourElement(
                    fill_level_range=NumberRange(start_of_range=20.0 + 6 * i, end_of_range=26.0 + 6 * i),
                    leakage_rate=round(0.00001 * (i + 1), 6),
                )
                for i in range(10)
            ],
        ),
    )
    yield "FRBC.UsageForecast (96 x 15 min)", lambda: usage_forecast(g, 96)
    yield "FRBC.UsageForecast (288 x 5 min)", lambda: usage_forecast(g, 288)
    yield (
        "FRBC.FillLevelTargetProfile (96 x 15 min)",
        lambda: frbc.FRBCFillLevelTargetProfile(
            message_id=g.id(),
            start_time=g.at(),
            elements=[
                frbc.FRBCFillLevelTargetProfileElement(
                    duration=QUARTER, fill_level_range=NumberRange(start_of_range=40.0 + i % 8, end_of_range=60.0)
                )
                for i in range(96)
            ],
        ),
    )
    yield (
        "FRBC.TimerStatus",
        lambda: frbc.FRBCTimerStatus(message_id=g.id(), timer_id=g.id(), actuator_id=g.id(), finished_at=g.at(10)),
    )
    yield (
        "FRBC.Instruction",
        lambda: frbc.FRBCInstruction(
            message_id=g.id(),
            id=g.id(),
            actuator_id=g.id(),
            operation_mode=g.id(),
            operation_mode_factor=0.8,
            execution_time=g.at(15),
            abnormal_condition=False,
        ),
    )
    # PEBC
    yield (
        "PEBC.PowerConstraints",
        lambda: pebc.PEBCPowerConstraints(
            message_id=g.id(),
            id=g.id(),
            valid_from=g.at(),
            valid_until=g.at(24 * 60),
            consequence_type=PEBCPowerEnvelopeConsequenceType.VANISH,
            allowed_limit_ranges=[
                pebc.PEBCAllowedLimitRange(
                    commodity_quantity=q,
                    limit_type=kind,
                    range_boundary=NumberRange(start_of_range=-5000.0, end_of_range=0.0),
                    abnormal_condition_only=False,
                )
                for q in (L1, L2, L3)
                for kind in (PEBCPowerEnvelopeLimitType.UPPER_LIMIT, PEBCPowerEnvelopeLimitType.LOWER_LIMIT)
            ],
        ),
    )
    yield (
        "PEBC.EnergyConstraint",
        lambda: pebc.PEBCEnergyConstraint(
            message_id=g.id(),
            id=g.id(),
            valid_from=g.at(),
            valid_until=g.at(60),
            upper_average_power=0.0,
            lower_average_power=-3000.0,
            commodity_quantity=SYM,
        ),
    )
    yield (
        "PEBC.Instruction (2 envelopes x 96)",
        lambda: pebc.PEBCInstruction(
            message_id=g.id(),
            id=g.id(),
            execution_time=g.at(),
            abnormal_condition=False,
            power_constraints_id=g.id(),
            power_envelopes=[
                pebc.PEBCPowerEnvelope(
                    id=g.id(),
                    commodity_quantity=q,
                    power_envelope_elements=[
                        pebc.PEBCPowerEnvelopeElement(
                            duration=QUARTER, upper_limit=0.0, lower_limit=g.watts(-5000, -1000)
                        )
                        for _ in range(96)
                    ],
                )
                for q in (L1, L2)
            ],
        ),
    )
    # PPBC
    yield "PPBC.PowerProfileDefinition (3 x 2 x 16)", lambda: ppbc_power_profile_definition(g)
    yield (
        "PPBC.PowerProfileStatus",
        lambda: ppbc.PPBCPowerProfileStatus(
            message_id=g.id(),
            sequence_container_status=[
                ppbc.PPBCPowerSequenceContainerStatus(
                    power_profile_id=g.id(),
                    sequence_container_id=g.id(),
                    selected_sequence_id=g.id(),
                    status=PPBCPowerSequenceStatus.SCHEDULED,
                )
                for _ in range(3)
            ],
        ),
    )
    yield (
        "PPBC.PowerProfileStatus (with progress)",
        lambda: ppbc.PPBCPowerProfileStatus(
            message_id=g.id(),
            sequence_container_status=[
                ppbc.PPBCPowerSequenceContainerStatus(
                    power_profile_id=g.id(),
                    sequence_container_id=g.id(),
                    selected_sequence_id=g.id(),
                    progress=120_000,
                    status=PPBCPowerSequenceStatus.EXECUTING,
                )
            ],
        ),
    )
    for name, cls in (
        ("PPBC.ScheduleInstruction", ppbc.PPBCScheduleInstruction),
        ("PPBC.StartInterruptionInstruction", ppbc.PPBCStartInterruptionInstruction),
        ("PPBC.EndInterruptionInstruction", ppbc.PPBCEndInterruptionInstruction),
    ):
        yield name, partial(_ppbc_instruction, g, cls)
    # OMBC
    yield "OMBC.SystemDescription (8 modes)", lambda: ombc_system_description(g)
    yield (
        "OMBC.Status",
        lambda: ombc.OMBCStatus(message_id=g.id(), active_operation_mode_id=g.id(), operation_mode_factor=1.0),
    )
    yield "OMBC.TimerStatus", lambda: ombc.OMBCTimerStatus(message_id=g.id(), timer_id=g.id(), finished_at=g.at(5))
    yield (
        "OMBC.Instruction",
        lambda: ombc.OMBCInstruction(
            message_id=g.id(),
            id=g.id(),
            execution_time=g.at(5),
            operation_mode_id=g.id(),
            operation_mode_factor=0.5,
            abnormal_condition=False,
        ),
    )
    # DDBC
    yield "DDBC.SystemDescription", lambda: ddbc_system_description(g)
    yield (
        "DDBC.ActuatorStatus",
        lambda: ddbc.DDBCActuatorStatus(
            message_id=g.id(), actuator_id=g.id(), active_operation_mode_id=g.id(), operation_mode_factor=0.6
        ),
    )
    yield (
        "DDBC.AverageDemandRateForecast (96 x 15 min)",
        lambda: ddbc.DDBCAverageDemandRateForecast(
            message_id=g.id(),
            start_time=g.at(),
            elements=[
                ddbc.DDBCAverageDemandRateForecastElement(
                    duration=QUARTER, demand_rate_expected=round(g.rng.uniform(0.1, 0.9), 4)
                )
                for _ in range(96)
            ],
        ),
    )
    yield (
        "DDBC.TimerStatus",
        lambda: ddbc.DDBCTimerStatus(message_id=g.id(), timer_id=g.id(), actuator_id=g.id(), finished_at=g.at(3)),
    )
    yield (
        "DDBC.Instruction",
        lambda: ddbc.DDBCInstruction(
            message_id=g.id(),
            id=g.id(),
            execution_time=g.at(1),
            abnormal_condition=False,
            actuator_id=g.id(),
            operation_mode_id=g.id(),
            operation_mode_factor=0.75,
        ),
    )


def generated(seed: int = 50491) -> list[Entry]:
    """The generated messages, encoded by s2ws (every one schema-checked on the way)."""
    g = _Gen(seed)
    return [Entry(label, "generated", s2ws.encode_checked(build())) for label, build in _builders(g)]


SESSION_WEIGHTS: dict[str, int] = {
    "PowerMeasurement": 40,
    "ReceptionStatus": 25,
    "FRBC.StorageStatus": 10,
    "FRBC.ActuatorStatus": 10,
    "FRBC.Instruction": 5,
    "FRBC.UsageForecast (96 x 15 min)": 3,
    "PowerForecast (96 x 15 min, 3 phases)": 3,
    "InstructionStatusUpdate": 2,
    "FRBC.SystemDescription (large: 4 actuators x 10 modes)": 2,
}
"""What a CEM decodes from an FRBC session, per 100 messages: mostly measurements, statuses and
acknowledgements, now and then a forecast, rarely a new system description."""


def session_mix(seed: int = 20261207) -> list[Entry]:
    """100 messages weighted as :data:`SESSION_WEIGHTS`, each built afresh (its own ids and values)."""
    g = _Gen(seed)
    builders = dict(_builders(g))
    return [
        Entry(label, "session", s2ws.encode_checked(builders[label]()))
        for label, weight in SESSION_WEIGHTS.items()
        for _ in range(weight)
    ]


def official_examples(directory: Path) -> list[Entry]:
    """Every official example message (fragments, which are not messages, are skipped)."""
    entries = []
    for path in sorted(directory.glob("*.json")):
        if "-fragment-" in path.name:
            continue
        data = msgspec.json.encode(msgspec.json.decode(path.read_bytes()))  # compact, as on the wire
        doc = msgspec.json.decode(data)
        entries.append(Entry(str(doc["message_type"]), path.name, data))
    return entries


_ID_KEYS = frozenset({"message_id", "id", "Id", "from", "to", "operation_mode", "start_timers", "blocking_timers"})


def _map_ids(node: Any, new: Callable[[str], str]) -> Any:
    """A copy of a JSON document with ``new`` applied to every id (every value the schema types as an ID)."""
    if isinstance(node, list):
        return [_map_ids(x, new) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _ID_KEYS or key.endswith("_id"):
            out[key] = [new(v) for v in value] if isinstance(value, list) else new(value)
        else:
            out[key] = _map_ids(value, new)
    return out


def uuid_ids(entry: Entry, seed: int = 12) -> Entry:
    """The same message with every id replaced by a UUID4 (consistently: equal ids stay equal)."""
    rng = random.Random(f"{seed}:{entry.source}")
    mapping: dict[str, str] = {}

    def new(value: str) -> str:
        if value not in mapping:
            mapping[value] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        return mapping[value]

    data = msgspec.json.encode(_map_ids(msgspec.json.decode(entry.data), new))
    return Entry(entry.label, f"{entry.source} (ids as UUID4)", data)


def count_ids(data: bytes) -> int:
    """How many ids a message holds (each one is checked on decode: its length by msgspec, its characters by s2ws)."""
    seen: list[str] = []

    def note(value: str) -> str:
        seen.append(value)
        return value

    _map_ids(msgspec.json.decode(data), note)
    return len(seen)
