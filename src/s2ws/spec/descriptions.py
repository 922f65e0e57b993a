"""The human-readable text of the exported spec files, written for this project.

Structure comes from the models; only the prose lives here. One text per field name serves
every type where the field means the same thing (``{type}`` is replaced by the owning type's
name); ``FIELD_OVERRIDES`` holds the texts that depend on the owner. A missing text raises
``KeyError`` so a new model field cannot ship undocumented.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

__all__ = [
    "ASYNCAPI_DESCRIPTION",
    "ENUM_VALUE_DESCRIPTIONS",
    "FIELD_DESCRIPTIONS",
    "FIELD_OVERRIDES",
    "OPENAPI_DESCRIPTION",
    "OPENAPI_FAKE_PATH_DESCRIPTION",
    "TYPE_DESCRIPTIONS",
    "enum_description",
    "field_description",
    "type_description",
]

ASYNCAPI_DESCRIPTION: Final = (
    "S2 (EN 50491-12-2) energy flexibility messages exchanged as JSON text frames over one WebSocket "
    "between a Customer Energy Manager and a Resource Manager. Under publish are the messages this "
    "application sends, under subscribe the messages it receives."
)

OPENAPI_DESCRIPTION: Final = (
    "Data types of S2 over JSON WebSockets, for code generators that read OpenAPI. S2 is not an HTTP API: "
    "the messages travel as WebSocket text frames, so the path below is a placeholder and no endpoint can "
    "be generated from this file."
)

OPENAPI_FAKE_PATH_DESCRIPTION: Final = "Placeholder: OpenAPI needs at least one path. There is no such endpoint."

_M = MappingProxyType

TYPE_DESCRIPTIONS: Final[Mapping[str, str]] = _M(
    {
        # primitives
        "ID": "Identifier: 2 to 64 characters, each a letter, digit, '-', '_' or ':'. UUID strings are recommended.",
        "Duration": "Length of time in whole milliseconds; never negative.",
        # enumerations
        "Commodity": "A form of energy a device can use or deliver.",
        "CommodityQuantity": "A measurable quantity of a commodity; the value names the unit as well.",
        "ControlType": "A way in which a CEM can steer a resource.",
        "Currency": "ISO 4217 currency code for every cost a resource reports.",
        "EnergyManagementRole": "The two parties of an S2 session.",
        "InstructionStatus": "Stage an instruction has reached at the Resource Manager.",
        "PEBC.PowerEnvelopeConsequenceType": "What happens to energy that a power envelope keeps from flowing.",
        "PEBC.PowerEnvelopeLimitType": "Which side of a power envelope an allowed limit range constrains.",
        "PPBC.PowerSequenceStatus": "Progress of the sequence chosen from a power sequence container.",
        "ReceptionStatusValues": "Outcome of receiving one message, and what its sender should do next.",
        "RevokableObjects": "Kinds of object a RevokeObject message can withdraw.",
        "RoleType": "How a resource relates to a commodity.",
        "SessionRequestType": "What a SessionRequest asks the peer to do with the session.",
        # common objects
        "NumberRange": "Two numbers bounding a range; whether start may exceed end depends on where the range is used.",
        "PowerForecastElement": "One period of a power forecast with the expected power per commodity quantity.",
        "PowerForecastValue": "Expected power for one commodity quantity, optionally with uncertainty bands around it.",
        "PowerRange": "Power of an operation mode for one commodity quantity: start at factor 0, end at factor 1.",
        "PowerValue": "A measured power for one commodity quantity.",
        "Role": "One energy role of a resource for one commodity.",
        "Timer": "A countdown that transitions start and that can block transitions until it finishes.",
        "Transition": "An allowed change from one operation mode to another, with its timers, costs and duration.",
        # PEBC objects
        "PEBC.AllowedLimitRange": "A range of values the CEM may pick for one limit of a power envelope.",
        "PEBC.PowerEnvelope": "Upper and lower power limits over time for one commodity quantity.",
        "PEBC.PowerEnvelopeElement": "One period of a power envelope with its upper and lower limit.",
        # PPBC objects
        "PPBC.PowerSequence": "One way of running a step of a task: its power profile over time.",
        "PPBC.PowerSequenceContainer": "One step of a task: the alternative sequences the CEM chooses one from.",
        "PPBC.PowerSequenceContainerStatus": "State of one power sequence container and its selected sequence.",
        "PPBC.PowerSequenceElement": "One period of a power sequence with the power per commodity quantity.",
        # OMBC objects
        "OMBC.OperationMode": "A state the device can be in, with its power and optional running costs.",
        # FRBC objects
        "FRBC.ActuatorDescription": "A part of the device that changes the fill level, described as a state machine.",
        "FRBC.FillLevelTargetProfileElement": "One period of the target profile: the band for the fill level.",
        "FRBC.LeakageBehaviourElement": "Leakage rate over one segment of the fill level.",
        "FRBC.OperationMode": "A state of an actuator; its effect may depend on the fill level.",
        "FRBC.OperationModeElement": "Behaviour of an operation mode while the fill level is within one segment.",
        "FRBC.StorageDescription": "The storage whose fill level the actuators change.",
        "FRBC.UsageForecastElement": "One period of the usage forecast with the expected usage rate.",
        # DDBC objects
        "DDBC.ActuatorDescription": "A part of the device that can supply the demand, described as a state machine.",
        "DDBC.AverageDemandRateForecastElement": "One period of the demand forecast with the expected average rate.",
        "DDBC.OperationMode": "A state of an actuator with the supply it delivers and the power it takes.",
        # common messages
        "Handshake": "First message of each side of a session: the sender's role and the protocol versions it speaks.",
        "HandshakeResponse": "The CEM's answer to the RM's Handshake, fixing the protocol version for the session.",
        "InstructionStatusUpdate": "The Resource Manager reports the progress of an instruction it received.",
        "PowerForecast": "Expected power of the resource over consecutive periods.",
        "PowerMeasurement": "Power of the resource measured at one moment.",
        "ReceptionStatus": "Acknowledgement of one received message; every message except this one gets exactly one.",
        "ResourceManagerDetails": "What the resource is and what it can do; sent by the RM after the handshake.",
        "RevokeObject": "Withdraws an object the sender published earlier; the receiver must stop relying on it.",
        "SelectControlType": "The CEM activates one of the RM's control types, or none.",
        "SessionRequest": "Asks the peer to reconnect or to end the session.",
        # PEBC messages
        "PEBC.EnergyConstraint": "Average power the device needs within a period, bounding its energy use.",
        "PEBC.Instruction": "Power envelopes the Resource Manager is asked to keep the device within.",
        "PEBC.PowerConstraints": "Which upper and lower power limits the CEM may set in its envelopes.",
        # PPBC messages
        "PPBC.EndInterruptionInstruction": "Asks the Resource Manager to resume an interrupted power sequence.",
        "PPBC.PowerProfileDefinition": "A task as an ordered chain of steps, each with alternative power sequences.",
        "PPBC.PowerProfileStatus": "State of every step of the current power profile.",
        "PPBC.ScheduleInstruction": "Selects one sequence of a step and tells when it starts.",
        "PPBC.StartInterruptionInstruction": "Asks the Resource Manager to pause a running, interruptible sequence.",
        # OMBC messages
        "OMBC.Instruction": "Asks the Resource Manager to run a given operation mode at a given factor.",
        "OMBC.Status": "The operation mode the device is in now, and the one before it.",
        "OMBC.SystemDescription": "The device as one state machine: operation modes, transitions and timers.",
        "OMBC.TimerStatus": "When a timer finishes.",
        # FRBC messages
        "FRBC.ActuatorStatus": "The operation mode an actuator is in now, and the one before it.",
        "FRBC.FillLevelTargetProfile": "Bands the CEM should try to keep the fill level in over coming periods.",
        "FRBC.Instruction": "Asks the Resource Manager to run one actuator in a given mode at a given factor.",
        "FRBC.LeakageBehaviour": "How fast the fill level drops by itself, per segment of the fill level.",
        "FRBC.StorageStatus": "The present fill level of the storage.",
        "FRBC.SystemDescription": "The storage and the actuators that change its fill level.",
        "FRBC.TimerStatus": "When a timer of an actuator finishes.",
        "FRBC.UsageForecast": "Expected draw from the storage by its users over coming periods.",
        # DDBC messages
        "DDBC.ActuatorStatus": "The operation mode an actuator is in now, and the one before it.",
        "DDBC.AverageDemandRateForecast": "Expected average demand rate over coming periods.",
        "DDBC.Instruction": "Asks the Resource Manager to run one actuator in a given mode at a given factor.",
        "DDBC.PresentDemandStatus": "The demand rate the actuators have to meet now.",
        "DDBC.SystemDescription": "The actuators that can meet the demand, and the demand itself.",
        "DDBC.TimerStatus": "When a timer of an actuator finishes.",
    }
)

ENUM_VALUE_DESCRIPTIONS: Final[Mapping[str, Mapping[str, str]]] = _M(
    {
        "Commodity": _M({"GAS": "natural gas", "HEAT": "heat", "ELECTRICITY": "electricity", "OIL": "oil"}),
        "CommodityQuantity": _M(
            {
                "ELECTRIC.POWER.L1": "electric power on phase 1 in W; single-phase devices always use this phase",
                "ELECTRIC.POWER.L2": "electric power on phase 2 in W (three-phase devices only)",
                "ELECTRIC.POWER.L3": "electric power on phase 3 in W (three-phase devices only)",
                "ELECTRIC.POWER.3_PHASE_SYMMETRIC": "total electric power in W, spread evenly over three phases",
                "NATURAL_GAS.FLOW_RATE": "natural gas flow in litres per second",
                "HYDROGEN.FLOW_RATE": "hydrogen flow in grams per second",
                "HEAT.TEMPERATURE": "temperature in degrees Celsius",
                "HEAT.FLOW_RATE": "flow of the heat-carrying fluid in litres per second",
                "HEAT.THERMAL_POWER": "thermal power in W",
                "OIL.FLOW_RATE": "oil flow in litres per hour",
            }
        ),
        "ControlType": _M(
            {
                "POWER_ENVELOPE_BASED_CONTROL": "Power Envelope Based Control (PEBC)",
                "POWER_PROFILE_BASED_CONTROL": "Power Profile Based Control (PPBC)",
                "OPERATION_MODE_BASED_CONTROL": "Operation Mode Based Control (OMBC)",
                "FILL_RATE_BASED_CONTROL": "Fill Rate Based Control (FRBC)",
                "DEMAND_DRIVEN_BASED_CONTROL": "Demand Driven Based Control (DDBC)",
                "NOT_CONTROLABLE": "the resource cannot be steered but may still send measurements and forecasts",
                "NO_SELECTION": "no control type is active",
            }
        ),
        "EnergyManagementRole": _M({"CEM": "Customer Energy Manager", "RM": "Resource Manager"}),
        "InstructionStatus": _M(
            {
                "NEW": "registered, not judged yet",
                "ACCEPTED": "will be carried out",
                "REJECTED": "will not be carried out (final)",
                "REVOKED": "withdrawn by the CEM before it completed (final)",
                "STARTED": "being carried out",
                "SUCCEEDED": "carried out completely (final)",
                "ABORTED": "stopped by the resource before completion (final)",
            }
        ),
        "PEBC.PowerEnvelopeConsequenceType": _M(
            {
                "VANISH": "the energy is lost for good, as with curtailed solar power",
                "DEFER": "the energy is caught up later, as with postponed charging",
            }
        ),
        "PEBC.PowerEnvelopeLimitType": _M(
            {"UPPER_LIMIT": "the upper limit of the envelope", "LOWER_LIMIT": "the lower limit of the envelope"}
        ),
        "PPBC.PowerSequenceStatus": _M(
            {
                "NOT_SCHEDULED": "no sequence of the container is scheduled",
                "SCHEDULED": "the selected sequence will start later",
                "EXECUTING": "the selected sequence is running",
                "INTERRUPTED": "the selected sequence is paused and will resume",
                "FINISHED": "the selected sequence ran to completion",
                "ABORTED": "the device stopped the selected sequence; it will not resume",
            }
        ),
        "ReceptionStatusValues": _M(
            {
                "INVALID_DATA": "unreadable, e.g. not JSON or no message_id; ignored, carry on if possible",
                "INVALID_MESSAGE": "does not match the schema; ignored, carry on if possible",
                "INVALID_CONTENT": "well-formed but wrong in meaning (e.g. an unknown id); ignored, carry on",
                "TEMPORARY_ERROR": "the receiver failed for now; send the message again",
                "PERMANENT_ERROR": "the receiver failed and cannot recover; disconnect",
                "OK": "processed normally; carry on",
            }
        ),
        "RoleType": _M(
            {
                "ENERGY_PRODUCER": "produces the commodity",
                "ENERGY_CONSUMER": "consumes the commodity",
                "ENERGY_STORAGE": "stores the commodity",
            }
        ),
        "SessionRequestType": _M(
            {
                "RECONNECT": "close this WebSocket and connect again; the new session starts with a handshake",
                "TERMINATE": "end the session; the client may reconnect later, backing off exponentially",
            }
        ),
    }
)
"""Per-value texts; RevokableObjects is generated (each value names a message) and Currency needs none."""

FIELD_DESCRIPTIONS: Final[Mapping[str, str]] = _M(
    {
        "abnormal_condition": "True when this instruction is given during an abnormal condition, which allows "
        "items marked abnormal_condition_only.",
        "abnormal_condition_only": "True if this {type} may only be used during an abnormal condition.",
        "active_operation_mode_id": "Id of the operation mode that is active now.",
        "actuator_id": "Id of the actuator this message is about.",
        "diagnostic_label": "Human-readable label for logs and debugging, not for user interfaces.",
        "duration": "Length of this element in milliseconds; each element starts where the previous one ends.",
        "elements": "Consecutive periods of this {type} in chronological order, the first starting at start_time.",
        "execution_time": "When the instruction takes effect; a moment in the past means as soon as possible.",
        "finished_at": "When the timer finishes; a moment in the past means it is not running.",
        "id": "Identifier of this {type}; unique within the Resource Manager for at least the session.",
        "message_id": "Identifier of this message, unique per sender within the session; the ReceptionStatus "
        "for it quotes this value.",
        "operation_mode_factor": "Point within the operation mode's factor-linked ranges, from 0 (start of each "
        "range) to 1 (end of each range).",
        "operation_mode_id": "Id of the operation mode requested.",
        "operation_modes": "The operation modes of this {type}.",
        "power_profile_id": "Id of the PPBC.PowerProfileDefinition this refers to.",
        "power_ranges": "Power per commodity quantity, at most one range per quantity; the start belongs to factor 0, "
        "the end to factor 1.",
        "power_sequence_id": "Id of the PPBC.PowerSequence within the container.",
        "power_values": "Power per commodity quantity during this element, at most one value per quantity.",
        "present_demand_rate": "Demand rate at this moment, as a range expressing uncertainty, in the same unit as "
        "the supply ranges.",
        "previous_operation_mode_id": "Id of the operation mode active before the last transition; absent when no "
        "earlier mode is known.",
        "running_costs": "Costs per second of running in this mode (e.g. wear, service), commodity costs excluded, in "
        "the currency of the ResourceManagerDetails; the range expresses uncertainty, not the factor.",
        "sequence_container_id": "Id of the PPBC.PowerSequenceContainer within the power profile.",
        "start_time": "Start of the first element.",
        "timer_id": "Id of the timer this message is about.",
        "timers": "Timers that transitions start or are blocked by; may be empty.",
        "transition_timestamp": "When the last transition was initiated; absent when none is known.",
        "transitions": "Allowed changes between the operation modes; may be empty.",
        "valid_from": "Moment from which this {type} applies; now or earlier means at once.",
    }
)

FIELD_OVERRIDES: Final[Mapping[tuple[str, str], str]] = _M(
    {
        # common objects
        (
            "NumberRange",
            "start_of_range",
        ): "Start of the range (the value at factor 0 where the range is factor-linked).",
        ("NumberRange", "end_of_range"): "End of the range (the value at factor 1 where the range is factor-linked).",
        ("PowerForecastElement", "duration"): "Length of this period in milliseconds.",
        ("PowerForecastValue", "commodity_quantity"): "Commodity quantity, and with it the unit, of these values.",
        ("PowerForecastValue", "value_expected"): "Most likely power.",
        ("PowerForecastValue", "value_upper_limit"): "Upper bound that the power is certain to stay under.",
        (
            "PowerForecastValue",
            "value_upper_95PPR",
        ): "Upper bound of the range holding the power with 95 % probability.",
        (
            "PowerForecastValue",
            "value_upper_68PPR",
        ): "Upper bound of the range holding the power with 68 % probability.",
        (
            "PowerForecastValue",
            "value_lower_68PPR",
        ): "Lower bound of the range holding the power with 68 % probability.",
        (
            "PowerForecastValue",
            "value_lower_95PPR",
        ): "Lower bound of the range holding the power with 95 % probability.",
        ("PowerForecastValue", "value_lower_limit"): "Lower bound that the power is certain to stay above.",
        ("PowerRange", "start_of_range"): "Power at operation mode factor 0.",
        ("PowerRange", "end_of_range"): "Power at operation mode factor 1; may be below the start.",
        ("PowerRange", "commodity_quantity"): "Commodity quantity, and with it the unit, of both bounds.",
        ("PowerValue", "commodity_quantity"): "Commodity quantity, and with it the unit, of the value.",
        ("PowerValue", "value"): "Power; positive is consumption, negative is production.",
        ("Role", "role"): "How the resource relates to the commodity.",
        ("Role", "commodity"): "The commodity this role is for.",
        ("Timer", "id"): "Identifier of the timer; unique within its system description or actuator.",
        ("Timer", "diagnostic_label"): "Human-readable name of the timer for debugging, not for user interfaces.",
        ("Timer", "duration"): "Milliseconds from starting the timer until it finishes.",
        ("Transition", "id"): "Identifier of the transition; unique within its system description or actuator.",
        ("Transition", "from"): "Id of the operation mode this transition leaves.",
        ("Transition", "to"): "Id of the operation mode this transition leads to.",
        ("Transition", "start_timers"): "Ids of the timers that (re)start when this transition is initiated.",
        ("Transition", "blocking_timers"): "Ids of the timers that must all have finished before this transition "
        "may be initiated.",
        ("Transition", "transition_costs"): "One-off cost of this transition in the currency of the "
        "ResourceManagerDetails.",
        ("Transition", "transition_duration"): "Milliseconds from initiating this transition until the device "
        "behaves as the target mode; absent means negligible.",
        # common messages
        ("Handshake", "role"): "Role of the sender.",
        ("Handshake", "supported_protocol_versions"): "Protocol versions the sender speaks; the RM must send them, "
        "the CEM may.",
        ("HandshakeResponse", "selected_protocol_version"): "Protocol version used for the rest of the session; one "
        "of the versions the RM offered.",
        ("InstructionStatusUpdate", "instruction_id"): "The id field of the instruction this update is about.",
        ("InstructionStatusUpdate", "status_type"): "Stage the instruction has reached.",
        ("InstructionStatusUpdate", "timestamp"): "When the instruction reached this stage.",
        ("PowerMeasurement", "measurement_timestamp"): "When the values were measured.",
        ("PowerMeasurement", "values"): "Measured power, at most one value per commodity quantity.",
        ("ReceptionStatus", "subject_message_id"): "The message_id of the message being acknowledged.",
        ("ReceptionStatus", "status"): "Outcome of receiving that message.",
        ("ReceptionStatus", "diagnostic_label"): "Explanation of the status for debugging, not for user interfaces.",
        ("ResourceManagerDetails", "resource_id"): "Identifier of the resource; unique within the CEM.",
        ("ResourceManagerDetails", "name"): "Human-readable name of the resource.",
        ("ResourceManagerDetails", "roles"): "Energy roles of the resource, one per commodity.",
        ("ResourceManagerDetails", "manufacturer"): "Manufacturer of the device.",
        ("ResourceManagerDetails", "model"): "Model name of the device, as given by its manufacturer.",
        ("ResourceManagerDetails", "serial_number"): "Serial number of the device, as given by its manufacturer.",
        ("ResourceManagerDetails", "firmware_version"): "Firmware version of the device.",
        ("ResourceManagerDetails", "instruction_processing_delay"): "Typical milliseconds the Resource Manager and "
        "device need to carry out an instruction.",
        ("ResourceManagerDetails", "available_control_types"): "Control types the Resource Manager offers.",
        ("ResourceManagerDetails", "currency"): "Currency of all costs the resource reports; required once it "
        "reports any cost.",
        ("ResourceManagerDetails", "provides_forecast"): "True if the Resource Manager sends PowerForecast messages.",
        ("ResourceManagerDetails", "provides_power_measurement_types"): "Commodity quantities that PowerMeasurement "
        "messages will carry.",
        ("RevokeObject", "object_type"): "Kind of object withdrawn.",
        ("RevokeObject", "object_id"): "The id of the object withdrawn (for a system description, the message_id of "
        "the message that carried it).",
        ("SelectControlType", "control_type"): "Control type to activate: one the RM offered, or NO_SELECTION to "
        "deactivate.",
        ("SessionRequest", "request"): "What the peer is asked to do.",
        ("SessionRequest", "diagnostic_label"): "Reason for the request, for debugging, not for user interfaces.",
        # PEBC
        ("PEBC.AllowedLimitRange", "commodity_quantity"): "Commodity quantity this range applies to.",
        ("PEBC.AllowedLimitRange", "limit_type"): "Whether this range is for the upper or the lower limit.",
        ("PEBC.AllowedLimitRange", "range_boundary"): "Values the CEM may choose for that limit; start at most end.",
        ("PEBC.EnergyConstraint", "valid_until"): "End of the period this constraint covers.",
        ("PEBC.EnergyConstraint", "upper_average_power"): "Highest average power over the period; times the period's "
        "length it gives the most energy the device takes. Envelopes must leave room for it when positive.",
        ("PEBC.EnergyConstraint", "lower_average_power"): "Lowest average power over the period, at most "
        "upper_average_power; negative means production. Envelopes must leave room for it when negative.",
        ("PEBC.EnergyConstraint", "commodity_quantity"): "Commodity quantity of both average powers.",
        ("PEBC.Instruction", "power_constraints_id"): "Id of the PEBC.PowerConstraints this instruction follows.",
        ("PEBC.Instruction", "power_envelopes"): "Envelopes to stay within, at most one per commodity quantity.",
        ("PEBC.PowerConstraints", "valid_until"): "Moment these constraints stop applying; absent means open-ended.",
        ("PEBC.PowerConstraints", "consequence_type"): "What limiting the power means for the energy held back.",
        ("PEBC.PowerConstraints", "allowed_limit_ranges"): "Ranges for the envelope limits, at least one for the "
        "upper and one for the lower limit; several ranges for the same quantity and limit combine.",
        ("PEBC.PowerEnvelope", "id"): "Identifier of this envelope; unique within the Resource Manager for at least "
        "the session.",
        ("PEBC.PowerEnvelope", "commodity_quantity"): "Commodity quantity the limits apply to.",
        ("PEBC.PowerEnvelope", "power_envelope_elements"): "Consecutive periods in chronological order, the first "
        "starting at the instruction's execution_time.",
        ("PEBC.PowerEnvelopeElement", "duration"): "Length of this period in milliseconds.",
        ("PEBC.PowerEnvelopeElement", "upper_limit"): "Power the device should stay at or below; within an allowed "
        "UPPER_LIMIT range.",
        ("PEBC.PowerEnvelopeElement", "lower_limit"): "Power the device should stay at or above; at most upper_limit "
        "and within an allowed LOWER_LIMIT range.",
        # PPBC
        ("PPBC.PowerProfileDefinition", "start_time"): "Earliest moment the first sequence may start.",
        ("PPBC.PowerProfileDefinition", "end_time"): "Moment by which the last sequence must have finished.",
        ("PPBC.PowerProfileDefinition", "power_sequences_containers"): "The steps of the task in the order they run.",
        ("PPBC.PowerProfileStatus", "sequence_container_status"): "Status of every container of the profile.",
        ("PPBC.PowerSequence", "id"): "Identifier of this sequence; unique within its container.",
        ("PPBC.PowerSequence", "elements"): "Consecutive periods of the sequence in chronological order.",
        ("PPBC.PowerSequence", "is_interruptible"): "True if the sequence may be paused while it runs.",
        ("PPBC.PowerSequence", "max_pause_before"): "Longest gap in milliseconds allowed between the end of the "
        "previous sequence and the start of this one; absent means no limit.",
        ("PPBC.PowerSequenceContainer", "id"): "Identifier of this container; unique within its power profile.",
        ("PPBC.PowerSequenceContainer", "power_sequences"): "Alternative sequences; the CEM selects one.",
        ("PPBC.PowerSequenceContainerStatus", "selected_sequence_id"): "Id of the selected sequence; absent while "
        "none is selected.",
        ("PPBC.PowerSequenceContainerStatus", "progress"): "Milliseconds since the selected sequence started; "
        "present once it has started.",
        ("PPBC.PowerSequenceContainerStatus", "status"): "State of the selected sequence.",
        ("PPBC.PowerSequenceElement", "duration"): "Length of this period in milliseconds.",
        # OMBC
        ("OMBC.OperationMode", "id"): "Identifier of this operation mode; unique within the Resource Manager for "
        "at least the session.",
        ("OMBC.Status", "operation_mode_factor"): "Factor the active operation mode runs at, from 0 to 1.",
        # FRBC
        ("FRBC.ActuatorDescription", "id"): "Identifier of this actuator; unique within the Resource Manager for "
        "at least the session.",
        ("FRBC.ActuatorDescription", "supported_commodities"): "Commodities this actuator uses or delivers.",
        ("FRBC.ActuatorStatus", "operation_mode_factor"): "Factor the active operation mode runs at, from 0 to 1.",
        ("FRBC.FillLevelTargetProfileElement", "fill_level_range"): "Band the fill level should be in during this "
        "period; start at most end.",
        ("FRBC.Instruction", "operation_mode"): "Id of the operation mode requested for the actuator.",
        ("FRBC.LeakageBehaviour", "elements"): "Leakage per fill-level segment; the segments are contiguous.",
        ("FRBC.LeakageBehaviourElement", "fill_level_range"): "Fill-level segment this rate applies to; start below "
        "end.",
        ("FRBC.LeakageBehaviourElement", "leakage_rate"): "Fill-level units per second lost in this segment; positive "
        "means the level falls.",
        ("FRBC.OperationMode", "id"): "Identifier of this operation mode; unique within its actuator.",
        ("FRBC.OperationMode", "elements"): "Behaviour per fill-level segment; the segments are contiguous and do not "
        "overlap.",
        ("FRBC.OperationModeElement", "fill_level_range"): "Fill-level segment this element applies to; start below "
        "end.",
        ("FRBC.OperationModeElement", "fill_rate"): "Change of the fill level in units per second, at factor 0 "
        "(start) and factor 1 (end).",
        ("FRBC.StorageDescription", "diagnostic_label"): "Human-readable name of the storage for debugging, not for "
        "user interfaces.",
        ("FRBC.StorageDescription", "fill_level_label"): "Unit or meaning of the fill level for humans, e.g. "
        "'degrees Celsius' or '% state of charge'.",
        ("FRBC.StorageDescription", "provides_leakage_behaviour"): "True if the RM sends FRBC.LeakageBehaviour.",
        ("FRBC.StorageDescription", "provides_fill_level_target_profile"): "True if the RM sends "
        "FRBC.FillLevelTargetProfile.",
        ("FRBC.StorageDescription", "provides_usage_forecast"): "True if the RM sends FRBC.UsageForecast.",
        ("FRBC.StorageDescription", "fill_level_range"): "Range the CEM must keep the fill level within.",
        ("FRBC.StorageStatus", "present_fill_level"): "Fill level now.",
        ("FRBC.SystemDescription", "actuators"): "The actuators that change the fill level.",
        ("FRBC.SystemDescription", "storage"): "The storage.",
        ("FRBC.UsageForecastElement", "duration"): "Length of this period in milliseconds.",
        ("FRBC.UsageForecastElement", "usage_rate_expected"): "Most likely usage in fill-level units per second; "
        "positive means the level falls.",
        ("FRBC.UsageForecastElement", "usage_rate_upper_limit"): "Usage rate that is certain not to be exceeded.",
        ("FRBC.UsageForecastElement", "usage_rate_upper_95PPR"): "Upper bound of the range holding the usage rate "
        "with 95 % probability.",
        ("FRBC.UsageForecastElement", "usage_rate_upper_68PPR"): "Upper bound of the range holding the usage rate "
        "with 68 % probability.",
        ("FRBC.UsageForecastElement", "usage_rate_lower_68PPR"): "Lower bound of the range holding the usage rate "
        "with 68 % probability.",
        ("FRBC.UsageForecastElement", "usage_rate_lower_95PPR"): "Lower bound of the range holding the usage rate "
        "with 95 % probability.",
        ("FRBC.UsageForecastElement", "usage_rate_lower_limit"): "Usage rate that is certain to be reached at least.",
        # DDBC
        ("DDBC.ActuatorDescription", "id"): "Identifier of this actuator; unique within the Resource Manager for "
        "at least the session.",
        ("DDBC.ActuatorDescription", "supported_commodites"): "Commodities this actuator uses or delivers (the field "
        "name's spelling is part of the wire format).",
        ("DDBC.ActuatorStatus", "operation_mode_factor"): "Factor the active operation mode runs at, from 0 to 1.",
        ("DDBC.AverageDemandRateForecastElement", "duration"): "Length of this period in milliseconds.",
        ("DDBC.AverageDemandRateForecastElement", "demand_rate_expected"): "Most likely average demand rate, in the "
        "unit of the supply ranges.",
        ("DDBC.AverageDemandRateForecastElement", "demand_rate_upper_limit"): "Demand rate that is certain not to be "
        "exceeded.",
        ("DDBC.AverageDemandRateForecastElement", "demand_rate_upper_95PPR"): "Upper bound of the range holding the "
        "demand rate with 95 % probability.",
        ("DDBC.AverageDemandRateForecastElement", "demand_rate_upper_68PPR"): "Upper bound of the range holding the "
        "demand rate with 68 % probability.",
        ("DDBC.AverageDemandRateForecastElement", "demand_rate_lower_68PPR"): "Lower bound of the range holding the "
        "demand rate with 68 % probability.",
        ("DDBC.AverageDemandRateForecastElement", "demand_rate_lower_95PPR"): "Lower bound of the range holding the "
        "demand rate with 95 % probability.",
        ("DDBC.AverageDemandRateForecastElement", "demand_rate_lower_limit"): "Demand rate that is certain to be "
        "reached at least.",
        ("DDBC.Instruction", "operation_mode_id"): "Id of the operation mode requested for the actuator.",
        ("DDBC.OperationMode", "Id"): "Identifier of this operation mode; unique within its actuator (the capital I "
        "is part of the wire format).",
        ("DDBC.OperationMode", "supply_range"): "Rate at which this mode meets the demand, at factor 0 (start) and "
        "factor 1 (end), in the unit of the demand rate.",
        ("DDBC.SystemDescription", "actuators"): "The actuators that can meet the demand.",
        ("DDBC.SystemDescription", "provides_average_demand_rate_forecast"): "True if the RM sends "
        "DDBC.AverageDemandRateForecast.",
    }
)


def type_description(name: str) -> str:
    """Text of a named type or message."""
    return TYPE_DESCRIPTIONS[name]


def field_description(owner: str, field: str) -> str:
    """Text of ``field`` in ``owner``: the owner-specific text if any, else the shared one for the name."""
    text = FIELD_OVERRIDES.get((owner, field))
    if text is None:
        text = FIELD_DESCRIPTIONS[field].replace("{type}", owner)
    return text


def enum_description(name: str, values: Iterable[str]) -> str:
    """The type's text, then one ``VALUE: meaning`` line per value where the values need explaining."""
    lines = [type_description(name)]
    if name == "RevokableObjects":
        lines += [f"{value}: the object sent as a {value} message" for value in values]
    elif name in ENUM_VALUE_DESCRIPTIONS:
        meanings = ENUM_VALUE_DESCRIPTIONS[name]
        lines += [f"{value}: {meanings[value]}" for value in values]
    return "\n".join(lines)
