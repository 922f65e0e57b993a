"""The numbered rule catalogue: every semantic rule s2ws checks, with a stable id.

Ids never change meaning once published: a rule that is dropped leaves a gap. Severity is
"error" where the standard states the requirement plainly and "warning" where it is
ambiguous, silent or contradicts itself; a warning never refuses traffic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from ..findings import Finding, Severity
from ..messages.states import PHASE_RULES

__all__ = ["CATALOGUE", "Finding", "Rule", "RuleFinding", "Severity", "finding"]


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: what it demands, how bad a breach is, and which fields it reads."""

    id: str
    severity: Severity
    needs_context: bool
    """True when judging it needs earlier messages of the session (a SessionContext)."""
    statement: str
    fields: tuple[str, ...]
    rejectable: bool = False
    """A flexibility rule: a receiver may answer OK and then report the instruction REJECTED
    instead of answering INVALID_CONTENT (both readings exist; replay accepts either)."""
    deep: bool = False
    """Judges every value of a long series, which costs more than decoding it: run by
    ``check_deep`` (validate, replay, SessionContext), not by the receive-path ``check_message``."""

    @property
    def area(self) -> str:
        return self.id.split("-")[1]


RuleFinding = Finding
"""The name the rule layer used for :class:`~s2ws.findings.Finding` (the same class)."""


E: Final = "error"
W: Final = "warning"
_RULES: list[Rule] = []


def _rule(
    rule_id: str,
    severity: Severity,
    ctx: bool,
    statement: str,
    *fields: str,
    rejectable: bool = False,
    deep: bool = False,
) -> None:
    _RULES.append(Rule(rule_id, severity, ctx, statement, fields, rejectable, deep))


# --- decoding (enforced by the codec; listed so every finding has an id) ---------------------
_rule(
    "S2-SCHEMA-001",
    E,
    False,
    "A frame is one JSON object with a usable message_id; anything else is INVALID_DATA.",
    "message_id",
)
_rule(
    "S2-SCHEMA-002",
    E,
    False,
    "A message matches the schema of its message_type (known type, fields, types, bounds, enumerations, "
    "anchored ID pattern, timestamps with an offset); anything else is INVALID_MESSAGE.",
    "message_type",
)

# --- session ---------------------------------------------------------------------------------
for _id, _text in PHASE_RULES.items():
    _rule(_id, E, True, _text, "message_type")
_rule(
    "S2-SESSION-006",
    E,
    True,
    "A sender does not reuse a message_id within a session for a different message (an identical resend is "
    "tolerated; checked against the last 256 ids per direction).",
    "*.message_id",
)
_rule(
    "S2-SESSION-007",
    E,
    True,
    "SelectControlType names NO_SELECTION or a control type the RM offered in its latest ResourceManagerDetails.",
    "SelectControlType.control_type",
    "ResourceManagerDetails.available_control_types",
)
_rule(
    "S2-SESSION-008",
    W,
    True,
    "SelectControlType comes after the RM described itself with ResourceManagerDetails.",
    "SelectControlType.control_type",
)

# --- handshake -------------------------------------------------------------------------------
_rule(
    "S2-HANDSHAKE-001",
    E,
    False,
    "The RM's Handshake lists the protocol versions it supports.",
    "Handshake.supported_protocol_versions",
)
_rule(
    "S2-HANDSHAKE-002",
    W,
    False,
    "A Handshake lists each protocol version once.",
    "Handshake.supported_protocol_versions",
)
_rule("S2-HANDSHAKE-003", E, True, "A Handshake's role is the role of the side that sends it.", "Handshake.role")
_rule(
    "S2-HANDSHAKE-004",
    E,
    True,
    "HandshakeResponse selects a version the RM offered, and one the CEM offered when the CEM listed any.",
    "HandshakeResponse.selected_protocol_version",
    "Handshake.supported_protocol_versions",
)
_rule(
    "S2-HANDSHAKE-005",
    W,
    True,
    "The CEM sends HandshakeResponse after it received the RM's Handshake.",
    "HandshakeResponse.selected_protocol_version",
)

