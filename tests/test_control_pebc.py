"""PEBC control: the CEM's view of power constraints and the RM's envelope-following device."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from builders import Pair, reception_statuses
from s2ws.codec import decode
from s2ws.control.pebc import AllowedLimits, EnvelopeStep, PEBCDevice, PEBCView, limit_ranges
from s2ws.errors import InstructionRefused, InvalidContent
from s2ws.messages import (
    CommodityQuantity,
    ControlType,
    InstructionStatus,
    InstructionStatusUpdate,
    PEBCEnergyConstraint,
    PEBCInstruction,
    PEBCPowerConstraints,
    PEBCPowerEnvelope,
    PEBCPowerEnvelopeElement,
    RevokableObjects,
    RevokeObject,
    S2Message,
    SelectControlType,
    new_id,
)
from s2ws.rules import SessionContext
from s2ws.session import MessageReceived

L1 = CommodityQuantity.ELECTRIC_POWER_L1
L2 = CommodityQuantity.ELECTRIC_POWER_L2
H = timedelta(hours=1)
M = timedelta(minutes=1)
NOW = datetime(2024, 8, 24, 14, 30, tzinfo=UTC)
EXEC = datetime(2024, 8, 24, 15, 0, tzinfo=UTC)


def load(examples_dir: Path, name: str) -> Any:
    return decode((examples_dir / name).read_bytes())


@pytest.fixture
def pv(examples_dir: Path) -> tuple[PEBCPowerConstraints, PEBCEnergyConstraint, PEBCInstruction]:
    """The official PV walkthrough's constraints, energy constraint and instruction."""
    return (
        load(examples_dir, "pv-05-PEBC.PowerConstraints.json"),
        load(examples_dir, "pv-06-PEBC.EnergyConstraint.json"),
        load(examples_dir, "pv-09-PEBC.Instruction.json"),
    )


def constraints(*ranges: Any, start: datetime = NOW - H, until: datetime | None = None, cid: str = "pc1") -> Any:
    allowed = [r for group in ranges for r in group]
    return PEBCPowerConstraints(
        message_id=new_id(),
        id=cid,
        valid_from=start,
        valid_until=msgspec.UNSET if until is None else until,
        consequence_type="DEFER",  # type: ignore[arg-type]
        allowed_limit_ranges=allowed,
    )


def energy(upper: float, lower: float, start: datetime, end: datetime, eid: str = "need1") -> PEBCEnergyConstraint:
    return PEBCEnergyConstraint(
        message_id=new_id(),
        id=eid,
        valid_from=start,
        valid_until=end,
        upper_average_power=upper,
        lower_average_power=lower,
        commodity_quantity=L1,
    )


def ev_view(*extra: S2Message) -> PEBCView:
    """An EV charger: it may be capped anywhere in [0, 3000] W and never produces."""
    view = PEBCView()
    view.apply(constraints(limit_ranges(L1, upper=[(0, 3000)], lower=[(0, 0)])), NOW)
    for message in extra:
        view.apply(message, NOW)
    return view


def refusal(call: Any) -> InstructionRefused:
    with pytest.raises(InstructionRefused) as caught:
        call()
    return caught.value


def substance(instruction: PEBCInstruction) -> dict[str, Any]:
    """What an instruction says, without the ids a builder makes up."""
    doc = msgspec.to_builtins(instruction)
    doc.pop("message_id")
    for envelope in doc["power_envelopes"]:
        envelope.pop("id")
    return doc  # type: ignore[no-any-return]


# --- the PV walkthrough ----------------------------------------------------------------------------


def test_pv_walkthrough_allowed_limits(pv: tuple[PEBCPowerConstraints, Any, Any]) -> None:
    view = PEBCView()
    assert view.apply(pv[0], NOW)
    limits = view.allowed_limits(L1, EXEC)
    assert limits == AllowedLimits(L1, "powerConstraint1", upper=((0.0, 0.0),), lower=((-4000.0, 0.0),))
    assert limits.allows_lower(-2000) and not limits.allows_lower(-4000.5) and not limits.allows_upper(1)
    assert view.allowed_limits(L2, EXEC) == AllowedLimits(L2, "powerConstraint1", (), ())
    assert view.allowed_limits(L1, pv[0].valid_from - M) is None  # not yet valid
    assert view.allowed_limits(L1, datetime(2024, 8, 25, 15, tzinfo=UTC)) is None  # expired
    assert view.constraints(NOW) == [pv[0]]


