"""CEM views of OMBC, FRBC and DDBC RMs: what they know, what they answer, what they refuse to build."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from builders import (
    CEM_TO_RM,
    L1,
    T0,
    Session,
    at,
    ddbc_actuator,
    ddbc_description,
    ddbc_mode,
    ddbc_status,
    ddbc_timer,
    demand_forecast,
    frbc_actuator,
    frbc_description,
    frbc_element,
    frbc_mode,
    frbc_status,
    frbc_timer,
    leakage,
    mid,
    number_range,
    ombc_description,
    ombc_mode,
    ombc_status,
    ombc_timer,
    power_range,
    revoke,
    status_update,
    storage_status,
    target_profile,
    timer,
    transition,
    usage_forecast,
)
from s2ws import decode
from s2ws.control import DDBCView, FRBCView, OMBCView, QuantityValue, Reach
from s2ws.control.operation_modes import iso
from s2ws.errors import InstructionRefused, ResolutionError
from s2ws.messages import (
    CommodityQuantity,
    ControlType,
    DDBCPresentDemandStatus,
    DDBCSystemDescriptionV1,
    FRBCActuatorStatus,
    FRBCInstruction,
    FRBCTimerStatus,
    InstructionStatus,
    OMBCInstruction,
    RevokableObjects,
    new_id,
)
from s2ws.rules.catalogue import OM_RULE_IDS

OMBC = OM_RULE_IDS["OMBC"]
FRBC = OM_RULE_IDS["FRBC"]
DDBC = OM_RULE_IDS["DDBC"]
THREE_PHASE = CommodityQuantity.ELECTRIC_POWER_3_PHASE_SYMMETRIC


def load(examples: Path, name: str) -> Any:
    return decode((examples / name).read_text())


def ombc_view(**description: Any) -> OMBCView:
    view = OMBCView()
    view.apply(ombc_description(**description), T0)
    view.apply(ombc_status("off"), T0)
    return view


# --- the official walkthroughs -----------------------------------------------------------------


def heat_pump(examples: Path) -> tuple[FRBCView, Any]:
    description = load(examples, "heat-pump-08-FRBC.SystemDescription.json")
    now = description.valid_from + timedelta(hours=1)
    view = FRBCView()
    for name in (
        "heat-pump-08-FRBC.SystemDescription.json",
        "heat-pump-09-FRBC.LeakageBehaviour.json",
        "heat-pump-12-FRBC.StorageStatus.json",
    ):
        assert view.apply(load(examples, name), now)
    # The walkthrough's statuses name "actuator0"/"actuator" although the description defines
    # "actuator1" (docs/errata); the same content with the right id:
    status = load(examples, "heat-pump-11-FRBC.ActuatorStatus.json")
    assert view.apply(replace(status, actuator_id="actuator1"), now)
    return view, now


def test_heat_pump_walkthrough_picture(examples_dir: Path) -> None:
    view, _ = heat_pump(examples_dir)
    assert view.fill_level == 52
    assert view.actuator_status("actuator1") is not None
    assert view.storage() is not None and view.storage().fill_level_label == "temperature"  # type: ignore[union-attr]
    power = view.power_at("actuator1", "om0", 0.5)
    assert power == {L1: QuantityValue(L1, 1250.0)}
    assert str(power[L1]) == "1250 W ELECTRIC.POWER.L1"
    assert view.fill_rate_at("actuator1", "om0", 0.0) == 0.00209
    assert view.fill_rate_at("actuator1", "om0", 1.0) == 0.00835
    assert view.factor_for_power("actuator1", "om0", L1, 2000) == 1.0
    assert view.factor_for_fill_rate("actuator1", "om0", 0.00209) == 0.0
    assert view.leakage_rate() == 0.00005
    reach = {r.mode_id: r for r in view.reachable_modes("actuator1")}
    assert reach["om0"].reach is Reach.ACTIVE
    assert reach["om1"].reach is Reach.NOW and "trans0" in reach["om1"].reason


def test_heat_pump_minimum_run_time_blocks_switching_off(examples_dir: Path) -> None:
    view, now = heat_pump(examples_dir)
    until = now + timedelta(minutes=42)
    view.apply(FRBCTimerStatus(message_id=new_id(), timer_id="timer1", actuator_id="actuator1", finished_at=until), now)
    om1 = {r.mode_id: r for r in view.reachable_modes("actuator1")}["om1"]
    assert om1.reach is Reach.LATER and om1.at == until
    assert om1.rule == FRBC["transition_blocked"]
    with pytest.raises(InstructionRefused) as caught:
        view.instruct("actuator1", "om1", 0.0, now + timedelta(minutes=10), now)
    refusal = caught.value
    assert refusal.rule == FRBC["transition_blocked"]
    assert refusal.reason == (
        "transition trans0 om0 (running)→om1 (Off) is blocked by timer timer1 (Minimum off time) "
        f"until {iso(until)}, after the execution time {iso(now + timedelta(minutes=10))}"
    )
    built = view.instruct("actuator1", "om1", 0.0, until, now)
    assert isinstance(built, FRBCInstruction) and built.execution_time == until


def test_heat_pump_fill_level_outside_every_element(examples_dir: Path) -> None:
    view, now = heat_pump(examples_dir)
    with pytest.raises(InstructionRefused) as caught:
        view.instruct("actuator1", "om0", 1.0, now, now, fill_level=58)
    assert caught.value.rule == FRBC["fill_level"]
    assert "fill level 58 (its elements cover [45, 55])" in caught.value.reason
    never = {r.mode_id: r for r in view.reachable_modes("actuator1", fill_level=44)}
    assert never["om1"].reach is Reach.NEVER and "fill level 44" in never["om1"].reason


def test_ev_walkthrough_power_and_its_factor(examples_dir: Path) -> None:
    description = load(examples_dir, "ev-08-FRBC.SystemDescription.json")
    now = description.valid_from
    view = FRBCView()
    view.apply(description, now)
    view.apply(load(examples_dir, "ev-11-FRBC.StorageStatus.json"), now)
    assert view.power_at("actuator1", "om2", 0.0) == {THREE_PHASE: QuantityValue(THREE_PHASE, 1400)}
    assert view.power_at("actuator1", "om2", 1.0)[THREE_PHASE].value == 11000
    built = view.instruct_power("actuator1", "om2", THREE_PHASE, 6200, now, now)
    assert built.operation_mode_factor == 0.5 and built.operation_mode == "om2"
    assert built.id != built.message_id and len(built.id) == 36  # UUID4 strings
    with pytest.raises(InstructionRefused) as caught:
        view.instruct_power("actuator1", "om2", THREE_PHASE, 12000, now, now)
    assert caught.value.rule == FRBC["instruction_factor"]
    assert "12000 W is outside the ELECTRIC.POWER.3_PHASE_SYMMETRIC range [1400, 11000] W" in caught.value.reason
    with pytest.raises(ResolutionError, match=r"has no power range for HEAT\.THERMAL_POWER"):
        view.factor_for_power("actuator1", "om2", CommodityQuantity.HEAT_THERMAL_POWER, 10)


# --- OMBC: timers, chains, abnormal conditions -------------------------------------------------


def test_reachability_now_later_never_with_reasons() -> None:
    view = ombc_view()
    view.apply(ombc_timer("min-off", at(5)), T0)
    reach = {r.mode_id: r for r in view.reachable_modes(at(1))}
    assert reach["off"].reach is Reach.ACTIVE and reach["off"].reachable
    assert reach["on"].reach is Reach.LATER and reach["on"].at == at(5) and not reach["on"].reachable
    assert "blocked by timer min-off (minimum off time) until 2024-08-24T14:05:00Z" in reach["on"].reason
    assert reach["boost"].reach is Reach.NEVER and reach["boost"].rule == OMBC["abnormal"]
    abnormal = {r.mode_id: r for r in view.reachable_modes(at(6), abnormal=True)}
    assert abnormal["on"].reach is Reach.NOW and abnormal["on"].transition is not None
    assert abnormal["boost"].reach is Reach.NOW
    assert abnormal["boost"].reason == "via transition t-boost off→boost"


def test_no_transition_is_never() -> None:
    view = ombc_view()
    view.apply(ombc_status("on", 0.5), T0)
    reach = {r.mode_id: r for r in view.reachable_modes(at(1), abnormal=True)}
    assert reach["boost"].reach is Reach.NEVER
    assert reach["boost"].reason == "the system description has no transition on→boost"
    with pytest.raises(InstructionRefused, match="has no transition on→boost") as caught:
        view.instruct("boost", 1.0, at(1), T0, abnormal=True)
    assert caught.value.rule == OMBC["transition_exists"]


def test_pending_instructions_chain_and_start_timers() -> None:
    view = ombc_view()
    switch_on = view.instruct("on", 0.5, at(1), T0)
    assert view.pending_instructions() == [switch_on]
    with pytest.raises(InstructionRefused) as caught:
        view.instruct("off", 0.0, at(5), T0)
    assert caught.value.reason.startswith("transition t-off on→off is blocked by timer min-on (minimum run time)")
    assert f"until {iso(at(11))}" in caught.value.reason
    # The RM rejected the first instruction: the chain forgets it, and "off" is the active mode again.
    view.apply(status_update(switch_on.id, InstructionStatus.REJECTED), T0)
    assert view.instruction_status(switch_on.id) is InstructionStatus.REJECTED
    assert view.pending_instructions() == []
    view.instruct("off", 0.3, at(5), T0)  # a factor change: always allowed


def test_revoked_and_forgotten_instructions_leave_the_chain() -> None:
    view = ombc_view()
    first = view.instruct("on", 0.5, at(1), T0)
    revocation = view.revoke(first.id, T0)
    assert revocation.object_type is RevokableObjects.OMBC_Instruction and revocation.object_id == first.id
    view.instruct("off", 0.0, at(2), T0)  # "off" is expected again
    second = view.instruct("on", 0.5, at(3), T0)
    view.forget(second.id)
    assert [i.operation_mode_id for i in view.pending_instructions()] == ["off"]
    unrecorded = view.instruct("on", 1.0, at(4), T0, record=False)
    assert unrecorded.id not in {i.id for i in view.pending_instructions()}


def test_a_later_status_overtakes_pending_instructions() -> None:
    view = ombc_view()
    view.instruct("on", 0.5, at(1), T0)
    view.apply(ombc_status("off", 0.0, previous_operation_mode_id="on", transition_timestamp=at(2)), at(2))
    assert view.expected(at=at(3)).mode_id == "off"
    view.apply(ombc_timer("min-off", at(12)), at(2))
    with pytest.raises(InstructionRefused, match="min-off"):
        view.instruct("on", 0.5, at(3), at(2))


def test_abnormal_only_modes_and_transitions() -> None:
    view = ombc_view()
    with pytest.raises(InstructionRefused) as caught:
        view.instruct("boost", 1.0, at(1), T0)
    assert caught.value.rule == OMBC["abnormal"] and caught.value.pointer == "/abnormal_condition"
    assert caught.value.reason == "operation mode boost may only be used under an abnormal condition"
    description = ombc_description(
        operation_modes=[ombc_mode("off", 0, 0), ombc_mode("on", 1000, 2000), ombc_mode("boost", 2000, 4000)]
    )
    view = OMBCView()
    view.apply(description, T0)
    view.apply(ombc_status("off"), T0)
    with pytest.raises(InstructionRefused, match=r"transition t-boost off→boost may only be used under an abnormal"):
        view.instruct("boost", 1.0, at(1), T0)
    built = view.instruct("boost", 1.0, at(1), T0, abnormal=True)
    assert isinstance(built, OMBCInstruction) and built.abnormal_condition


def test_refusals_for_factor_and_unknown_mode() -> None:
    view = ombc_view()
    with pytest.raises(InstructionRefused) as caught:
        view.instruct("on", 1.25, at(1), T0)
    assert caught.value.rule == OMBC["instruction_factor"] and caught.value.reason == "factor 1.25 is outside [0, 1]"
    with pytest.raises(InstructionRefused) as caught:
        view.instruct("turbo", 0.5, at(1), T0)
    assert caught.value.rule == OMBC["instr_om"]
    assert caught.value.reason == "turbo is not an operation mode of the system description (it has off, on, boost)"


def test_scheduled_superseding_and_revoked_descriptions() -> None:
    view = OMBCView()
    with pytest.raises(InstructionRefused, match=r"no OMBC\.SystemDescription was received"):
        view.instruct("on", 0.5, T0, T0)
    first = ombc_description()
    later = ombc_description(message_id=mid(), valid_from=at(30), operation_modes=[ombc_mode("off", 0, 0)])
    view.apply(first, T0)
    view.apply(later, T0)
    assert view.description(T0) is first and view.descriptions.scheduled(T0) == [later]
    assert view.description(at(31)) is later
    assert view.power_at("on", 1.0)[L1].value == 2000
    with pytest.raises(InstructionRefused, match="on is not an operation mode"):
        view.instruct("on", 0.5, at(31), T0)
    assert view.apply(revoke(RevokableObjects.OMBC_SystemDescription, later.message_id), T0)
    assert view.descriptions.scheduled(T0) == []
    assert view.apply(revoke(RevokableObjects.OMBC_SystemDescription, first.message_id), T0)
    with pytest.raises(InstructionRefused, match=r"no OMBC\.SystemDescription is in force at 2024-08-24T14:00:00Z"):
        view.instruct("on", 0.5, T0, T0)


def test_not_yet_valid_description_names_its_start() -> None:
    view = OMBCView()
    view.apply(ombc_description(valid_from=at(10)), T0)
    with pytest.raises(InstructionRefused, match=r"\(the next one is valid from 2024-08-24T14:10:00Z\)"):
        view.instruct("on", 0.5, at(1), T0)
    view.instruct("off", 0.5, at(10), T0)


def test_refusals_agree_with_the_rule_catalogue() -> None:
    """The rule a view refuses under is the rule the session context finds in the same situation."""
    session = Session().ready(ControlType.OPERATION_MODE_BASED_CONTROL)
    session.rm(ombc_timer("min-off", at(5)))
    view = ombc_view()
    view.apply(ombc_timer("min-off", at(5)), T0)
    with pytest.raises(InstructionRefused) as caught:
        view.instruct("on", 0.5, at(1), T0)
    raw = OMBCInstruction(
        message_id=mid(),
        id=new_id(),
        execution_time=at(1),
        operation_mode_id="on",
        operation_mode_factor=0.5,
        abnormal_condition=False,
    )
    assert session.check(CEM_TO_RM, raw) == [caught.value.rule]
    assert session.check(CEM_TO_RM, view.instruct("on", 0.5, at(5), T0)) == []


# --- FRBC: elements by fill level, storage information -----------------------------------------

LEVELS = [frbc_element(0, 50, [power_range(1000, 2000)]), frbc_element(50, 100, [power_range(1500, 3000)])]


def frbc_view(level: float | None = 40.0) -> FRBCView:
    actuator = frbc_actuator(
        operation_modes=[frbc_mode("off", [frbc_element(0, 100, [power_range(0, 0)])]), frbc_mode("on", LEVELS)]
    )
    view = FRBCView()
    view.apply(frbc_description(actuators=[actuator]), T0)
    view.apply(frbc_status("off"), T0)
    if level is not None:
        view.apply(storage_status(level), T0)
    return view


def test_frbc_element_selection_by_fill_level() -> None:
    view = frbc_view()
    assert view.power_at("act1", "on", 1.0)[L1].value == 2000
    assert view.power_at("act1", "on", 1.0, fill_level=50)[L1].value == 3000  # a boundary starts the next element
    assert view.power_at("act1", "on", 1.0, fill_level=100)[L1].value == 3000  # the top holds its end
    assert view.element_for("act1", "on", fill_level=0).fill_level_range.end_of_range == 50
    with pytest.raises(InstructionRefused) as caught:
        view.element_for("act1", "on", fill_level=101)
    assert caught.value.rule == FRBC["fill_level"]
    assert caught.value.reason.endswith("has no element for fill level 101 (its elements cover [0, 50], [50, 100])")
    assert view.factor_for_power("act1", "on", L1, 2250, fill_level=75) == 0.5


def test_frbc_without_a_fill_level_needs_one_for_split_modes() -> None:
    view = frbc_view(level=None)
    assert view.power_at("act1", "off", 0.5)[L1].value == 0
    with pytest.raises(InstructionRefused, match="has 2 elements and no fill level is known"):
        view.power_at("act1", "on", 0.5)
    view.instruct("act1", "on", 0.5, at(1), T0)  # the RM judges the level; without one the CEM cannot


def test_frbc_storage_side_information() -> None:
    view = frbc_view()
    for message in (leakage(), usage_forecast(), target_profile()):
        assert view.apply(message, T0)
    assert view.leakage_rate() == 0.0001
    with pytest.raises(ResolutionError, match="no element for fill level 120"):
        view.leakage_rate(120)
    assert view.usage_rate_at(at(14)) == 0.001 and view.usage_rate_at(at(15)) is None
    assert view.target_at(at(59)) == number_range(40, 60) and view.target_at(at(-1)) is None
    assert view.fill_rate_at("act1", "on", 0.5) == pytest.approx(0.0015)
    view.clear()
    assert view.fill_level is None and view.usage_forecast is None and view.description(T0) is None


def test_frbc_unknown_actuator_and_other_actuators_untouched() -> None:
    view = frbc_view()
    with pytest.raises(InstructionRefused) as caught:
        view.instruct("act9", "on", 0.5, at(1), T0)
    assert caught.value.rule == FRBC["instr_actuator"] and caught.value.pointer == "/actuator_id"
    assert "(it has act1)" in caught.value.reason
    view.apply(frbc_timer("min-off", at(10), actuator="act2"), T0)
    view.instruct("act1", "on", 0.5, at(1), T0)


def test_frbc_status_fields_are_kept() -> None:
    view = frbc_view()
    status = FRBCActuatorStatus(
        message_id=mid(),
        actuator_id="act1",
        active_operation_mode_id="on",
        operation_mode_factor=0.25,
        previous_operation_mode_id="off",
        transition_timestamp=at(1),
    )
    view.apply(status, at(1))
    kept = view.actuator_status("act1")
    assert kept is not None and (kept.mode_id, kept.factor, kept.previous_mode_id) == ("on", 0.25, "off")
    assert kept.transition_timestamp == at(1) and kept.since == at(1)


# --- DDBC: supply and demand ---------------------------------------------------------------------


def ddbc_view(description: Any = None) -> DDBCView:
    actuator = ddbc_actuator(
        operation_modes=[
            ddbc_mode("off", 0, 0, supply_range=number_range(0, 0)),
            ddbc_mode("on", 1000, 2000, supply_range=number_range(2, 6)),
            ddbc_mode("boost", 2000, 4000, abnormal=True),
        ]
    )
    view = DDBCView()
    view.apply(description or ddbc_description(actuators=[actuator]), T0)
    view.apply(ddbc_status("off"), T0)
    return view


def test_ddbc_supply_rate_both_directions() -> None:
    view = ddbc_view()
    assert view.supply_rate_at("act1", "on", 0.0) == 2 and view.supply_rate_at("act1", "on", 1.0) == 6
    assert view.factor_for_supply("act1", "on", 5) == 0.75
    assert view.factor_for_supply("act1", "off", 0) == 0.0
    with pytest.raises(ResolutionError, match="7 is outside the range"):
        view.factor_for_supply("act1", "on", 7)
    assert view.power_at("act1", "on", 0.5)[L1].value == 1500
    assert view.present_demand_rate() == number_range(1, 2)


def test_ddbc_profile_one_demand_status_and_forecast() -> None:
    v1 = DDBCSystemDescriptionV1(
        message_id=mid(), valid_from=T0, actuators=[ddbc_actuator()], provides_average_demand_rate_forecast=True
    )
    view = ddbc_view(v1)
    assert view.present_demand_rate() is None
    view.apply(DDBCPresentDemandStatus(message_id=mid(), present_demand_rate=number_range(3, 4)), T0)
    assert view.present_demand_rate() == number_range(3, 4)
    view.apply(demand_forecast(), T0)
    assert view.demand_rate_at(at(1)) == 1.0 and view.demand_rate_at(at(16)) is None


def test_ddbc_blocked_and_allowed() -> None:
    view = ddbc_view()
    view.apply(ddbc_timer("min-off", at(10)), T0)
    with pytest.raises(InstructionRefused) as caught:
        view.instruct("act1", "on", 0.5, at(9), T0)
    assert caught.value.rule == DDBC["transition_blocked"]
    built = view.instruct_power("act1", "on", L1, 2000, at(10), T0)
    assert built.operation_mode_factor == 1.0 and built.actuator_id == "act1"


# --- every commodity quantity through a view -----------------------------------------------------

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)


@settings(deadline=None, max_examples=60)
@given(
    bounds=st.lists(st.tuples(finite, finite), min_size=10, max_size=10),
    factor=st.floats(min_value=0.0, max_value=1.0),
)
def test_view_resolution_for_every_quantity(bounds: list[tuple[float, float]], factor: float) -> None:
    quantities = list(CommodityQuantity)
    ranges = [power_range(lo, hi, cq) for (lo, hi), cq in zip(bounds, quantities, strict=True)]
    description = ombc_description(
        operation_modes=[ombc_mode("off", 0, 0), ombc_mode("on", 0, 0, power_ranges=ranges)],
        transitions=[transition("t-on", "off", "on")],
        timers=[timer("unused")],
    )
    view = OMBCView()
    view.apply(description, T0)
    start, end = view.power_at("on", 0.0), view.power_at("on", 1.0)
    middle = view.power_at("on", factor)
    for (lo, hi), cq in zip(bounds, quantities, strict=True):
        assert start[cq].value == lo and end[cq].value == hi  # exactly, for every quantity
        assert view.factor_for_power("on", cq, lo) == 0.0
        if hi != lo:
            assert view.factor_for_power("on", cq, hi) == 1.0
        assert min(lo, hi) <= middle[cq].value <= max(lo, hi)
        if abs(hi - lo) > 1e-6 * max(1.0, abs(lo), abs(hi)):
            back = view.factor_for_power("on", cq, middle[cq].value)
            assert math.isclose(back, factor, rel_tol=1e-6, abs_tol=1e-6)
        built = view.instruct_power("on", cq, middle[cq].value, T0, T0, record=False)
        assert 0.0 <= built.operation_mode_factor <= 1.0


def test_transition_duration_and_unrelated_messages(examples_dir: Path) -> None:
    description = load(examples_dir, "ev-08-FRBC.SystemDescription.json")
    now = description.valid_from
    view = FRBCView()
    view.apply(description, now)
    assert not view.apply(load(examples_dir, "ev-09-PowerMeasurement.json"), now)
    status = FRBCActuatorStatus(
        message_id=mid(),
        actuator_id="actuator1",
        active_operation_mode_id="om2",
        operation_mode_factor=0.0,
        previous_operation_mode_id="om1",
        transition_timestamp=now,
    )
    view.apply(status, now)
    kept = view.actuator_status("actuator1")
    machine = view.machine("actuator1")
    assert kept is not None and kept.transitioning(machine, now + timedelta(milliseconds=2999))
    assert not kept.transitioning(machine, now + timedelta(milliseconds=3000))
    back = {r.mode_id: r for r in view.reachable_modes("actuator1")}["om1"]
    assert (
        back.reach is Reach.NOW and back.reason == "via transition transition2 om2 (Charging)→om1 (Off), taking 3000 ms"
    )