# --- resource manager details ----------------------------------------------------------------
_rule(
    "S2-RMD-001",
    W,
    False,
    "available_control_types names each control type once.",
    "ResourceManagerDetails.available_control_types",
)
_rule(
    "S2-RMD-002",
    W,
    False,
    "provides_power_measurement_types names each commodity quantity once.",
    "ResourceManagerDetails.provides_power_measurement_types",
)
_rule("S2-RMD-003", W, False, "roles names each (role, commodity) pair once.", "ResourceManagerDetails.roles")
_rule(
    "S2-RMD-004",
    W,
    False,
    "NO_SELECTION is not offered as a control type: it means that none is active.",
    "ResourceManagerDetails.available_control_types",
)
_rule(
    "S2-RMD-005",
    W,
    False,
    "NOT_CONTROLABLE is not offered together with a control type that does control.",
    "ResourceManagerDetails.available_control_types",
)
_rule(
    "S2-RMD-006",
    E,
    True,
    "Once an RM publishes cost information, its ResourceManagerDetails names the currency.",
    "ResourceManagerDetails.currency",
    "*.running_costs",
    "Transition.transition_costs",
)

# --- measurements and forecasts --------------------------------------------------------------
_rule(
    "S2-MEAS-001",
    E,
    False,
    "A PowerMeasurement holds at most one value per commodity quantity.",
    "PowerMeasurement.values",
)
_rule(
    "S2-MEAS-002",
    W,
    True,
    "A PowerMeasurement only reports quantities the RM announced it can measure.",
    "PowerMeasurement.values",
    "ResourceManagerDetails.provides_power_measurement_types",
)
_rule(
    "S2-FCST-001",
    E,
    False,
    "A PowerForecast element holds at most one value per commodity quantity.",
    "PowerForecast.elements.power_values",
)
_rule(
    "S2-FCST-002",
    W,
    True,
    "PowerForecast is sent only by an RM that announced provides_forecast.",
    "PowerForecast",
    "ResourceManagerDetails.provides_forecast",
)

# --- shared object rules ---------------------------------------------------------------------
_rule(
    "S2-COMMON-001",
    W,
    False,
    "Uncertainty bands nest around the expected value: lower limit <= lower 95% <= lower 68% <= expected "
    "<= upper 68% <= upper 95% <= upper limit (absent bands are skipped).",
    "PowerForecastValue",
    "PPBC.PowerSequenceElement.power_values",
    "FRBC.UsageForecastElement",
    "DDBC.AverageDemandRateForecastElement",
    deep=True,
)
_rule(
    "S2-COMMON-002",
    W,
    False,
    "Elements of a time series last longer than zero milliseconds.",
    "PowerForecastElement.duration",
    "FRBC.UsageForecastElement.duration",
    "FRBC.FillLevelTargetProfileElement.duration",
    "DDBC.AverageDemandRateForecastElement.duration",
    "PEBC.PowerEnvelopeElement.duration",
    "PPBC.PowerSequenceElement.duration",
)
_rule(
    "S2-COMMON-003",
    W,
    False,
    "An uncertainty range of running costs starts at or below its end.",
    "OMBC.OperationMode.running_costs",
    "FRBC.OperationModeElement.running_costs",
    "DDBC.OperationMode.running_costs",
)
_rule(
    "S2-COMMON-004",
    W,
    False,
    "A transition leads to another operation mode (changing only the factor needs no transition).",
    "Transition.from",
    "Transition.to",
)
_rule(
    "S2-COMMON-005",
    W,
    False,
    "A transition names each start or blocking timer once.",
    "Transition.start_timers",
    "Transition.blocking_timers",
)

# --- ids that must be unique for the whole session -------------------------------------------
_rule(
    "S2-ID-001",
    E,
    True,
    "An instruction id is used for one instruction only during the session.",
    "*.Instruction.id",
    "PPBC.*Instruction.id",
)
_rule(
    "S2-ID-002",
    E,
    True,
    "Ids of PEBC.PowerConstraints, PEBC.EnergyConstraint and PPBC.PowerProfileDefinition are used for one "
    "object only during the session.",
    "PEBC.PowerConstraints.id",
    "PEBC.EnergyConstraint.id",
    "PPBC.PowerProfileDefinition.id",
)
_rule(
    "S2-ID-003",
    E,
    True,
    "A power envelope id is used for one envelope only during the session.",
    "PEBC.PowerEnvelope.id",
)