def test_pv_walkthrough_instruction_is_rebuilt(pv: tuple[PEBCPowerConstraints, Any, PEBCInstruction]) -> None:
    view = PEBCView()
    for message in pv[:2]:
        view.apply(message, NOW)
    example = pv[2]
    assert view.check(example, NOW) == []
    built = view.instruct(
        {L1: [EnvelopeStep(H, lower_limit=-2000, upper_limit=0)]}, EXEC, NOW, instruction_id="envelope1"
    )
    assert substance(built) == substance(example)
    capped = view.cap(L1, EXEC, NOW, H, lower=-2000, instruction_id="envelope1")
    assert substance(capped) == substance(example)


def test_pv_walkthrough_refuses_out_of_range_limits(pv: tuple[PEBCPowerConstraints, Any, Any]) -> None:
    view = PEBCView()
    view.apply(pv[0], NOW)
    error = refusal(lambda: view.instruct({L1: [EnvelopeStep(H, -5000, 0)]}, EXEC, NOW))
    assert error.rule == "S2-PEBC-014"
    assert error.reason == "lower limit -5000 W is outside the allowed lower ranges [-4000, 0] for ELECTRIC.POWER.L1"
    assert error.pointer == "/power_envelopes/0/power_envelope_elements/0/lower_limit"
    error = refusal(lambda: view.instruct({L1: [EnvelopeStep(H, -2000, 0), EnvelopeStep(H, -2000, 500)]}, EXEC, NOW))
    assert (error.rule, error.pointer) == ("S2-PEBC-013", "/power_envelopes/0/power_envelope_elements/1/upper_limit")
    error = refusal(lambda: view.instruct({L2: [EnvelopeStep(H, 0, 0)]}, EXEC, NOW))
    assert error.rule == "S2-PEBC-012" and "allow no limits for ELECTRIC.POWER.L2" in error.reason
    error = refusal(lambda: view.instruct({L1: [EnvelopeStep(H, 0, -100)]}, EXEC, NOW))
    assert error.rule == "S2-PEBC-008"  # the single-message rules run too: lower above upper


def test_pv_walkthrough_energy_constraint_cannot_be_honoured(pv: tuple[Any, PEBCEnergyConstraint, Any]) -> None:
    """The example's energy constraint asks a PV inverter (upper limit fixed at 0) to leave room for
    3000 W of consumption: no envelope spanning its window can, and the refusal says why."""
    view = PEBCView()
    for message in pv[:2]:
        view.apply(message, NOW)
    window_start = pv[1].valid_from  # December: pv-05 has expired by then, so publish its like again
    view.apply(constraints(limit_ranges(L1, upper=[(0, 0)], lower=[(-4000, 0)]), start=window_start - 2 * H), NOW)
    error = refusal(lambda: view.instruct({L1: [EnvelopeStep(26 * H, -4000, 0)]}, window_start - H, window_start - H))
    assert error.rule == "S2-PEBC-016"
    assert "leave room for 0 Wh" in error.reason and "needs 72000 Wh (3000 W on average)" in error.reason
    error = refusal(lambda: view.tightest_envelope(L1, window_start - H, window_start - H, 26 * H))
    assert error.rule == "S2-PEBC-016" and "no allowed upper limit" in error.reason


# --- the builder's refusals ------------------------------------------------------------------------


def test_refusal_names_the_value_the_ranges_and_the_quantity() -> None:
    error = refusal(lambda: ev_view().instruct({L1: [EnvelopeStep(H, 0, 5000)]}, EXEC, NOW))
    assert error.rule == "S2-PEBC-013"
    assert error.reason == "upper limit 5000 W is outside the allowed upper ranges [0, 3000] for ELECTRIC.POWER.L1"
    assert str(error).startswith("S2-PEBC-013: ")


