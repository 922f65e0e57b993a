"""The instruction lifecycle on the RM side: accept or reject, start on time, end, revoke, abort."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from s2ws.control import Decision, InstructionScheduler
from s2ws.errors import InstructionRefused, InstructionStateError, InvalidContent
from s2ws.messages import InstructionStatus, InstructionStatusUpdate, OMBCInstruction, new_id

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
S = InstructionStatus


def instruction(at: datetime, *, factor: float = 0.5, mode: str = "om1", ident: str | None = None) -> OMBCInstruction:
    return OMBCInstruction(
        message_id=new_id(),
        id=ident or new_id(),
        execution_time=at,
        operation_mode_id=mode,
        operation_mode_factor=factor,
        abnormal_condition=False,
    )


def statuses(decision_or_list: Decision | Sequence[InstructionStatusUpdate]) -> list[tuple[str, S]]:
    messages = decision_or_list.messages if isinstance(decision_or_list, Decision) else decision_or_list
    return [(m.instruction_id, m.status_type) for m in messages]


def test_accept_start_at_execution_time_and_succeed() -> None:
    scheduler: InstructionScheduler[OMBCInstruction] = InstructionScheduler()
    later = instruction(T0 + timedelta(minutes=10))
    decision = scheduler.submit(later, T0)
    assert decision.accepted and decision.status is S.ACCEPTED
    assert statuses(decision) == [(later.id, S.ACCEPTED)]
    assert decision.messages[0].timestamp == T0
    assert scheduler.next_wakeup() == later.execution_time
    assert scheduler.due(T0 + timedelta(minutes=9)) == []
    assert scheduler.due(later.execution_time) == [later]
    assert scheduler.due(later.execution_time) == []  # handed out once
    assert scheduler.next_wakeup() is None
    at = later.execution_time
    assert statuses(scheduler.start(later.id, at)) == [(later.id, S.STARTED)]
    done = scheduler.succeed(later.id, at + timedelta(seconds=1))
    assert statuses(done) == [(later.id, S.SUCCEEDED)]
    assert scheduler.status(later.id) is S.SUCCEEDED
    assert scheduler.open() == []


def test_due_in_execution_order_and_past_times_are_due_at_once() -> None:
    scheduler: InstructionScheduler[OMBCInstruction] = InstructionScheduler()
    b = instruction(T0 + timedelta(minutes=5))
    a = instruction(T0 - timedelta(minutes=5))
    c = instruction(T0 + timedelta(minutes=5))
    for item in (b, a, c):
        scheduler.submit(item, T0)
    assert scheduler.pending() == [a, b, c]
    assert scheduler.next_wakeup() == a.execution_time
    assert scheduler.due(T0) == [a]
    assert scheduler.due(T0 + timedelta(hours=1)) == [b, c]


def test_single_message_rules_reject_with_the_rule_and_value() -> None:
    scheduler: InstructionScheduler[OMBCInstruction] = InstructionScheduler()
    bad = instruction(T0, factor=1.5)
    decision = scheduler.submit(bad, T0)
    assert not decision.accepted
    assert statuses(decision) == [(bad.id, S.REJECTED)]
    assert decision.rule is not None and decision.rule.startswith("S2-OMBC-")
    assert decision.reason == "1.5 is outside [0, 1]"
    assert not decision.rejectable  # a malformed request, which a driver may answer INVALID_CONTENT
    assert isinstance(decision.as_invalid_content(), InvalidContent)
    assert scheduler.due(T0 + timedelta(days=1)) == []


def test_control_type_check_rejects() -> None:
    def check(item: OMBCInstruction, now: datetime) -> None:
        if item.operation_mode_id == "boost":
            raise InstructionRefused("S2-OMBC-999", "", "boost is not allowed now")

    scheduler: InstructionScheduler[OMBCInstruction] = InstructionScheduler(check)
    decision = scheduler.submit(instruction(T0, mode="boost"), T0)
    assert decision.status is S.REJECTED and decision.reason == "boost is not allowed now"
    assert decision.rejectable  # not a catalogue rule: a flexibility refusal
    assert scheduler.submit(instruction(T0), T0).accepted


def test_duplicate_message_is_idempotent_and_reused_id_is_invalid_content() -> None:
    scheduler: InstructionScheduler[OMBCInstruction] = InstructionScheduler()
    first = instruction(T0)
    scheduler.submit(first, T0)
    again = scheduler.submit(first, T0 + timedelta(seconds=2))
    assert again.duplicate and again.messages == [] and again.status is S.ACCEPTED
    with pytest.raises(InvalidContent, match="S2-ID-001"):
        scheduler.submit(instruction(T0, ident=first.id), T0)


def test_revoke_before_start_then_nothing_more() -> None:
    scheduler: InstructionScheduler[OMBCInstruction] = InstructionScheduler()
    item = instruction(T0 + timedelta(minutes=1))
    scheduler.submit(item, T0)
    assert statuses(scheduler.revoke(item.id, T0)) == [(item.id, S.REVOKED)]
    assert scheduler.due(T0 + timedelta(minutes=2)) == []
    assert scheduler.revoke(item.id, T0) == []  # already ended: no effect (S2-REVOKE-004)
    with pytest.raises(InstructionStateError, match="REVOKED; STARTED cannot follow"):
        scheduler.start(item.id, T0)
    with pytest.raises(InvalidContent, match="S2-REVOKE-002"):
        scheduler.revoke("never-sent", T0)


def test_revoke_of_a_started_long_running_instruction() -> None:
    scheduler: InstructionScheduler[OMBCInstruction] = InstructionScheduler()
    item = instruction(T0)
    scheduler.submit(item, T0)
    scheduler.due(T0)
    scheduler.start(item.id, T0)
    assert scheduler.running() == [item]
    assert statuses(scheduler.revoke(item.id, T0 + timedelta(seconds=5))) == [(item.id, S.REVOKED)]


def test_deactivation_aborts_everything_open() -> None:
    scheduler: InstructionScheduler[OMBCInstruction] = InstructionScheduler()
    started, waiting, done = instruction(T0), instruction(T0 + timedelta(hours=1)), instruction(T0)
    for item in (started, waiting, done):
        scheduler.submit(item, T0)
    scheduler.due(T0)
    scheduler.start(started.id, T0)
    scheduler.start(done.id, T0)
    scheduler.succeed(done.id, T0)
    aborted = scheduler.deactivate(T0 + timedelta(minutes=1))
    assert statuses(aborted) == [(started.id, S.ABORTED), (waiting.id, S.ABORTED)]
    assert scheduler.reason(waiting.id) == "the control type was deactivated"
    assert scheduler.next_wakeup() is None and scheduler.open() == []


def test_status_moves_forward_only_and_timestamps_never_go_back() -> None:
    scheduler: InstructionScheduler[OMBCInstruction] = InstructionScheduler()
    item = instruction(T0)
    scheduler.submit(item, T0)
    scheduler.start(item.id, T0 + timedelta(seconds=10))
    late = scheduler.abort(item.id, T0, reason="motor stalled")  # a stale clock reading
    assert late[0].timestamp == T0 + timedelta(seconds=10)
    assert scheduler.reason(item.id) == "motor stalled"
    with pytest.raises(InstructionStateError):
        scheduler.succeed(item.id, T0)
    with pytest.raises(InstructionStateError, match="no instruction"):
        scheduler.start("unknown-id", T0)


def test_history_is_bounded() -> None:
    scheduler: InstructionScheduler[OMBCInstruction] = InstructionScheduler(history=3)
    items = [instruction(T0, factor=2.0) for _ in range(5)]
    for item in items:
        scheduler.submit(item, T0)
    assert scheduler.status(items[0].id) is None
    assert scheduler.status(items[-1].id) is S.REJECTED