# --- PEBC ------------------------------------------------------------------------------------
_rule(
    "S2-PEBC-001",
    E,
    False,
    "PowerConstraints do not end (valid_until) before they start (valid_from).",
    "PEBC.PowerConstraints.valid_from",
    "PEBC.PowerConstraints.valid_until",
)
_rule(
    "S2-PEBC-002",
    E,
    False,
    "PowerConstraints hold at least one UPPER_LIMIT and one LOWER_LIMIT range.",
    "PEBC.PowerConstraints.allowed_limit_ranges",
)
_rule(
    "S2-PEBC-003",
    W,
    False,
    "Every commodity quantity with allowed ranges has ranges for both limit types, so an envelope for it can be built.",
    "PEBC.AllowedLimitRange.commodity_quantity",
    "PEBC.AllowedLimitRange.limit_type",
)
_rule(
    "S2-PEBC-004",
    E,
    False,
    "An allowed limit range starts at or below its end.",
    "PEBC.AllowedLimitRange.range_boundary",
)
_rule(
    "S2-PEBC-005",
    E,
    False,
    "An EnergyConstraint's lower_average_power is at most its upper_average_power.",
    "PEBC.EnergyConstraint.lower_average_power",
    "PEBC.EnergyConstraint.upper_average_power",
)
_rule(
    "S2-PEBC-006",
    E,
    False,
    "An EnergyConstraint's window ends after it starts.",
    "PEBC.EnergyConstraint.valid_from",
    "PEBC.EnergyConstraint.valid_until",
)
_rule(
    "S2-PEBC-007",
    E,
    False,
    "A PEBC.Instruction holds at most one power envelope per commodity quantity.",
    "PEBC.Instruction.power_envelopes",
)
_rule(
    "S2-PEBC-008",
    E,
    False,
    "In every envelope element the lower limit is at most the upper limit.",
    "PEBC.PowerEnvelopeElement.lower_limit",
    "PEBC.PowerEnvelopeElement.upper_limit",
)
_rule("S2-PEBC-009", E, False, "Envelope ids within one PEBC.Instruction differ.", "PEBC.PowerEnvelope.id")
_rule(
    "S2-PEBC-010",
    E,
    True,
    "power_constraints_id names PowerConstraints the RM sent and did not revoke.",
    "PEBC.Instruction.power_constraints_id",
)
_rule(
    "S2-PEBC-011",
    E,
    True,
    "The referenced PowerConstraints are valid when the envelope takes effect.",
    "PEBC.Instruction.execution_time",
    "PEBC.PowerConstraints.valid_from",
    "PEBC.PowerConstraints.valid_until",
    rejectable=True,
)
_rule(
    "S2-PEBC-012",
    E,
    True,
    "An envelope's commodity quantity has allowed ranges in the referenced constraints.",
    "PEBC.PowerEnvelope.commodity_quantity",
    rejectable=True,
)
_rule(
    "S2-PEBC-013",
    E,
    True,
    "Every upper limit lies inside an UPPER_LIMIT range of its commodity quantity.",
    "PEBC.PowerEnvelopeElement.upper_limit",
    rejectable=True,
)
_rule(
    "S2-PEBC-014",
    E,
    True,
    "Every lower limit lies inside a LOWER_LIMIT range of its commodity quantity.",
    "PEBC.PowerEnvelopeElement.lower_limit",
    rejectable=True,
)
_rule(
    "S2-PEBC-015",
    E,
    True,
    "A limit that only an abnormal-condition range allows needs abnormal_condition.",
    "PEBC.Instruction.abnormal_condition",
    "PEBC.AllowedLimitRange.abnormal_condition_only",
    rejectable=True,
)
_rule(
    "S2-PEBC-016",
    E,
    True,
    "An envelope spanning an EnergyConstraint's whole window leaves room for its energy: the integral of the "
    "upper limit reaches upper_average_power x window when that is positive, the integral of the lower limit "
    "reaches lower_average_power x window when that is negative.",
    "PEBC.PowerEnvelope",
    "PEBC.EnergyConstraint.upper_average_power",
    "PEBC.EnergyConstraint.lower_average_power",
    rejectable=True,
)
_rule(
    "S2-PEBC-017",
    W,
    True,
    "An envelope does not run past the valid_until of its PowerConstraints.",
    "PEBC.PowerEnvelope.power_envelope_elements",
    "PEBC.PowerConstraints.valid_until",
)