def test_abnormal_only_ranges_need_the_abnormal_flag() -> None:
    view = PEBCView()
    view.apply(
        constraints(limit_ranges(L1, upper=[(0, 3000)], lower=[(0, 0)], abnormal_upper=[(2500, 7000)])),
        NOW,
    )
    assert view.allowed_limits(L1, EXEC) == AllowedLimits(L1, "pc1", ((0.0, 3000.0),), ((0.0, 0.0),))
    assert view.allowed_limits(L1, EXEC, abnormal=True) == AllowedLimits(L1, "pc1", ((0.0, 7000.0),), ((0.0, 0.0),))
    error = refusal(lambda: view.instruct({L1: [EnvelopeStep(H, 0, 5000)]}, EXEC, NOW))
    assert error.rule == "S2-PEBC-015"
    assert error.reason == "upper limit 5000 W is allowed for ELECTRIC.POWER.L1 only under an abnormal condition"
    built = view.instruct({L1: [EnvelopeStep(H, 0, 5000)]}, EXEC, NOW, abnormal=True)
    assert built.abnormal_condition and view.check(built, NOW) == []


def test_union_of_ranges_and_the_tightest_allowed_values() -> None:
    view = PEBCView()
    view.apply(constraints(limit_ranges(L1, upper=[(3000, 4000), (0, 1000), (500, 2000)], lower=[(-500, 0)])), NOW)
    limits = view.allowed_limits(L1, EXEC)
    assert limits is not None
    assert limits.upper == ((0.0, 2000.0), (3000.0, 4000.0))
    assert limits.tightest_upper(2500) == 2000  # round down: stay under the cap
    assert limits.tightest_upper(3500) == 3500
    assert limits.tightest_upper(-100) == 0  # nothing under the cap: the lowest allowed
    assert limits.tightest_upper(9000) == 4000
    assert limits.tightest_lower(-200) == -200 and limits.tightest_lower(-900) == -500 and limits.tightest_lower(7) == 0
    assert view.tightest_envelope(L1, EXEC, NOW, H, upper=2500) == [EnvelopeStep(H, -500.0, 2000.0)]
    assert view.tightest_envelope(L1, EXEC, NOW, H) == [EnvelopeStep(H, -500.0, 4000.0)]


def test_revoked_constraints_are_gone() -> None:
    view = ev_view()
    instruction = view.instruct({L1: [EnvelopeStep(H, 0, 2000)]}, EXEC, NOW)
    revoke = RevokeObject(message_id=new_id(), object_type=RevokableObjects.PEBC_PowerConstraints, object_id="pc1")
    assert view.apply(revoke, NOW)
    assert not view.apply(revoke, NOW)  # once
    assert view.allowed_limits(L1, EXEC) is None
    error = view.check(instruction, NOW)[0]
    assert (error.rule, error.reason) == ("S2-PEBC-010", "PowerConstraints pc1 were revoked")
    refused = refusal(lambda: view.instruct({L1: [EnvelopeStep(H, 0, 2000)]}, EXEC, NOW))
    assert refused.rule == "S2-PEBC-011" and "no PowerConstraints are in force" in refused.reason


def test_scheduled_constraints_take_over_from_their_valid_from() -> None:
    view = ev_view()
    later = constraints(limit_ranges(L1, upper=[(0, 1000)], lower=[(0, 0)]), start=EXEC + 2 * H, cid="pc2")
    view.apply(later, NOW)
    assert [c.id for c in view.constraints(NOW)] == ["pc1", "pc2"]
    assert view.constraints_at(EXEC).id == "pc1"  # type: ignore[union-attr]
    assert view.constraints_at(EXEC + 3 * H).id == "pc2"  # type: ignore[union-attr]
    built = view.instruct({L1: [EnvelopeStep(H, 0, 800)]}, EXEC + 3 * H, NOW)
    assert built.power_constraints_id == "pc2"
    error = refusal(lambda: view.instruct({L1: [EnvelopeStep(H, 0, 800)]}, EXEC + 3 * H, NOW, constraints_id="pc1"))
    assert error.rule == "S2-PEBC-011" and "superseded by pc2" in error.reason
    stale = msgspec.structs.replace(built, power_constraints_id="pc1")
    [problem] = view.check(stale, NOW)
    assert problem.rule == "S2-PEBC-011" and "superseded by pc2" in problem.reason


