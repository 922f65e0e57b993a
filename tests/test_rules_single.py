"""Context-free rules: every rule fires on a broken message and stays silent on a near miss."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from msgspec.structs import replace

from builders import (
    ELECTRICITY,
    GAS_FLOW,
    L1,
    L2,
    LOWER,
    MINUTE,
    STATE_MACHINE_TIMERS,
    STATE_MACHINE_TRANSITIONS,
    T0,
    UPPER,
    allowed,
    container,
    container_status,
    ddbc_actuator,
    ddbc_description,
    ddbc_instruction,
    ddbc_mode,
    ddbc_status,
    demand_forecast,
    details,
    energy_constraint,
    envelope,
    forecast,
    forecast_value,
    frbc_actuator,
    frbc_description,
    frbc_element,
    frbc_instruction,
    frbc_mode,
    frbc_status,
    handshake,
    leakage,
    measurement,
    number_range,
    ombc_description,
    ombc_instruction,
    ombc_mode,
    ombc_status,
    pebc_instruction,
    power_constraints,
    power_range,
    profile,
    profile_status,
    reception,
    sequence,
    storage,
    target_profile,
    timer,
    transition,
    usage_forecast,
)
from s2ws.messages import common, ddbc
from s2ws.messages.base import S2Message
from s2ws.messages.enums import (
    Commodity,
    ControlType,
    EnergyManagementRole,
    PPBCPowerSequenceStatus,
    ReceptionStatusValues,
    RoleType,
)
from s2ws.rules import CATALOGUE, check_deep, check_message
from s2ws.rules.catalogue import OM_RULE_IDS

CT = ControlType
PS = PPBCPowerSequenceStatus


@dataclass(frozen=True)
class Case:
    rule: str
    bad: S2Message
    good: S2Message


def _findings(message: S2Message) -> list[str]:
    return [f.rule for f in check_message(message) + check_deep(message)]


def _with_transitions(*extra: common.Transition) -> list[common.Transition]:
    return [*STATE_MACHINE_TRANSITIONS, *extra]


def _ombc(**changes: Any) -> S2Message:
    return ombc_description(**changes)


def _frbc(**actuator: Any) -> S2Message:
    return frbc_description(actuators=[frbc_actuator(**actuator)])


def _ddbc(**actuator: Any) -> S2Message:
    return ddbc_description(actuators=[ddbc_actuator(**actuator)])


_OFF_ON_BOOST = [ombc_mode("off", 0, 0), ombc_mode("on", 1000, 2000), ombc_mode("boost", 2000, 4000, abnormal=True)]
_FRBC_MODES = frbc_actuator().operation_modes
_DDBC_MODES = ddbc_actuator().operation_modes


def _machine_cases(
    area: str, build: Callable[..., S2Message], modes: Sequence[Any], mode: Callable[[str], Any]
) -> list[Case]:
    """The five state-machine rules, shared by OMBC, FRBC and DDBC (numbered per area)."""
    first = 1 if area == "OMBC" else 2
    b = build
    rule = [f"S2-{area}-{n:03d}" for n in range(first, first + 5)]
    return [
        Case(rule[0], b(operation_modes=[*modes, mode("on")]), b(operation_modes=[*modes, mode("extra")])),
        Case(
            rule[1],
            b(transitions=_with_transitions(transition("t-on", "on", "boost", abnormal=True))),
            b(transitions=_with_transitions(transition("t-on-boost", "on", "boost", abnormal=True))),
        ),
        Case(
            rule[2],
            b(timers=[*STATE_MACHINE_TIMERS, timer("min-on")]),
            b(timers=[*STATE_MACHINE_TIMERS, timer("spare")]),
        ),
        Case(
            rule[3],
            b(transitions=_with_transitions(transition("t-x", "on", "nowhere"))),
            b(transitions=_with_transitions(transition("t-x", "on", "boost", abnormal=True))),
        ),
        Case(
            rule[4],
            b(transitions=_with_transitions(transition("t-x", "on", "boost", block=["no-such-timer"]))),
            b(transitions=_with_transitions(transition("t-x", "on", "boost", block=["min-on"]))),
        ),
    ]


def _status_cases(
    area: str, first: int, status: Callable[..., S2Message], instruction: Callable[..., S2Message]
) -> list[Case]:
    """Factor and previous-mode rules of statuses and instructions."""
    s, i = status, instruction
    rule = [f"S2-{area}-{n:03d}" for n in range(first, first + 4)]
    return [
        Case(rule[0], s("on", 1.5), s("on", 1.0)),
        Case(rule[1], i("on", -0.1), i("on", 0.0)),
        Case(
            rule[2],
            s("on", 0.5, previous_operation_mode_id="on", transition_timestamp=T0),
            s("on", 0.5, previous_operation_mode_id="off", transition_timestamp=T0),
        ),
        Case(
            rule[3],
            s("on", 0.5, previous_operation_mode_id="off"),
            s("on", 0.5),
        ),
    ]


def _frbc_two_elements(a: tuple[float, float], b: tuple[float, float], *more: tuple[float, float]) -> S2Message:
    elements = [frbc_element(lo, hi) for lo, hi in (a, b, *more)]
    return _frbc(operation_modes=[*_FRBC_MODES, frbc_mode("staged", elements)])


def _ranges_frbc(*ranges: object, supported: list[Commodity] | None = None) -> S2Message:
    element = frbc_element(0, 100, list(ranges))  # type: ignore[arg-type]
    return _frbc(
        operation_modes=[*_FRBC_MODES, frbc_mode("multi", [element])], supported_commodities=supported or [ELECTRICITY]
    )


def _ranges_ddbc(*ranges: object, supported: list[Commodity] | None = None) -> S2Message:
    mode = ddbc_mode("multi", 0, 0, power_ranges=list(ranges))
    return _ddbc(operation_modes=[*_DDBC_MODES, mode], supported_commodites=supported or [ELECTRICITY])


def _pp_status(*statuses: common.NumberRange | object) -> S2Message:
    return profile_status(*statuses)  # type: ignore[arg-type]


CASES: list[Case] = [
    # handshake and details
    Case(
        "S2-HANDSHAKE-001",
        common.Handshake(message_id="m1", role=EnergyManagementRole.RM),
        common.Handshake(message_id="m1", role=EnergyManagementRole.CEM),
    ),
    Case(
        "S2-HANDSHAKE-002",
        handshake(EnergyManagementRole.RM, ["0.0.2-beta", "0.0.2-beta"]),
        handshake(EnergyManagementRole.RM, ["0.0.2-beta", "1.0.0"]),
    ),
    Case(
        "S2-RMD-001",
        details(available_control_types=[CT.FILL_RATE_BASED_CONTROL, CT.FILL_RATE_BASED_CONTROL]),
        details(available_control_types=[CT.FILL_RATE_BASED_CONTROL, CT.OPERATION_MODE_BASED_CONTROL]),
    ),
    Case(
        "S2-RMD-002",
        details(provides_power_measurement_types=[L1, L1]),
        details(provides_power_measurement_types=[L1, L2]),
    ),
    Case(
        "S2-RMD-003",
        details(roles=[common.Role(role=RoleType.ENERGY_CONSUMER, commodity=ELECTRICITY)] * 2),
        details(
            roles=[
                common.Role(role=RoleType.ENERGY_CONSUMER, commodity=ELECTRICITY),
                common.Role(role=RoleType.ENERGY_PRODUCER, commodity=ELECTRICITY),
            ]
        ),
    ),
    Case(
        "S2-RMD-004",
        details(available_control_types=[CT.NO_SELECTION, CT.FILL_RATE_BASED_CONTROL]),
        details(available_control_types=[CT.FILL_RATE_BASED_CONTROL]),
    ),
    Case(
        "S2-RMD-005",
        details(available_control_types=[CT.NOT_CONTROLABLE, CT.FILL_RATE_BASED_CONTROL]),
        details(available_control_types=[CT.NOT_CONTROLABLE]),
    ),
    Case("S2-MEAS-001", measurement(L1, L1), measurement(L1, L2)),
    Case(
        "S2-FCST-001",
        forecast([common.PowerForecastElement(duration=MINUTE, power_values=[forecast_value(), forecast_value()])]),
        forecast(
            [common.PowerForecastElement(duration=MINUTE, power_values=[forecast_value(), forecast_value(cq=L2)])]
        ),
    ),
    Case(
        "S2-RS-003",
        reception("m1", ReceptionStatusValues.INVALID_CONTENT),
        reception("m1", ReceptionStatusValues.INVALID_CONTENT, "S2-X at /: why"),
    ),
    Case("S2-RS-003", reception("m1", ReceptionStatusValues.TEMPORARY_ERROR), reception("m1")),
    # shared object rules
    Case(
        "S2-COMMON-001",
        forecast(
            [
                common.PowerForecastElement(
                    duration=MINUTE, power_values=[forecast_value(-3000, value_upper_limit=-3100)]
                )
            ]
        ),
        forecast(
            [
                common.PowerForecastElement(
                    duration=MINUTE, power_values=[forecast_value(-3000, value_upper_limit=-3000)]
                )
            ]
        ),
    ),
    Case(
        "S2-COMMON-001",
        usage_forecast(usage_rate_lower_68PPR=0.002, usage_rate_upper_68PPR=0.003),
        usage_forecast(usage_rate_lower_68PPR=0.0005, usage_rate_upper_limit=0.003),
    ),
    Case("S2-COMMON-001", demand_forecast(demand_rate_lower_limit=1.5), demand_forecast(demand_rate_lower_limit=0.5)),
    Case(
        "S2-COMMON-001",
        profile(
            power_sequences_containers=[
                container(
                    "c1",
                    [
                        replace(
                            sequence("s1"),
                            elements=[
                                replace(
                                    sequence("s1").elements[0], power_values=[forecast_value(10, value_lower_95PPR=11)]
                                )
                            ],
                        )
                    ],
                )
            ]
        ),
        profile(power_sequences_containers=[container("c1", [sequence("s1")])]),
    ),
    Case(
        "S2-COMMON-002",
        forecast([common.PowerForecastElement(duration=0, power_values=[forecast_value()])]),
        forecast([common.PowerForecastElement(duration=1, power_values=[forecast_value()])]),
    ),
    Case("S2-COMMON-002", usage_forecast(duration=0), usage_forecast(duration=1)),
    Case("S2-COMMON-002", demand_forecast(duration=0), demand_forecast(duration=1)),
    Case("S2-COMMON-002", target_profile(duration=0), target_profile(duration=1)),
    Case("S2-COMMON-002", pebc_instruction([envelope(minutes=0)]), pebc_instruction([envelope(minutes=1)])),
    Case(
        "S2-COMMON-002",
        profile(power_sequences_containers=[container("c1", [sequence("s1", (0, 30))])]),
        profile(power_sequences_containers=[container("c1", [sequence("s1", (1, 30))])]),
    ),
    Case(
        "S2-COMMON-003",
        _ombc(operation_modes=[*_OFF_ON_BOOST[:2], ombc_mode("boost", 0, 1, True, running_costs=number_range(2, 1))]),
        _ombc(operation_modes=[*_OFF_ON_BOOST[:2], ombc_mode("boost", 0, 1, True, running_costs=number_range(1, 1))]),
    ),
    Case(
        "S2-COMMON-003",
        _frbc(operation_modes=[*_FRBC_MODES, frbc_mode("c", [frbc_element(0, 100, running_costs=number_range(3, 2))])]),
        _frbc(operation_modes=[*_FRBC_MODES, frbc_mode("c", [frbc_element(0, 100, running_costs=number_range(2, 3))])]),
    ),
    Case(
        "S2-COMMON-003",
        _ddbc(operation_modes=[*_DDBC_MODES, ddbc_mode("c", 0, 0, running_costs=number_range(3, 2))]),
        _ddbc(operation_modes=[*_DDBC_MODES, ddbc_mode("c", 0, 0, running_costs=number_range(2, 3))]),
    ),
    Case(
        "S2-COMMON-004",
        _ombc(transitions=_with_transitions(transition("t-self", "on", "on"))),
        _ombc(transitions=_with_transitions(transition("t-self", "on", "boost", abnormal=True))),
    ),
    Case(
        "S2-COMMON-005",
        _frbc(transitions=_with_transitions(transition("t-x", "on", "boost", start=["min-on", "min-on"]))),
        _frbc(transitions=_with_transitions(transition("t-x", "on", "boost", start=["min-on", "min-off"]))),
    ),
    # PEBC
    Case(
        "S2-PEBC-001",
        power_constraints(valid_until=T0 - timedelta(seconds=1)),
        power_constraints(valid_until=T0),
    ),
    Case(
        "S2-PEBC-002",
        power_constraints(allowed_limit_ranges=[allowed(UPPER, 0, 1), allowed(UPPER, 2, 3)]),
        power_constraints(allowed_limit_ranges=[allowed(UPPER, 0, 1), allowed(LOWER, 2, 3)]),
    ),
    Case(
        "S2-PEBC-003",
        power_constraints(allowed_limit_ranges=[allowed(UPPER, 0, 1), allowed(LOWER, 0, 1), allowed(UPPER, 0, 1, L2)]),
        power_constraints(
            allowed_limit_ranges=[
                allowed(UPPER, 0, 1),
                allowed(LOWER, 0, 1),
                allowed(UPPER, 0, 1, L2),
                allowed(LOWER, 0, 1, L2),
            ]
        ),
    ),
    Case(
        "S2-PEBC-004",
        power_constraints(allowed_limit_ranges=[allowed(UPPER, 10, 5), allowed(LOWER, 0, 1)]),
        power_constraints(allowed_limit_ranges=[allowed(UPPER, 5, 5), allowed(LOWER, 0, 1)]),
    ),
    Case(
        "S2-PEBC-005",
        energy_constraint(lower_average_power=3000.0, upper_average_power=2000.0),
        energy_constraint(lower_average_power=2000.0, upper_average_power=2000.0),
    ),
    Case(
        "S2-PEBC-006",
        energy_constraint(valid_from=T0, valid_until=T0),
        energy_constraint(valid_from=T0, valid_until=T0 + timedelta(seconds=1)),
    ),
    Case(
        "S2-PEBC-007",
        pebc_instruction([envelope("a"), envelope("b")]),
        pebc_instruction([envelope("a"), envelope("b", cq=L2)]),
    ),
    Case("S2-PEBC-008", pebc_instruction([envelope(limits=[(10, 5)])]), pebc_instruction([envelope(limits=[(5, 5)])])),
    Case(
        "S2-PEBC-009",
        pebc_instruction([envelope("a"), envelope("a", cq=L2)]),
        pebc_instruction([envelope("a"), envelope("b", cq=L2)]),
    ),
    # PPBC
    Case("S2-PPBC-001", profile(end_time=T0), profile(end_time=T0 + timedelta(minutes=60))),
    Case(
        "S2-PPBC-002",
        profile(power_sequences_containers=[container("c1", [sequence("s1")]), container("c1", [sequence("s2")])]),
        profile(power_sequences_containers=[container("c1", [sequence("s1")]), container("c2", [sequence("s2")])]),
    ),
    Case(
        "S2-PPBC-003",
        profile(power_sequences_containers=[container("c1", [sequence("s1"), sequence("s1")])]),
        profile(power_sequences_containers=[container("c1", [sequence("s1"), sequence("s2")])]),
    ),
    Case(
        "S2-PPBC-004",
        profile(
            power_sequences_containers=[
                container(
                    "c1",
                    [
                        replace(
                            sequence("s1"),
                            elements=[
                                replace(
                                    sequence("s1").elements[0], power_values=[forecast_value(1.0), forecast_value(2.0)]
                                )
                            ],
                        )
                    ],
                )
            ]
        ),
        profile(
            power_sequences_containers=[
                container(
                    "c1",
                    [
                        replace(
                            sequence("s1"),
                            elements=[
                                replace(
                                    sequence("s1").elements[0],
                                    power_values=[forecast_value(1.0), forecast_value(2.0, cq=L2)],
                                )
                            ],
                        )
                    ],
                )
            ]
        ),
    ),
    Case("S2-PPBC-005", profile(end_time=T0 + timedelta(minutes=59)), profile(end_time=T0 + timedelta(minutes=60))),
    Case(
        "S2-PPBC-006",
        _pp_status(container_status("c1", PS.EXECUTING, "s1")),
        _pp_status(container_status("c1", PS.EXECUTING, "s1", progress=1000)),
    ),
    Case(
        "S2-PPBC-007",
        _pp_status(container_status("c1", PS.SCHEDULED)),
        _pp_status(container_status("c1", PS.SCHEDULED, "s1")),
    ),
    Case(
        "S2-PPBC-008",
        _pp_status(container_status("c1"), container_status("c1")),
        _pp_status(container_status("c1"), container_status("c2")),
    ),
    # OMBC
    *_machine_cases("OMBC", _ombc, _OFF_ON_BOOST, lambda i: ombc_mode(i, 0, 0)),
    Case(
        "S2-OMBC-006",
        _ombc(
            operation_modes=[*_OFF_ON_BOOST, ombc_mode("x", 0, 0, power_ranges=[power_range(0, 1), power_range(0, 1)])]
        ),
        _ombc(
            operation_modes=[
                *_OFF_ON_BOOST,
                ombc_mode("x", 0, 0, power_ranges=[power_range(0, 1), power_range(0, 1, L2)]),
            ]
        ),
    ),
    *_status_cases("OMBC", 7, ombc_status, ombc_instruction),
    # FRBC
    Case(
        "S2-FRBC-001",
        frbc_description(actuators=[frbc_actuator("a"), frbc_actuator("a")]),
        frbc_description(actuators=[frbc_actuator("a"), frbc_actuator("b")]),
    ),
    *_machine_cases("FRBC", _frbc, list(_FRBC_MODES), lambda i: frbc_mode(i)),
    Case(
        "S2-FRBC-007",
        _ranges_frbc(power_range(0, 1), power_range(0, 1)),
        _ranges_frbc(power_range(0, 1), power_range(0, 1, L2)),
    ),
    Case(
        "S2-FRBC-008",
        _ranges_frbc(power_range(0, 1), power_range(0, 1, GAS_FLOW)),
        _ranges_frbc(power_range(0, 1), power_range(0, 1, GAS_FLOW), supported=[ELECTRICITY, Commodity.GAS]),
    ),
    Case(
        "S2-FRBC-009",
        _frbc(supported_commodities=[ELECTRICITY, ELECTRICITY]),
        _frbc(supported_commodities=[ELECTRICITY, Commodity.HEAT]),
    ),
    Case("S2-FRBC-010", _frbc_two_elements((0, 50), (50, 50), (50, 100)), _frbc_two_elements((0, 50), (50, 100))),
    Case("S2-FRBC-011", _frbc_two_elements((0, 40), (50, 100)), _frbc_two_elements((50, 100), (0, 50))),
    Case("S2-FRBC-011", _frbc_two_elements((0, 60), (50, 100)), _frbc_two_elements((0, 60), (60, 100))),
    Case(
        "S2-FRBC-012",
        _frbc(operation_modes=[*_FRBC_MODES, frbc_mode("part", [frbc_element(0, 90)])]),
        _frbc(operation_modes=[*_FRBC_MODES, frbc_mode("part", [frbc_element(-10, 110)])]),
    ),
    Case("S2-FRBC-013", frbc_description(storage=storage(100, 0)), frbc_description(storage=storage(0, 0))),
    Case("S2-FRBC-014", leakage((0, 50), (50, 50), (50, 100)), leakage((0, 50), (50, 100))),
    Case("S2-FRBC-015", leakage((0, 40), (50, 100)), leakage((50, 100), (0, 50))),
    Case("S2-FRBC-016", target_profile(60, 40), target_profile(40, 40)),
    *_status_cases("FRBC", 17, frbc_status, frbc_instruction),
    # DDBC
    Case(
        "S2-DDBC-001",
        ddbc_description(actuators=[ddbc_actuator("a"), ddbc_actuator("a")]),
        ddbc_description(actuators=[ddbc_actuator("a"), ddbc_actuator("b")]),
    ),
    *_machine_cases("DDBC", _ddbc, list(_DDBC_MODES), lambda i: ddbc_mode(i, 0, 0)),
    Case(
        "S2-DDBC-007",
        _ranges_ddbc(power_range(0, 1), power_range(0, 1)),
        _ranges_ddbc(power_range(0, 1), power_range(0, 1, L2)),
    ),
    Case(
        "S2-DDBC-008",
        _ranges_ddbc(power_range(0, 1, GAS_FLOW)),
        _ranges_ddbc(power_range(0, 1, GAS_FLOW), supported=[ELECTRICITY, Commodity.GAS]),
    ),
    Case(
        "S2-DDBC-009",
        _ddbc(supported_commodites=[ELECTRICITY, ELECTRICITY]),
        _ddbc(supported_commodites=[ELECTRICITY, Commodity.GAS]),
    ),
    Case(
        "S2-DDBC-010",
        _ddbc(transitions=[], timers=[]),
        _ddbc(operation_modes=[ddbc_mode("only", 0, 0)], transitions=[], timers=[]),
    ),
    Case(
        "S2-DDBC-011",
        ddbc_description(present_demand_rate=number_range(2, 1)),
        ddbc_description(present_demand_rate=number_range(1, 1)),
    ),
    Case(
        "S2-DDBC-011",
        ddbc.DDBCPresentDemandStatus(message_id="m1", present_demand_rate=number_range(2, 1)),
        ddbc.DDBCPresentDemandStatus(message_id="m1", present_demand_rate=number_range(1, 2)),
    ),
    *_status_cases("DDBC", 12, ddbc_status, ddbc_instruction),
]

FIRES: frozenset[str] = frozenset(case.rule for case in CASES)
"""Rule ids with a firing test in this module (the catalogue test checks coverage)."""


@pytest.mark.parametrize("case", CASES, ids=[f"{c.rule}-{i}" for i, c in enumerate(CASES)])
def test_rule_fires_on_the_broken_message(case: Case) -> None:
    assert case.rule in _findings(case.bad)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.rule}-{i}" for i, c in enumerate(CASES)])
def test_near_miss_does_not_fire(case: Case) -> None:
    assert case.rule not in _findings(case.good)


def test_cases_only_name_context_free_rules() -> None:
    for case in CASES:
        assert not CATALOGUE[case.rule].needs_context, case.rule


def test_the_builders_break_no_rule() -> None:
    for message in (
        details(),
        forecast(),
        ombc_description(),
        frbc_description(),
        ddbc_description(),
        power_constraints(),
        energy_constraint(),
        pebc_instruction(),
        profile(),
        profile_status(),
        leakage(),
        usage_forecast(),
        target_profile(),
        demand_forecast(),
    ):
        assert _findings(message) == [], message


def test_diagnostic_names_rule_pointer_and_value() -> None:
    (first,) = check_message(frbc_instruction("on", 1.3))
    assert first.diagnostic == "S2-FRBC-018 at /operation_mode_factor: 1.3 is outside [0, 1]"
    assert first.severity == "error"


def test_a_transition_to_an_unknown_mode_names_it() -> None:
    bad = _frbc(transitions=_with_transitions(transition("t-x", "on", "om9")))
    (found,) = check_message(bad)
    assert found.diagnostic == "S2-FRBC-005 at /actuators/0/transitions/4/to: om9 is not an operation mode of act1"


def test_production_power_range_running_down_is_not_an_error() -> None:
    mode = ombc_mode("produce", 0, -4000)
    assert _findings(_ombc(operation_modes=[*_OFF_ON_BOOST, mode])) == []


def test_every_message_type_without_rules_yields_nothing() -> None:
    assert check_message(common.SelectControlType(message_id="m1", control_type=CT.NO_SELECTION)) == []


def test_inverted_fill_level_ranges_are_errors_alike() -> None:
    """An inverted range holds no fill level at all: the storage's range (S2-FRBC-013) is an error
    like an element's (S2-FRBC-010, "shall be smaller" in the standard) and a target's (016)."""
    rules = OM_RULE_IDS["FRBC"]
    severities = {CATALOGUE[rules[key]].severity for key in ("element_range", "storage_range", "target_range")}
    assert severities == {"error"}
    found = check_message(frbc_description(storage=storage(100, 0)))
    assert [(f.rule, f.severity) for f in found] == [(rules["storage_range"], "error")]