# --- PPBC ------------------------------------------------------------------------------------
_rule(
    "S2-PPBC-001",
    E,
    False,
    "A PowerProfileDefinition's start_time is before its end_time.",
    "PPBC.PowerProfileDefinition.start_time",
    "PPBC.PowerProfileDefinition.end_time",
)
_rule(
    "S2-PPBC-002", E, False, "Container ids within one PowerProfileDefinition differ.", "PPBC.PowerSequenceContainer.id"
)
_rule("S2-PPBC-003", E, False, "Sequence ids within one container differ.", "PPBC.PowerSequence.id")
_rule(
    "S2-PPBC-004",
    W,
    False,
    "A power sequence element holds at most one value per commodity quantity.",
    "PPBC.PowerSequenceElement.power_values",
)
_rule(
    "S2-PPBC-005",
    W,
    False,
    "The shortest choice of one sequence per container fits between start_time and end_time.",
    "PPBC.PowerProfileDefinition.start_time",
    "PPBC.PowerProfileDefinition.end_time",
    "PPBC.PowerSequenceElement.duration",
)
_rule(
    "S2-PPBC-006",
    E,
    False,
    "A container status that says its sequence started (EXECUTING, INTERRUPTED, FINISHED) gives its progress.",
    "PPBC.PowerSequenceContainerStatus.progress",
)
_rule(
    "S2-PPBC-007",
    E,
    False,
    "A container status other than NOT_SCHEDULED names the selected sequence.",
    "PPBC.PowerSequenceContainerStatus.selected_sequence_id",
)
_rule(
    "S2-PPBC-008",
    W,
    False,
    "A PowerProfileStatus reports each container once.",
    "PPBC.PowerProfileStatus.sequence_container_status",
)
_rule(
    "S2-PPBC-009",
    E,
    True,
    "A container status names a known profile, one of its containers and, when selected, a sequence of that container.",
    "PPBC.PowerSequenceContainerStatus",
)
_rule(
    "S2-PPBC-010",
    W,
    True,
    "A PowerProfileStatus covers every container of the profiles it reports on.",
    "PPBC.PowerProfileStatus.sequence_container_status",
)
_rule(
    "S2-PPBC-011",
    E,
    True,
    "A PPBC instruction names a PowerProfileDefinition the RM sent and did not revoke.",
    "PPBC.*Instruction.power_profile_id",
)
_rule(
    "S2-PPBC-012",
    E,
    True,
    "A PPBC instruction names a container of that profile and a sequence of that container.",
    "PPBC.*Instruction.sequence_container_id",
    "PPBC.*Instruction.power_sequence_id",
)
_rule(
    "S2-PPBC-013",
    E,
    True,
    "A sequence marked abnormal_condition_only is scheduled only under abnormal_condition.",
    "PPBC.ScheduleInstruction.abnormal_condition",
    "PPBC.PowerSequence.abnormal_condition_only",
    rejectable=True,
)
_rule(
    "S2-PPBC-014",
    E,
    True,
    "A scheduled sequence starts no earlier than start_time and ends no later than end_time of its profile.",
    "PPBC.ScheduleInstruction.execution_time",
    rejectable=True,
)
_rule(
    "S2-PPBC-015",
    E,
    True,
    "Containers run in their given order: a sequence starts after the scheduled "
    "sequence of the previous container ends.",
    "PPBC.ScheduleInstruction.execution_time",
    rejectable=True,
)
_rule(
    "S2-PPBC-016",
    E,
    True,
    "The pause between the previous container's sequence and this one is at most its max_pause_before.",
    "PPBC.ScheduleInstruction.execution_time",
    "PPBC.PowerSequence.max_pause_before",
    rejectable=True,
)
_rule(
    "S2-PPBC-017",
    E,
    True,
    "Only a sequence marked is_interruptible is interrupted.",
    "PPBC.StartInterruptionInstruction.power_sequence_id",
    "PPBC.PowerSequence.is_interruptible",
    rejectable=True,
)
_rule(
    "S2-PPBC-018",
    E,
    True,
    "An interruption starts only for the sequence that is scheduled or executing in its "
    "container and not already interrupted.",
    "PPBC.StartInterruptionInstruction",
    rejectable=True,
)
_rule(
    "S2-PPBC-019",
    E,
    True,
    "An interruption ends only for a sequence that is interrupted.",
    "PPBC.EndInterruptionInstruction",
    rejectable=True,
)
_rule(
    "S2-PPBC-020",
    W,
    True,
    "A container is scheduled once; to change the choice, the earlier ScheduleInstruction is revoked first.",
    "PPBC.ScheduleInstruction.sequence_container_id",
)