def test_envelope_may_not_outlive_its_constraints() -> None:
    view = PEBCView()
    view.apply(constraints(limit_ranges(L1, upper=[(0, 3000)], lower=[(0, 0)]), until=EXEC + H), NOW)
    assert view.instruct({L1: [EnvelopeStep(H, 0, 1000)]}, EXEC, NOW)
    error = refusal(lambda: view.instruct({L1: [EnvelopeStep(2 * H, 0, 1000)]}, EXEC, NOW))
    assert error.rule == "S2-PEBC-017" and "past valid_until" in error.reason
    assert refusal(lambda: view.tightest_envelope(L1, EXEC, NOW, 2 * H)).rule == "S2-PEBC-017"


# --- energy constraints ------------------------------------------------------------------------------


def test_energy_constraint_needs_room_for_the_upper_energy() -> None:
    view = ev_view(energy(2000, 500, EXEC + H, EXEC + 5 * H, "ev-need"))
    error = refusal(lambda: view.instruct({L1: [EnvelopeStep(6 * H, 0, 1500)]}, EXEC, NOW))
    assert error.rule == "S2-PEBC-016"
    assert error.reason == (
        "the upper limits leave room for 6000 Wh of ELECTRIC.POWER.L1 between 2024-08-24T16:00:00Z and "
        "2024-08-24T20:00:00Z, but energy constraint ev-need needs 8000 Wh (2000 W on average)"
    )
    # enough on average, even though not everywhere
    assert view.instruct({L1: [EnvelopeStep(3 * H, 0, 1000), EnvelopeStep(3 * H, 0, 3000)]}, EXEC, NOW)
    # an envelope that does not span the window leaves the rest of it free: not judged
    assert view.instruct({L1: [EnvelopeStep(2 * H, 0, 0)]}, EXEC, NOW)


def test_tightest_envelope_relaxes_only_inside_the_energy_window() -> None:
    view = ev_view(energy(2000, 500, EXEC + H, EXEC + 5 * H, "ev-need"))
    steps = view.tightest_envelope(L1, EXEC, NOW, 6 * H, upper=1500)
    assert steps == [EnvelopeStep(H, 0.0, 1500.0), EnvelopeStep(4 * H, 0.0, 2000.0), EnvelopeStep(H, 0.0, 1500.0)]
    assert view.check_envelope(L1, steps, EXEC, NOW) == []
    # a window that does not fall on whole milliseconds is still covered
    odd = ev_view(energy(2000, 500, EXEC + H + timedelta(microseconds=300), EXEC + 2 * H, "odd"))
    steps = odd.tightest_envelope(L1, EXEC, NOW, 3 * H, upper=0)
    assert odd.check_envelope(L1, steps, EXEC, NOW) == []
    # more energy than the ranges allow: no envelope can help
    greedy = ev_view(energy(3500, 0, EXEC, EXEC + H, "greedy"))
    error = refusal(lambda: greedy.tightest_envelope(L1, EXEC, NOW, H, upper=1000))
    assert error.rule == "S2-PEBC-016" and "no allowed upper limit for ELECTRIC.POWER.L1" in error.reason


def test_energy_constraint_for_production_needs_room_below() -> None:
    view = PEBCView()
    view.apply(constraints(limit_ranges(L1, upper=[(0, 0)], lower=[(-5000, 0)])), NOW)
    view.apply(energy(0, -1000, EXEC, EXEC + 2 * H, "v2g"), NOW)
    error = refusal(lambda: view.instruct({L1: [EnvelopeStep(2 * H, -500, 0)]}, EXEC, NOW))
    assert error.rule == "S2-PEBC-016" and "the lower limits leave room for -1000 Wh" in error.reason
    assert "needs -2000 Wh (-1000 W on average)" in error.reason
    assert view.tightest_envelope(L1, EXEC, NOW, 2 * H, lower=-500) == [EnvelopeStep(2 * H, -1000.0, 0.0)]
    revoke = RevokeObject(message_id=new_id(), object_type=RevokableObjects.PEBC_EnergyConstraint, object_id="v2g")
    assert view.apply(revoke, NOW) and view.energy_constraints() == []
    assert view.instruct({L1: [EnvelopeStep(2 * H, -500, 0)]}, EXEC, NOW)


