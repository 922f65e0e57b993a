"""The numbered rule catalogue: every semantic rule s2ws checks, with a stable id.

Ids never change meaning once published: a rule that is dropped leaves a gap. Severity is
"error" where the standard states the requirement plainly and "warning" where it is
ambiguous, silent or contradicts itself; a warning never refuses traffic.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from ..findings import Finding, Severity
from ..messages.states import PHASE_RULES
from .catalogue_om import OM_RULE_IDS, declare_om_rules
from .rule import RULES, E, Rule, W, declare

__all__ = ["CATALOGUE", "OM_RULE_IDS", "Finding", "Rule", "RuleFinding", "Severity", "finding"]


RuleFinding = Finding
"""The name the rule layer used for :class:`~s2ws.findings.Finding` (the same class)."""

_rule = declare


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
declare_om_rules()


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

CATALOGUE: Final[Mapping[str, Rule]] = MappingProxyType({r.id: r for r in RULES})
assert len(CATALOGUE) == len(RULES), "a rule id is listed twice"

_SEVERITY: Final = {r.id: r.severity for r in RULES}


def finding(rule: str, pointer: str, reason: str) -> Finding:
    """A finding with the catalogue's severity for ``rule`` (KeyError for an unknown id)."""
    return Finding(rule, pointer, reason, _SEVERITY[rule])