# --- operation-mode machinery, once per control type -----------------------------------------
OM_RULE_IDS: Final[dict[str, dict[str, str]]] = {}
"""area -> rule key -> id, so the checks name rules by meaning rather than by number."""

_OM_NUMBERS: Final[dict[str, dict[str, int]]] = {
    "OMBC": {
        "om_unique": 1,
        "transition_unique": 2,
        "timer_unique": 3,
        "transition_oms": 4,
        "transition_timers": 5,
        "range_per_cq": 6,
        "status_factor": 7,
        "instruction_factor": 8,
        "previous_same": 9,
        "previous_pair": 10,
        "status_refs": 11,
        "timer_refs": 12,
        "instr_om": 13,
        "transition_exists": 14,
        "transition_blocked": 15,
        "abnormal": 16,
        "status_change": 17,
    },
    "FRBC": {
        "actuator_unique": 1,
        "om_unique": 2,
        "transition_unique": 3,
        "timer_unique": 4,
        "transition_oms": 5,
        "transition_timers": 6,
        "range_per_cq": 7,
        "range_commodity": 8,
        "commodities_unique": 9,
        "element_range": 10,
        "elements_contiguous": 11,
        "elements_cover": 12,
        "storage_range": 13,
        "leakage_range": 14,
        "leakage_contiguous": 15,
        "target_range": 16,
        "status_factor": 17,
        "instruction_factor": 18,
        "previous_same": 19,
        "previous_pair": 20,
        "status_refs": 21,
        "timer_refs": 22,
        "instr_actuator": 23,
        "instr_om": 24,
        "transition_exists": 25,
        "transition_blocked": 26,
        "abnormal": 27,
        "fill_level": 28,
        "leakage_flag": 29,
        "usage_flag": 30,
        "target_flag": 31,
        "storage_level": 32,
        "status_change": 33,
    },
    "DDBC": {
        "actuator_unique": 1,
        "om_unique": 2,
        "transition_unique": 3,
        "timer_unique": 4,
        "transition_oms": 5,
        "transition_timers": 6,
        "range_per_cq": 7,
        "range_commodity": 8,
        "commodities_unique": 9,
        "no_transitions": 10,
        "demand_range": 11,
        "status_factor": 12,
        "instruction_factor": 13,
        "previous_same": 14,
        "previous_pair": 15,
        "status_refs": 16,
        "timer_refs": 17,
        "instr_actuator": 18,
        "instr_om": 19,
        "transition_exists": 20,
        "transition_blocked": 21,
        "abnormal": 22,
        "demand_flag": 23,
        "status_change": 24,
    },
}
"""The published number of every operation-mode rule, fixed: a new rule takes the next free
number of its area and leaves every other id as it is, wherever its statement goes."""