# --- the device --------------------------------------------------------------------------------------


def ev_device(**kwargs: Any) -> PEBCDevice:
    return PEBCDevice(limit_ranges(L1, upper=[(0, 3000)], lower=[(0, 0)]), **kwargs)


def statuses(messages: list[S2Message]) -> list[tuple[str, InstructionStatus, datetime]]:
    return [(m.instruction_id, m.status_type, m.timestamp) for m in messages if isinstance(m, InstructionStatusUpdate)]


def view_of(device: PEBCDevice, now: datetime) -> PEBCView:
    view = PEBCView()
    for message in device.activate(now):
        view.apply(message, now)
    return view


def test_device_follows_an_envelope_from_acceptance_to_success() -> None:
    device = ev_device(valid_for=24 * H)
    view = view_of(device, NOW)
    [published] = view.constraints(NOW)
    assert published.valid_until == NOW + 24 * H
    instruction = view.instruct(
        {L1: [EnvelopeStep(30 * M, 0, 1000), EnvelopeStep(30 * M, 0, 2000)]}, EXEC, NOW, instruction_id="i1"
    )
    assert statuses(device.handle(instruction, NOW)) == [("i1", InstructionStatus.ACCEPTED, NOW)]
    assert device.limits_at(L1, EXEC + 40 * M).upper_limit == 2000  # type: ignore[union-attr]
    assert device.limits_at(L1, EXEC - M) is None and device.limits_at(L1, EXEC + 2 * H) is None
    assert device.next_wakeup() == EXEC
    assert device.tick(EXEC - M) == []
    assert statuses(device.tick(EXEC)) == [("i1", InstructionStatus.STARTED, EXEC)]
    assert device.clamp(L1, 2500, EXEC + M) == 1000 and device.clamp(L1, -5, EXEC + M) == 0
    assert device.next_wakeup() == EXEC + H
    assert statuses(device.tick(EXEC + 3 * H)) == [("i1", InstructionStatus.SUCCEEDED, EXEC + H)]
    assert device.next_wakeup() is None and device.limits_at(L1, EXEC + 3 * H) is None
    assert device.clamp(L1, 2500, EXEC + 3 * H) == 2500


def test_a_late_tick_reports_every_step_at_its_own_time() -> None:
    device = ev_device()
    view = view_of(device, NOW)
    device.handle(view.instruct({L1: [EnvelopeStep(H, 0, 1000)]}, EXEC, NOW, instruction_id="i1"), NOW)
    assert statuses(device.tick(EXEC + 5 * H)) == [
        ("i1", InstructionStatus.STARTED, EXEC),
        ("i1", InstructionStatus.SUCCEEDED, EXEC + H),
    ]


def test_device_rejects_what_its_constraints_forbid() -> None:
    device = ev_device()
    view_of(device, NOW)
    envelope = PEBCPowerEnvelope(
        id="e1",
        commodity_quantity=L1,
        power_envelope_elements=[PEBCPowerEnvelopeElement(duration=3_600_000, upper_limit=5000, lower_limit=0)],
    )
    [constraints_id] = [c.id for c in device.view.constraints(NOW)]
    bad = PEBCInstruction(
        message_id=new_id(),
        id="bad",
        execution_time=EXEC,
        abnormal_condition=False,
        power_constraints_id=constraints_id,
        power_envelopes=[envelope],
    )
    assert statuses(device.handle(bad, NOW)) == [("bad", InstructionStatus.REJECTED, NOW)]
    assert device.scheduler.reason("bad") == (
        "upper limit 5000 W is outside the allowed upper ranges [0, 3000] for ELECTRIC.POWER.L1"
    )
    unknown = msgspec.structs.replace(bad, message_id=new_id(), id="unknown", power_constraints_id="nope")
    decision = device.receive(unknown, NOW)
    assert decision.rule == "S2-PEBC-010" and not decision.rejectable
    strict = ev_device(strict_ids=True)
    view_of(strict, NOW)
    with pytest.raises(InvalidContent) as caught:
        strict.handle(msgspec.structs.replace(unknown, message_id=new_id()), NOW)
    assert caught.value.rule == "S2-PEBC-010"


