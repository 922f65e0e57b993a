"""The operation-mode rules (OMBC, FRBC, DDBC): one set of statements per control type, each
rule under the number ``_OM_NUMBERS`` gives it, so the checks name rules by meaning."""

from __future__ import annotations

from typing import Final

from ..findings import Severity
from .rule import E, W, declare

__all__ = ["OM_RULE_IDS", "declare_om_rules"]

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
        declare(rule_id, severity, ctx, statement, *fields, rejectable=rejectable, deep=deep)

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


def declare_om_rules() -> None:
    """Declare the rules of the three operation-mode control types, in the catalogue's order."""
    _om_rules("OMBC", actuators=False)
    _om_rules("FRBC", actuators=True)
    _om_rules("DDBC", actuators=True)
    assert all(OM_RULE_IDS[area].keys() == keys.keys() for area, keys in _OM_NUMBERS.items()), (
        "an OM rule without its id"
    )