def _om_rules(area: str, actuators: bool) -> None:
    """Rules for OMBC/FRBC/DDBC descriptions, statuses and instructions (ids from ``_OM_NUMBERS``)."""
    numbers = _OM_NUMBERS[area]

    def add(
        key: str,
        severity: Severity,
        ctx: bool,
        statement: str,
        *fields: str,
        rejectable: bool = False,
        deep: bool = False,
    ) -> None:
        rule_id = f"S2-{area}-{numbers[key]:03d}"
        OM_RULE_IDS.setdefault(area, {})[key] = rule_id
        _rule(rule_id, severity, ctx, statement, *fields, rejectable=rejectable, deep=deep)

    scope = "actuator" if actuators else "system description"
    sd = f"{area}.SystemDescription"
    om = f"{area}.OperationMode"
    om_id = f"{om}.Id" if area == "DDBC" else f"{om}.id"
    instr = f"{area}.Instruction"
    status = f"{area}.ActuatorStatus" if actuators else "OMBC.Status"
    om_field = f"{instr}.operation_mode" if area == "FRBC" else f"{instr}.operation_mode_id"
    commodities = f"{area}.ActuatorDescription.supported_commodit{'es' if area == 'DDBC' else 'ies'}"
    if actuators:
        add(
            "actuator_unique",
            E,
            False,
            "Actuator ids within one system description differ.",
            f"{area}.ActuatorDescription.id",
        )
    add("om_unique", E, False, f"Operation mode ids within one {scope} differ.", om_id)
    add("transition_unique", E, False, f"Transition ids within one {scope} differ.", "Transition.id")
    add("timer_unique", E, False, f"Timer ids within one {scope} differ.", "Timer.id")
    add(
        "transition_oms",
        E,
        False,
        f"A transition goes from and to operation modes of its {scope}.",
        "Transition.from",
        "Transition.to",
    )
    add(
        "transition_timers",
        E,
        False,
        f"A transition starts and is blocked only by timers of its {scope}.",
        "Transition.start_timers",
        "Transition.blocking_timers",
    )
    where = f"{area}.OperationModeElement.power_ranges" if area == "FRBC" else f"{om}.power_ranges"
    add("range_per_cq", E, False, "Power ranges name each commodity quantity at most once.", where)
    if actuators:
        add(
            "range_commodity",
            E,
            False,
            "Every power range's commodity quantity belongs to a commodity the actuator supports.",
            where,
            commodities,
        )
        add("commodities_unique", W, False, "An actuator lists each supported commodity once.", commodities)
    if area == "FRBC":
        add(
            "element_range",
            E,
            False,
            "An operation mode element's fill-level range starts below its end.",
            "FRBC.OperationModeElement.fill_level_range",
        )
        add(
            "elements_contiguous",
            E,
            False,
            "The elements of an operation mode cover contiguous fill-level ranges without gaps or overlaps.",
            "FRBC.OperationMode.elements",
        )
        add(
            "elements_cover",
            W,
            False,
            "Every operation mode's elements cover the storage's whole fill-level range.",
            "FRBC.OperationMode.elements",
            "FRBC.StorageDescription.fill_level_range",
        )
        add(
            "storage_range",
            E,
            False,
            "The storage's fill-level range starts at or below its end (an inverted range holds no fill level, "
            "like an inverted element range).",
            "FRBC.StorageDescription.fill_level_range",
        )
        add(
            "leakage_range",
            E,
            False,
            "A leakage element's fill-level range starts below its end.",
            "FRBC.LeakageBehaviourElement.fill_level_range",
        )
        add(
            "leakage_contiguous",
            E,
            False,
            "Leakage elements cover contiguous fill-level ranges without gaps or overlaps.",
            "FRBC.LeakageBehaviour.elements",
        )
        add(
            "target_range",
            E,
            False,
            "A fill-level target range starts at or below its end.",
            "FRBC.FillLevelTargetProfileElement.fill_level_range",
        )
    if area == "DDBC":
        add(
            "no_transitions",
            W,
            False,
            "An actuator with more than one operation mode describes transitions (the text asks for at least "
            "one, the schema allows none).",
            "DDBC.ActuatorDescription.transitions",
        )
        add(
            "demand_range",
            W,
            False,
            "The present demand rate range starts at or below its end.",
            "DDBC.SystemDescription.present_demand_rate",
            "DDBC.PresentDemandStatus.present_demand_rate",
        )
    add(
        "status_factor",
        E,
        False,
        "A status reports an operation_mode_factor between 0 and 1.",
        f"{status}.operation_mode_factor",
    )
    add(
        "instruction_factor",
        E,
        False,
        "An instruction asks for an operation_mode_factor between 0 and 1.",
        f"{instr}.operation_mode_factor",
    )
    add(
        "previous_same",
        W,
        False,
        "A status's previous operation mode differs from the active one.",
        f"{status}.previous_operation_mode_id",
    )
    add(
        "previous_pair",
        W,
        False,
        "A status gives previous_operation_mode_id and transition_timestamp together or neither.",
        f"{status}.previous_operation_mode_id",
        f"{status}.transition_timestamp",
    )
    what = "actuator and operation modes" if actuators else "operation modes"
    add(
        "status_refs",
        E,
        True,
        f"A status names the {what} of the current {sd}.",
        f"{status}.active_operation_mode_id",
        f"{status}.previous_operation_mode_id",
    )
    timer = f"{area}.TimerStatus"
    add(
        "timer_refs",
        E,
        True,
        f"A TimerStatus names a timer of the current {sd}" + (" and its actuator." if actuators else "."),
        f"{timer}.timer_id",
        *((f"{timer}.actuator_id",) if actuators else ()),
    )
    if actuators:
        add(
            "instr_actuator",
            E,
            True,
            f"An instruction names an actuator of the {sd} valid at its execution time (not revoked).",
            f"{instr}.actuator_id",
        )
        add("instr_om", E, True, "An instruction names an operation mode of that actuator.", om_field)
    else:
        add(
            "instr_om",
            E,
            True,
            f"An instruction names an operation mode of the {sd} valid at its execution time (not revoked).",
            om_field,
        )
    add(
        "transition_exists",
        E,
        True,
        "A change of operation mode follows a transition from the mode expected to be active at execution "
        "time (earlier pending instructions included).",
        om_field,
        "Transition.from",
        "Transition.to",
        rejectable=True,
    )
    add(
        "transition_blocked",
        E,
        True,
        "The transition is not blocked by a timer that is still running at execution time.",
        "Transition.blocking_timers",
        f"{timer}.finished_at",
        rejectable=True,
    )
    add(
        "abnormal",
        E,
        True,
        "Operation modes and transitions marked abnormal_condition_only are used only under abnormal_condition.",
        f"{instr}.abnormal_condition",
        f"{om}.abnormal_condition_only",
        "Transition.abnormal_condition_only",
        rejectable=True,
    )
    if area == "FRBC":
        add(
            "fill_level",
            E,
            True,
            "The requested operation mode has an element for the last reported fill level.",
            "FRBC.Instruction.operation_mode",
            "FRBC.StorageStatus.present_fill_level",
            rejectable=True,
        )
        add(
            "leakage_flag",
            W,
            True,
            "FRBC.LeakageBehaviour is sent only when the storage announced provides_leakage_behaviour.",
            "FRBC.LeakageBehaviour",
            "FRBC.StorageDescription.provides_leakage_behaviour",
        )
        add(
            "usage_flag",
            W,
            True,
            "FRBC.UsageForecast is sent only when the storage announced provides_usage_forecast.",
            "FRBC.UsageForecast",
            "FRBC.StorageDescription.provides_usage_forecast",
        )
        add(
            "target_flag",
            W,
            True,
            "FRBC.FillLevelTargetProfile is sent only when the storage announced provides_fill_level_target_profile.",
            "FRBC.FillLevelTargetProfile",
            "FRBC.StorageDescription.provides_fill_level_target_profile",
        )
        add(
            "storage_level",
            W,
            True,
            "The reported fill level lies inside the storage's fill-level range.",
            "FRBC.StorageStatus.present_fill_level",
            "FRBC.StorageDescription.fill_level_range",
        )
    if area == "DDBC":
        add(
            "demand_flag",
            W,
            True,
            "DDBC.AverageDemandRateForecast is sent only when the description announced "
            "provides_average_demand_rate_forecast.",
            "DDBC.AverageDemandRateForecast",
            "DDBC.SystemDescription.provides_average_demand_rate_forecast",
        )
    add(
        "status_change",
        W,
        True,
        "A status that reports a different operation mode than the last one names the previous mode and the "
        "transition time.",
        f"{status}.previous_operation_mode_id",
        f"{status}.transition_timestamp",
    )