def test_newer_instruction_replaces_the_running_one() -> None:
    device = ev_device()
    view = view_of(device, NOW)
    device.handle(view.instruct({L1: [EnvelopeStep(3 * H, 0, 1000)]}, EXEC, NOW, instruction_id="old"), NOW)
    device.tick(EXEC)
    later = EXEC + H
    device.handle(view.instruct({L1: [EnvelopeStep(H, 0, 2000)]}, later, EXEC, instruction_id="new"), EXEC)
    assert device.limits_at(L1, later + M).instruction_id == "new"  # type: ignore[union-attr]
    assert statuses(device.tick(later)) == [
        ("old", InstructionStatus.SUCCEEDED, later),
        ("new", InstructionStatus.STARTED, later),
    ]
    # after the newer envelope ends, the older one does not come back
    assert device.limits_at(L1, later + 90 * M) is None


def test_revoke_and_deactivate() -> None:
    device = ev_device()
    view = view_of(device, NOW)
    first = view.instruct({L1: [EnvelopeStep(H, 0, 1000)]}, EXEC, NOW, instruction_id="first")
    second = view.instruct({L1: [EnvelopeStep(H, 0, 1000)]}, EXEC + 2 * H, NOW, instruction_id="second")
    device.handle(first, NOW)
    device.handle(second, NOW)
    device.tick(EXEC)
    revoke = view.revoke("first", EXEC)
    assert revoke.object_type is RevokableObjects.PEBC_Instruction
    assert statuses(device.handle(revoke, EXEC + M)) == [("first", InstructionStatus.REVOKED, EXEC + M)]
    assert device.limits_at(L1, EXEC + 2 * M) is None
    off = SelectControlType(message_id=new_id(), control_type=ControlType.NO_SELECTION)
    assert statuses(device.handle(off, EXEC + 2 * M)) == [("second", InstructionStatus.ABORTED, EXEC + 2 * M)]
    assert device.view.constraints(NOW) == []
    again = device.handle(
        SelectControlType(message_id=new_id(), control_type=ControlType.POWER_ENVELOPE_BASED_CONTROL), EXEC
    )
    assert [type(m) for m in again] == [PEBCPowerConstraints]


def test_device_publishes_and_withdraws_energy_constraints() -> None:
    device = ev_device()
    assert device.require_energy(L1, EXEC, EXEC + 4 * H, lower_average_power=0, upper_average_power=2000, now=NOW) == []
    published = device.activate(NOW)
    assert [type(m) for m in published] == [PEBCPowerConstraints, PEBCEnergyConstraint]
    need = published[1]
    assert isinstance(need, PEBCEnergyConstraint)
    view = PEBCView()
    for message in published:
        view.apply(message, NOW)
    assert refusal(lambda: view.instruct({L1: [EnvelopeStep(5 * H, 0, 1000)]}, EXEC, NOW)).rule == "S2-PEBC-016"
    [revoke] = device.drop_energy(need.id, NOW)
    view.apply(revoke, NOW)
    instruction = view.instruct({L1: [EnvelopeStep(5 * H, 0, 1000)]}, EXEC, NOW)
    assert device.receive(instruction, NOW).accepted
    with pytest.raises(InvalidContent):
        device.require_energy(L1, EXEC, EXEC, lower_average_power=0, upper_average_power=1, now=NOW)
    updated = device.update_limits(limit_ranges(L1, upper=[(0, 500)], lower=[(0, 0)]), NOW + M)
    view.apply(updated[0], NOW + M)
    assert view.allowed_limits(L1, EXEC).upper == ((0.0, 500.0),)  # type: ignore[union-attr]


# --- a CEM and an RM, over two session engines with the rule catalogue on both sides ----------------


def test_pair_view_builds_what_the_device_accepts() -> None:
    pair = Pair.create(cem={"checker": SessionContext()}, rm={"checker": SessionContext()})
    pair.initialize(ControlType.POWER_ENVELOPE_BASED_CONTROL)
    clock = pair.clock
    device = PEBCDevice(limit_ranges(L1, upper=[(0, 0)], lower=[(-4000, 0)]))
    view = PEBCView()

    def deliver() -> None:
        """Hand what each engine received to its side, and send what the device answers."""
        while pair.cem_events or pair.rm_events:
            cem_events, pair.cem_events[:] = list(pair.cem_events), []
            rm_events, pair.rm_events[:] = list(pair.rm_events), []
            for item in cem_events:
                if isinstance(item, MessageReceived):
                    view.apply(item.message, clock.now)
            for item in rm_events:
                if isinstance(item, MessageReceived):
                    for message in device.handle(item.message, clock.now):
                        pair.rm.send(message, clock.now)
            pair.pump()

    deliver()  # SelectControlType reaches the device: it publishes its constraints
    assert view.allowed_limits(L1, clock.now) is not None
    start = clock.now + 30 * M
    instruction = view.cap(L1, start, clock.now, H, lower=-1500)
    pair.cem.send(instruction, clock.now)
    pair.pump()
    deliver()
    assert view.instruction_status(instruction.id) is InstructionStatus.ACCEPTED
    for minutes in (30, 60):
        clock.advance(minutes * 60)
        for message in device.tick(clock.now):
            pair.rm.send(message, clock.now)
        pair.pump()
        deliver()
        if minutes == 30:
            assert device.clamp(L1, -3000, clock.now) == -1500
    assert view.instruction_status(instruction.id) is InstructionStatus.SUCCEEDED
    answers = reception_statuses([text for _, text in pair.transcript])
    assert answers and all(r["status"] == "OK" for r in answers), answers


# --- properties ------------------------------------------------------------------------------------------

intervals = st.tuples(st.integers(-5000, 5000), st.integers(0, 4000)).map(lambda p: (float(p[0]), float(p[0] + p[1])))
watts = st.floats(-5000, 5000).map(lambda w: round(w, 3))  # milliwatt steps, as devices write them
float_intervals = st.tuples(watts, st.floats(0, 4000)).map(lambda p: (p[0], round(p[0] + p[1], 3)))
any_intervals = intervals | float_intervals
lower_intervals = st.tuples(any_intervals, st.floats(0, 6000)).map(lambda p: (p[0][0] - p[1], p[0][1] - p[1]))
"""Lower limits shifted down: with ``under_upper`` in :func:`limit_cases` most lower ranges start
below an upper one (as devices have them), so that most draws build an envelope rather than stop
at S2-PEBC-014."""


def _cap(ranges: list[tuple[float, float]], anywhere: st.SearchStrategy[float]) -> st.SearchStrategy[float | None]:
    """No cap, a cap inside one of ``ranges`` (what a CEM usually asks), or one anywhere."""
    inside = st.sampled_from(ranges).flatmap(lambda r: st.floats(r[0], r[1]))
    return st.one_of(st.none(), inside, inside, inside, anywhere)


@st.composite
def limit_cases(
    draw: st.DrawFn,
) -> tuple[list[tuple[float, float]], list[tuple[float, float]], float | None, float | None]:
    upper = draw(st.lists(any_intervals, min_size=1, max_size=3))
    below = st.tuples(st.sampled_from(upper), st.floats(0, 3000), st.floats(0, 4000))
    under_upper = below.map(lambda p: (round(p[0][0] - p[1], 3), round(p[0][0] - p[1] + p[2], 3)))
    lower = draw(st.lists(st.one_of(any_intervals, lower_intervals, under_upper, under_upper), min_size=1, max_size=3))
    cap_upper = draw(_cap(upper, st.integers(-6000, 10000).map(float) | st.floats(-6000, 10000)))
    cap_lower = draw(_cap(lower, st.integers(-10000, 6000).map(float) | st.floats(-10000, 6000)))
    if cap_upper is not None and cap_lower is not None and cap_lower > cap_upper and draw(st.integers(0, 3)):
        cap_lower, cap_upper = cap_upper, cap_lower  # mostly caps in order, as a CEM asks them
    return upper, lower, cap_upper, cap_lower