_om_rules("OMBC", actuators=False)
_om_rules("FRBC", actuators=True)
_om_rules("DDBC", actuators=True)
assert all(OM_RULE_IDS[area].keys() == keys.keys() for area, keys in _OM_NUMBERS.items()), "an OM rule without its id"

# --- revocation ------------------------------------------------------------------------------
_rule(
    "S2-REVOKE-001",
    E,
    True,
    "The RM revokes only what it publishes (constraints, profile definitions, system descriptions) and the CEM "
    "only its instructions.",
    "RevokeObject.object_type",
)
_rule(
    "S2-REVOKE-002",
    E,
    True,
    "object_id names an object of that type the sender published in this session; for a system description it "
    "is the message_id of the SystemDescription message.",
    "RevokeObject.object_id",
)
_rule("S2-REVOKE-003", E, True, "An object is revoked once.", "RevokeObject.object_id")
_rule(
    "S2-REVOKE-004",
    W,
    True,
    "Revoking an instruction that already reached a terminal status has no effect.",
    "RevokeObject.object_id",
    "InstructionStatusUpdate.status_type",
)

# --- instruction status lifecycle ------------------------------------------------------------
_rule(
    "S2-INSTR-001",
    E,
    True,
    "InstructionStatusUpdate names an instruction the CEM sent in this session.",
    "InstructionStatusUpdate.instruction_id",
)
_rule(
    "S2-INSTR-002",
    E,
    True,
    "Nothing follows a terminal status (REJECTED, REVOKED, SUCCEEDED, ABORTED) of an instruction.",
    "InstructionStatusUpdate.status_type",
)
_rule(
    "S2-INSTR-003",
    W,
    True,
    "An instruction's status moves forward: NEW, then ACCEPTED or REJECTED, then STARTED, then SUCCEEDED or "
    "ABORTED (steps may be skipped; REVOKED may follow any open status).",
    "InstructionStatusUpdate.status_type",
)
_rule(
    "S2-INSTR-004",
    W,
    True,
    "Status timestamps of one instruction do not go back in time.",
    "InstructionStatusUpdate.timestamp",
)
_rule(
    "S2-INSTR-005",
    W,
    True,
    "REVOKED is reported only for an instruction the CEM revoked.",
    "InstructionStatusUpdate.status_type",
    "RevokeObject.object_id",
)