@st.composite
def energy_needs(draw: st.DrawFn, upper: list[tuple[float, float]], lower: list[tuple[float, float]]) -> Any:
    """None, or (offset, length in minutes, lower and upper average power), mostly powers the limits allow."""
    if draw(st.booleans()):
        return None
    offset, length = draw(st.integers(0, 300)), draw(st.integers(1, 300))
    if draw(st.integers(0, 3)) == 0:  # anything, often more than the limits allow (S2-PEBC-016)
        low = draw(st.integers(-6000, 6000))
        return offset, length, float(low), float(low + draw(st.integers(0, 6000)))
    floor, ceiling = min(a for a, _ in lower), max(b for _, b in upper)
    low = draw(st.integers(int(max(floor, -6000)) + 1, 6000))
    high = draw(st.integers(low, max(low, int(min(ceiling, 6000)))))
    return offset, length, float(low), float(high)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=limit_cases(),
    minutes=st.integers(1, 600),
    data=st.data(),
)
def test_any_envelope_the_helper_builds_is_accepted_by_the_device(
    case: tuple[list[tuple[float, float]], list[tuple[float, float]], float | None, float | None],
    minutes: int,
    data: st.DataObject,
) -> None:
    upper, lower, cap_upper, cap_lower = case
    need = data.draw(energy_needs(upper, lower), label="need")
    event("fractional limits" if any(v != int(v) for r in upper + lower for v in r) else "whole limits")
    device = PEBCDevice(limit_ranges(L1, upper=upper, lower=lower))
    if need is not None:
        offset, length, low, high = need
        begin = EXEC + offset * M + timedelta(milliseconds=0.4)
        device.require_energy(L1, begin, begin + length * M, lower_average_power=low, upper_average_power=high, now=NOW)
    view = view_of(device, NOW)
    try:
        steps = view.tightest_envelope(L1, EXEC, NOW, minutes * M, upper=cap_upper, lower=cap_lower)
    except InstructionRefused as error:
        assert error.rule in ("S2-PEBC-014", "S2-PEBC-016"), error
        event(f"refused {error.rule}")
        return
    event("built" if need is None else f"built, {len(steps)} steps around an energy window")
    instruction = view.instruct({L1: steps}, EXEC, NOW)
    decision = device.receive(instruction, NOW)
    assert decision.accepted, decision.reason
    assert sum((s.duration for s in steps), timedelta()) == minutes * M
    limits = view.allowed_limits(L1, EXEC)
    assert limits is not None
    for step in steps:
        assert step.lower_limit <= step.upper_limit
        if need is None and cap_upper is not None:
            assert step.upper_limit == limits.tightest_upper(cap_upper)


@given(ranges=st.lists(intervals, min_size=1, max_size=5), value=st.integers(-6000, 10000))
def test_allowed_limits_are_the_union_of_the_ranges(ranges: list[tuple[float, float]], value: int) -> None:
    view = PEBCView()
    view.apply(constraints(limit_ranges(L1, upper=ranges, lower=ranges)), NOW)
    limits = view.allowed_limits(L1, EXEC)
    assert limits is not None
    assert limits.allows_upper(value) == any(a <= value <= b for a, b in ranges)
    assert all(b < c for (_, b), (c, _) in zip(limits.upper, limits.upper[1:], strict=False))
    best = limits.tightest_upper(value)
    assert best is not None and limits.allows_upper(best)
    below = [min(b, value) for a, b in ranges if a <= value]
    assert best == (max(below) if below else min(a for a, _ in ranges))