# --- reception statuses ----------------------------------------------------------------------
_rule(
    "S2-RS-001",
    E,
    True,
    "A ReceptionStatus answers a message the peer sent (INVALID_DATA may name an id that could not be read).",
    "ReceptionStatus.subject_message_id",
)
_rule("S2-RS-002", E, True, "A message gets one ReceptionStatus, not two.", "ReceptionStatus.subject_message_id")
_rule(
    "S2-RS-003",
    W,
    False,
    "A ReceptionStatus other than OK says why in diagnostic_label.",
    "ReceptionStatus.diagnostic_label",
)
_rule(
    "S2-RS-004",
    E,
    True,
    "Every message except ReceptionStatus is answered with a ReceptionStatus (replay).",
    "ReceptionStatus.subject_message_id",
)
_rule(
    "S2-RS-005",
    E,
    True,
    "The receiver's ReceptionStatus is the one the rules call for: OK for a valid message, the decoding status "
    "for a malformed one, INVALID_CONTENT for a rule error (OK too when every error is a flexibility rule, "
    "then rejected by InstructionStatusUpdate); TEMPORARY_ERROR and PERMANENT_ERROR are the receiver's own "
    "business (replay).",
    "ReceptionStatus.status",
)

CATALOGUE: Final[Mapping[str, Rule]] = MappingProxyType({r.id: r for r in _RULES})
assert len(CATALOGUE) == len(_RULES), "a rule id is listed twice"

_SEVERITY: Final = {r.id: r.severity for r in _RULES}


def finding(rule: str, pointer: str, reason: str) -> Finding:
    """A finding with the catalogue's severity for ``rule`` (KeyError for an unknown id)."""
    return Finding(rule, pointer, reason, _SEVERITY[rule])
