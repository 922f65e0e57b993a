"""PPBC control: the CEM's view of power profiles and the RM's task-following device."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from hypothesis import event as coverage
from hypothesis import given, settings
from hypothesis import strategies as st

from builders import Pair, reception_statuses
from s2ws.control.ppbc import PPBCDevice, PPBCView, energy_of, power_sequence
from s2ws.errors import InstructionRefused, InvalidContent
from s2ws.messages import (
    CommodityQuantity,
    ControlType,
    InstructionStatus,
    InstructionStatusUpdate,
    PowerForecastValue,
    PPBCPowerProfileDefinition,
    PPBCPowerProfileStatus,
    PPBCPowerSequenceContainer,
    PPBCPowerSequenceElement,
    PPBCPowerSequenceStatus,
    PPBCScheduleInstruction,
    RevokableObjects,
    RevokeObject,
    S2Message,
    SelectControlType,
    new_id,
)
from s2ws.rules import SessionContext
from s2ws.session import MessageReceived

H = timedelta(hours=1)
M = timedelta(minutes=1)
T0 = datetime(2024, 8, 24, 10, 0, tzinfo=UTC)
NOW = T0 - H
S = PPBCPowerSequenceStatus
IS = InstructionStatus
TASK = "wash-task"


def washing_machine(start: datetime = T0, hours: int = 8) -> PPBCPowerProfileDefinition:
    """Three containers: a prewash (two alternatives), the wash (an interruptible eco programme or
    a quick one, each with a max_pause_before) and the spin (one abnormal-only alternative)."""
    return PPBCPowerProfileDefinition(
        message_id=new_id(),
        id=TASK,
        start_time=start,
        end_time=start + hours * H,
        power_sequences_containers=[
            PPBCPowerSequenceContainer(
                id="prewash",
                power_sequences=[
                    power_sequence("pre-cold", [(30 * M, 200)]),
                    power_sequence("pre-hot", [(30 * M, 2000)]),
                ],
            ),
            PPBCPowerSequenceContainer(
                id="wash",
                power_sequences=[
                    power_sequence("eco", [(30 * M, 2000), (60 * M, 300)], is_interruptible=True, max_pause_before=H),
                    power_sequence("quick", [(45 * M, 2200)], max_pause_before=30 * M),
                ],
            ),
            PPBCPowerSequenceContainer(
                id="spin",
                power_sequences=[
                    power_sequence("spin", [(20 * M, 500)], max_pause_before=15 * M),
                    power_sequence("spin-fast", [(10 * M, 800)], abnormal_condition_only=True),
                ],
            ),
        ],
    )


class Link:
    """A device and a view that hears everything the device says and everything it is told."""

    def __init__(self, definition: PPBCPowerProfileDefinition | None = None, now: datetime = NOW) -> None:
        self.device = PPBCDevice(definition or washing_machine())
        self.view = PPBCView()
        self.heard: list[S2Message] = []
        self.tell(self.device.activate(now), now)

    def tell(self, messages: list[S2Message], now: datetime) -> list[S2Message]:
        for message in messages:
            self.view.apply(message, now)
        self.heard.extend(messages)
        return messages

    def send(self, message: S2Message, now: datetime) -> list[S2Message]:
        self.view.apply(message, now)
        return self.tell(self.device.handle(message, now), now)

    def tick(self, now: datetime) -> list[S2Message]:
        return self.tell(self.device.tick(now), now)

    def schedule(self, container: str, sequence: str, start: datetime, now: datetime = NOW, **kw: Any) -> str:
        instruction = self.view.schedule(TASK, container, sequence, start, now, **kw)
        updates = updates_of(self.send(instruction, now))
        assert updates[0][:2] == (instruction.id, IS.ACCEPTED), updates
        return instruction.id

    def states(self) -> dict[str, tuple[S, str | None, int | None]]:
        status = self.device.status(NOW)
        return {
            s.sequence_container_id: (
                s.status,
                None if s.selected_sequence_id is msgspec.UNSET else s.selected_sequence_id,
                None if s.progress is msgspec.UNSET else s.progress,
            )
            for s in status.sequence_container_status
        }


def updates_of(messages: list[S2Message]) -> list[tuple[str, InstructionStatus, datetime]]:
    return [(m.instruction_id, m.status_type, m.timestamp) for m in messages if isinstance(m, InstructionStatusUpdate)]


def reported(messages: list[S2Message], now: datetime) -> dict[str, tuple[S, int | None]]:
    """The last PowerProfileStatus among ``messages``: container -> (status, progress)."""
    [*_, status] = [m for m in messages if isinstance(m, PPBCPowerProfileStatus)]
    return {
        s.sequence_container_id: (s.status, None if s.progress is msgspec.UNSET else s.progress)
        for s in status.sequence_container_status
    }


def refusal(call: Any) -> InstructionRefused:
    with pytest.raises(InstructionRefused) as caught:
        call()
    return caught.value


def options(view: PPBCView, now: datetime = NOW, **kw: Any) -> dict[str, dict[str, tuple[datetime, datetime]]]:
    return {
        c.container_id: {o.sequence_id: (o.earliest_start, o.latest_start) for o in c.options}
        for c in view.feasible_schedules(TASK, now, **kw)
    }


# --- feasible schedules ------------------------------------------------------------------------------


def test_feasible_schedules_honour_window_order_and_durations() -> None:
    link = Link()
    assert options(link.view) == {
        "prewash": {"pre-cold": (T0, T0 + 6 * H + 25 * M), "pre-hot": (T0, T0 + 6 * H + 25 * M)},
        "wash": {"eco": (T0 + 30 * M, T0 + 6 * H + 10 * M), "quick": (T0 + 30 * M, T0 + 6 * H + 55 * M)},
        "spin": {"spin": (T0 + 75 * M, T0 + 7 * H + 40 * M)},
    }
    assert options(link.view, abnormal=True)["spin"] == {
        "spin": (T0 + 75 * M, T0 + 7 * H + 40 * M),
        "spin-fast": (T0 + 75 * M, T0 + 7 * H + 50 * M),
    }
    later = T0 + 2 * H  # nothing starts in the past
    assert options(link.view, later)["prewash"]["pre-cold"][0] == later
    [wash] = [c for c in link.view.feasible_schedules(TASK, NOW) if c.container_id == "wash"]
    eco = wash.options[0]
    assert (eco.duration, eco.is_interruptible, eco.max_pause_before) == (90 * M, True, H)


def test_feasible_schedules_follow_what_was_scheduled() -> None:
    link = Link()
    link.schedule("prewash", "pre-cold", T0 + H)
    got = options(link.view)
    assert got["prewash"] == {}
    # the wash may start when the prewash ends and pause at most its max_pause_before
    assert got["wash"] == {"eco": (T0 + 90 * M, T0 + 150 * M), "quick": (T0 + 90 * M, T0 + 120 * M)}
    # the spin pauses at most 15 min after the latest wash (eco, ending 16:00 at the latest)
    assert got["spin"] == {"spin": (T0 + 135 * M, T0 + 255 * M)}
    [prewash, *_] = link.view.feasible_schedules(TASK, NOW)
    assert (prewash.status, prewash.selected_sequence_id, prewash.start, prewash.end) == (
        S.SCHEDULED,
        "pre-cold",
        T0 + H,
        T0 + 90 * M,
    )


def test_energy_of_a_sequence() -> None:
    definition = washing_machine()
    eco = definition.power_sequences_containers[1].power_sequences[0]
    assert energy_of(eco) == {CommodityQuantity.ELECTRIC_POWER_L1: pytest.approx(1300.0)}
    assert PPBCView.energy_of(eco) == energy_of(eco)
    mixed = msgspec.structs.replace(
        eco,
        elements=[
            PPBCPowerSequenceElement(
                duration=3_600_000,
                power_values=[
                    PowerForecastValue(value_expected=1000, commodity_quantity=CommodityQuantity.ELECTRIC_POWER_L2),
                    PowerForecastValue(value_expected=0.5, commodity_quantity=CommodityQuantity.HEAT_FLOW_RATE),
                    PowerForecastValue(value_expected=60, commodity_quantity=CommodityQuantity.HEAT_TEMPERATURE),
                ],
            )
        ],
    )
    assert energy_of(mixed) == {CommodityQuantity.ELECTRIC_POWER_L2: 1000.0, CommodityQuantity.HEAT_FLOW_RATE: 1800.0}


# --- refusals --------------------------------------------------------------------------------------


def test_schedule_outside_the_window_is_refused() -> None:
    view = Link().view
    error = refusal(lambda: view.schedule(TASK, "prewash", "pre-cold", T0 - M, NOW))
    assert error.rule == "S2-PPBC-014"
    assert error.reason == (
        "the sequence would run 2024-08-24T09:59:00Z to 2024-08-24T10:29:00Z, outside "
        "[2024-08-24T10:00:00Z, 2024-08-24T18:00:00Z] of wash-task"
    )
    assert refusal(lambda: view.schedule(TASK, "spin", "spin", T0 + 7 * H + 50 * M, NOW)).rule == "S2-PPBC-014"
    # inside the window, but too late for the containers that must follow
    error = refusal(lambda: view.schedule(TASK, "prewash", "pre-cold", T0 + 7 * H, NOW))
    assert error.rule == "S2-PPBC-014" and "the latest start is 2024-08-24T16:25:00Z" in error.reason
    # under an abnormal condition the 10-minute spin is allowed, which leaves 10 minutes more
    error = refusal(lambda: view.schedule(TASK, "prewash", "pre-cold", T0 + 7 * H, NOW, abnormal=True))
    assert error.rule == "S2-PPBC-014" and "the latest start is 2024-08-24T16:35:00Z" in error.reason


def test_order_violations_are_refused() -> None:
    link = Link()
    link.schedule("prewash", "pre-cold", T0 + H)
    error = refusal(lambda: link.view.schedule(TASK, "wash", "eco", T0 + 70 * M, NOW))
    assert error.rule == "S2-PPBC-015"
    assert error.reason == (
        "the sequence starts at 2024-08-24T11:10:00Z, before container prewash ends at 2024-08-24T11:30:00Z"
    )
    # the spin cannot start before an unscheduled wash could have run
    error = refusal(lambda: link.view.schedule(TASK, "spin", "spin", T0 + 2 * H, NOW))
    assert error.rule == "S2-PPBC-015" and "the earliest start is 2024-08-24T12:15:00Z" in error.reason


def test_pause_violations_are_refused() -> None:
    link = Link()
    link.schedule("prewash", "pre-cold", T0 + H)
    error = refusal(lambda: link.view.schedule(TASK, "wash", "eco", T0 + 3 * H, NOW))
    assert error.rule == "S2-PPBC-016"
    assert error.reason == "a pause of 90 min after container prewash exceeds max_pause_before 1 h of sequence eco"
    # later containers: the spin may not pause more than 15 min however late the wash ends
    error = refusal(lambda: link.view.schedule(TASK, "spin", "spin", T0 + 5 * H, NOW))
    assert error.rule == "S2-PPBC-016"
    assert error.reason == (
        "the sequence starts at 2024-08-24T15:00:00Z, which exceeds its max_pause_before 15 min however late "
        "the container before it ends; the latest start is 2024-08-24T14:15:00Z"
    )


def test_neighbours_scheduled_first_bind_from_both_sides() -> None:
    link = Link()
    link.schedule("spin", "spin", T0 + 4 * H)
    error = refusal(lambda: link.view.schedule(TASK, "wash", "quick", T0 + 3 * H + 30 * M, NOW))
    assert error.rule == "S2-PPBC-015" and "after container spin starts at 2024-08-24T14:00:00Z" in error.reason
    error = refusal(lambda: link.view.schedule(TASK, "wash", "quick", T0 + 2 * H, NOW))
    assert error.rule == "S2-PPBC-016" and "more than its max_pause_before 15 min" in error.reason
    link.schedule("wash", "quick", T0 + 3 * H + 5 * M)  # ends 13:50, 10 min before the spin
    # the prewash must end by 13:05 and, for quick's max_pause_before of 30 min, not before 12:35
    assert options(link.view)["prewash"] == {
        "pre-cold": (T0 + 2 * H + 5 * M, T0 + 2 * H + 35 * M),
        "pre-hot": (T0 + 2 * H + 5 * M, T0 + 2 * H + 35 * M),
    }


def test_other_refusals_name_their_rule() -> None:
    link = Link()
    view = link.view
    assert refusal(lambda: view.schedule(TASK, "dry", "x", T0, NOW)).rule == "S2-PPBC-012"
    assert refusal(lambda: view.schedule(TASK, "wash", "x", T0, NOW)).rule == "S2-PPBC-012"
    assert refusal(lambda: view.schedule("other", "wash", "eco", T0, NOW)).reason == (
        "PowerProfileDefinition other is not known"
    )
    error = refusal(lambda: view.schedule(TASK, "spin", "spin-fast", T0 + 3 * H, NOW))
    assert (error.rule, error.reason) == ("S2-PPBC-013", "sequence spin-fast may only run under an abnormal condition")
    assert view.schedule(TASK, "spin", "spin-fast", T0 + 3 * H, NOW, abnormal=True, record=False)
    first = link.schedule("prewash", "pre-cold", T0 + H)
    error = refusal(lambda: view.schedule(TASK, "prewash", "pre-hot", T0 + H, NOW))
    assert error.rule == "S2-PPBC-020" and f"revoke instruction {first} first" in error.reason
    revoke = RevokeObject(message_id=new_id(), object_type=RevokableObjects.PPBC_PowerProfileDefinition, object_id=TASK)
    assert view.apply(revoke, NOW) and view.profiles() == []
    error = refusal(lambda: view.feasible_schedules(TASK, NOW))
    assert (error.rule, error.reason) == ("S2-PPBC-011", "PowerProfileDefinition wash-task was revoked")


def test_interruptions_only_for_interruptible_sequences_in_the_right_state() -> None:
    link = Link()
    view = link.view
    link.schedule("prewash", "pre-cold", T0)
    error = refusal(lambda: view.interrupt(TASK, "wash", T0, NOW))
    assert (error.rule, error.reason) == ("S2-PPBC-018", "container wash has no selected sequence")
    error = refusal(lambda: view.interrupt(TASK, "prewash", T0 + 10 * M, NOW))
    assert (error.rule, error.reason) == ("S2-PPBC-017", "sequence pre-cold is not interruptible")
    link.schedule("wash", "eco", T0 + 30 * M)
    error = refusal(lambda: view.interrupt(TASK, "wash", T0 + 10 * M, NOW))
    assert error.rule == "S2-PPBC-018"
    assert error.reason == "sequence eco is SCHEDULED at 2024-08-24T10:10:00Z, so it cannot be interrupted"
    error = refusal(lambda: view.resume(TASK, "wash", T0 + 40 * M, NOW))
    assert error.rule == "S2-PPBC-019" and "is EXECUTING at 2024-08-24T10:40:00Z" in error.reason
    # by its schedule, eco runs at 10:40: an interruption may be sent ahead of time
    assert view.interrupt(TASK, "wash", T0 + 40 * M, NOW, record=False)


# --- the device's lifecycle -------------------------------------------------------------------------


def test_interrupt_and_resume_lifecycle() -> None:
    link = Link()
    prewash = link.schedule("prewash", "pre-cold", T0)
    wash = link.schedule("wash", "eco", T0 + 30 * M)
    assert link.device.next_wakeup() == T0
    assert updates_of(link.tick(T0)) == [(prewash, IS.STARTED, T0)]
    out = link.tick(T0 + 30 * M)
    assert updates_of(out) == [(prewash, IS.SUCCEEDED, T0 + 30 * M), (wash, IS.STARTED, T0 + 30 * M)]
    assert reported(out, T0 + 30 * M) == {
        "prewash": (S.FINISHED, 1_800_000),
        "wash": (S.EXECUTING, 0),
        "spin": (S.NOT_SCHEDULED, None),
    }
    now = T0 + 50 * M
    assert link.device.expected_power(CommodityQuantity.ELECTRIC_POWER_L1, now) == 2000
    pause = link.view.interrupt(TASK, "wash", now, now)
    out = link.send(pause, now)
    assert updates_of(out) == [
        (pause.id, IS.ACCEPTED, now),
        (pause.id, IS.STARTED, now),
        (pause.id, IS.SUCCEEDED, now),
    ]
    assert reported(out, now)["wash"] == (S.INTERRUPTED, 20 * 60_000)
    assert link.device.running(now) is None
    assert link.device.expected_power(CommodityQuantity.ELECTRIC_POWER_L1, now) == 0
    later = now + 40 * M
    assert link.tick(later) == []  # nothing ends while paused
    [wash_state] = [c for c in link.view.feasible_schedules(TASK, later) if c.container_id == "wash"]
    assert wash_state.end == later + 70 * M
    go = link.view.resume(TASK, "wash", later, later)
    out = link.send(go, later)
    assert reported(out, later)["wash"] == (S.EXECUTING, 20 * 60_000)
    assert link.device.running(later + 15 * M) == ("wash", "eco", 35 * 60_000)
    assert link.device.expected_power(CommodityQuantity.ELECTRIC_POWER_L1, later + 15 * M) == 300
    assert link.device.next_wakeup() == later + 70 * M
    out = link.tick(later + 2 * H)
    assert updates_of(out) == [(wash, IS.SUCCEEDED, later + 70 * M)]
    assert reported(out, later)["wash"] == (S.FINISHED, 90 * 60_000)
    assert [c.status for c in link.view.feasible_schedules(TASK, later + 2 * H)] == [
        S.FINISHED,
        S.FINISHED,
        S.NOT_SCHEDULED,
    ]


def test_a_sequence_waits_for_an_interrupted_predecessor() -> None:
    link = Link()
    link.schedule("prewash", "pre-cold", T0)
    link.schedule("wash", "eco", T0 + 30 * M)
    spin = link.schedule("spin", "spin", T0 + 2 * H)
    link.tick(T0 + 40 * M)
    link.send(link.view.interrupt(TASK, "wash", T0 + 40 * M, T0 + 40 * M), T0 + 40 * M)
    resume_at = T0 + 80 * M
    link.send(link.view.resume(TASK, "wash", resume_at, resume_at), resume_at)
    assert link.tick(T0 + 2 * H + 10 * M) == []  # the spin's time came, but the wash still runs
    out = link.tick(T0 + 2 * H + 50 * M)  # the wash ended at 12:40 (80 min left at 11:20)
    assert updates_of(out)[-1] == (spin, IS.STARTED, T0 + 2 * H + 40 * M)
    assert reported(out, T0)["spin"] == (S.EXECUTING, 10 * 60_000)


def test_interruption_that_comes_too_late_is_aborted() -> None:
    link = Link()
    link.schedule("prewash", "pre-cold", T0)
    link.schedule("wash", "eco", T0 + 30 * M)
    pause = link.view.interrupt(TASK, "wash", T0 + 40 * M, NOW)
    assert updates_of(link.send(pause, NOW)) == [(pause.id, IS.ACCEPTED, NOW)]
    # the CEM revokes the wash schedule before it starts: the pending interruption can no longer apply
    revoke = link.view.revoke(link.device.plan.slots[1].schedule_id or "", NOW)
    assert revoke.object_type is RevokableObjects.PPBC_ScheduleInstruction
    link.send(revoke, NOW)
    assert link.states()["wash"] == (S.NOT_SCHEDULED, None, None)
    out = link.tick(T0 + H)
    assert (pause.id, IS.ABORTED, T0 + 40 * M) in updates_of(out)
    assert link.device.scheduler.reason(pause.id) == "sequence eco was NOT_SCHEDULED at 2024-08-24T10:40:00Z"


def test_device_rejects_what_the_view_would_not_build() -> None:
    link = Link()
    bad = PPBCScheduleInstruction(
        message_id=new_id(),
        id="too-early",
        power_profile_id=TASK,
        sequence_container_id="prewash",
        power_sequence_id="pre-cold",
        execution_time=T0 - H,
        abnormal_condition=False,
    )
    assert updates_of(link.send(bad, NOW)) == [("too-early", IS.REJECTED, NOW)]
    assert link.device.scheduler.reason(
        "too-early",
    ).startswith("the sequence would run")  # type: ignore[union-attr]
    assert link.states()["prewash"] == (S.NOT_SCHEDULED, None, None)
    assert link.view.instruction_status("too-early") is IS.REJECTED
    assert options(link.view)["prewash"]  # the view let the container go again
    unknown = msgspec.structs.replace(bad, message_id=new_id(), id="unknown", power_profile_id="other-task")
    decision = link.device.receive(unknown, NOW)
    assert decision.rule == "S2-PPBC-011" and not decision.rejectable
    strict = PPBCDevice(washing_machine(), strict_ids=True)
    strict.activate(NOW)
    with pytest.raises(InvalidContent):
        strict.handle(msgspec.structs.replace(unknown, message_id=new_id()), NOW)
    with pytest.raises(InvalidContent):
        PPBCDevice(msgspec.structs.replace(washing_machine(), end_time=T0))


def test_abort_replace_and_deactivate() -> None:
    link = Link()
    prewash = link.schedule("prewash", "pre-cold", T0)
    wash = link.schedule("wash", "eco", T0 + 30 * M)
    link.tick(T0 + 10 * M)
    out = link.tell(link.device.abort(T0 + 10 * M, "door opened"), T0 + 10 * M)
    assert updates_of(out) == [(prewash, IS.ABORTED, T0 + 10 * M), (wash, IS.ABORTED, T0 + 10 * M)]
    assert reported(out, T0)["prewash"] == (S.ABORTED, 10 * 60_000)
    assert reported(out, T0)["wash"] == (S.ABORTED, None)
    error = refusal(lambda: link.view.schedule(TASK, "spin", "spin", T0 + H, T0 + 10 * M))
    assert error.rule == "S2-PPBC-015" and "was aborted" in error.reason
    fresh = msgspec.structs.replace(washing_machine(T0 + 8 * H), id="wash-task-2")
    out = link.tell(link.device.replace(fresh, T0 + H), T0 + H)
    assert isinstance(out[0], RevokeObject) and out[0].object_id == TASK
    assert [p.id for p in link.view.profiles()] == ["wash-task-2"]
    instruction = link.view.schedule("wash-task-2", "prewash", "pre-hot", T0 + 9 * H, T0 + H)
    link.send(instruction, T0 + H)
    off = SelectControlType(message_id=new_id(), control_type=ControlType.NO_SELECTION)
    assert updates_of(link.send(off, T0 + 2 * H)) == [(instruction.id, IS.ABORTED, T0 + 2 * H)]
    assert link.view.profiles() == []


# --- a CEM and an RM over two session engines with the rule catalogue on both sides -------------------


def test_pair_runs_a_whole_wash() -> None:
    pair = Pair.create(cem={"checker": SessionContext()}, rm={"checker": SessionContext()})
    pair.clock.now = NOW
    pair.initialize(ControlType.POWER_PROFILE_BASED_CONTROL, control_types=(ControlType.POWER_PROFILE_BASED_CONTROL,))
    clock = pair.clock
    device = PPBCDevice(washing_machine())
    view = PPBCView()

    def deliver() -> None:
        while pair.cem_events or pair.rm_events:
            cem_events, pair.cem_events[:] = list(pair.cem_events), []
            rm_events, pair.rm_events[:] = list(pair.rm_events), []
            for event in cem_events:
                if isinstance(event, MessageReceived):
                    view.apply(event.message, clock.now)
            for event in rm_events:
                if isinstance(event, MessageReceived):
                    for message in device.handle(event.message, clock.now):
                        pair.rm.send(message, clock.now)
            pair.pump()

    def cem_sends(message: S2Message) -> None:
        pair.cem.send(message, clock.now)
        pair.pump()
        deliver()

    def advance_to(moment: datetime) -> None:
        clock.now = moment
        for message in device.tick(moment):
            pair.rm.send(message, moment)
        pair.pump()
        deliver()

    deliver()
    plan = view.feasible_schedules(TASK, clock.now)
    starts = {c.container_id: c.options[0] for c in plan}
    cem_sends(
        view.schedule(TASK, "prewash", starts["prewash"].sequence_id, starts["prewash"].earliest_start, clock.now)
    )
    for container in ("wash", "spin"):
        [state] = [c for c in view.feasible_schedules(TASK, clock.now) if c.container_id == container]
        option = state.options[0]
        cem_sends(view.schedule(TASK, container, option.sequence_id, option.earliest_start, clock.now))
    advance_to(T0 + 45 * M)
    cem_sends(view.interrupt(TASK, "wash", clock.now, clock.now))
    advance_to(T0 + 60 * M)
    cem_sends(view.resume(TASK, "wash", clock.now, clock.now))
    advance_to(T0 + 5 * H)
    assert [c.status for c in view.feasible_schedules(TASK, clock.now)] == [S.FINISHED] * 3
    answers = reception_statuses([text for _, text in pair.transcript])
    assert answers and all(r["status"] == "OK" for r in answers), [r for r in answers if r["status"] != "OK"]


# --- properties --------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    hours=st.integers(3, 10),
    picks=st.lists(st.tuples(st.integers(0, 1), st.floats(0, 1)), min_size=3, max_size=3),
    abnormal=st.booleans(),
)
def test_every_start_offered_by_feasible_schedules_is_accepted(
    hours: int, picks: list[tuple[int, float]], abnormal: bool
) -> None:
    """Scheduling the containers in order, any start the view offers is one it builds, the
    device accepts, and it never leaves a later container without an option."""
    link = Link(washing_machine(hours=hours))
    for (choice, fraction), container in zip(picks, ("prewash", "wash", "spin"), strict=True):
        [state] = [c for c in link.view.feasible_schedules(TASK, NOW, abnormal=abnormal) if c.container_id == container]
        assert state.options, f"{container} has no option left"
        option = state.options[choice % len(state.options)]
        span = (option.latest_start - option.earliest_start).total_seconds()
        start = option.earliest_start + timedelta(seconds=int(span * fraction))
        link.schedule(container, option.sequence_id, start, abnormal=abnormal)
    assert [s for s, _, _ in link.states().values()] == [S.SCHEDULED] * 3


@st.composite
def ppbc_devices(draw: st.DrawFn) -> PPBCPowerProfileDefinition:
    """Any programme: one to four containers of one to three sequences (steps of 1 to 90 minutes,
    consuming or producing, interruptible or not, with or without a pause limit, some for abnormal
    conditions only), in a window of 1 to 12 hours."""
    containers = []
    for c in range(draw(st.integers(1, 4))):
        sequences = []
        for q in range(draw(st.integers(1, 3))):
            steps = draw(st.lists(st.tuples(st.integers(1, 90), st.integers(-3000, 4000)), min_size=1, max_size=3))
            sequences.append(
                power_sequence(
                    f"c{c}-s{q}",
                    [(minutes * M, power) for minutes, power in steps],
                    is_interruptible=draw(st.booleans()),
                    max_pause_before=draw(st.none() | st.integers(0, 90).map(lambda m: m * M)),
                    abnormal_condition_only=draw(st.integers(0, 7)) == 0,
                )
            )
        containers.append(PPBCPowerSequenceContainer(id=f"c{c}", power_sequences=sequences))
    hours = draw(st.integers(1, 12))
    return PPBCPowerProfileDefinition(
        message_id=new_id(), id=TASK, start_time=T0, end_time=T0 + hours * H, power_sequences_containers=containers
    )


@settings(max_examples=80, deadline=None)
@given(definition=ppbc_devices(), data=st.data(), abnormal=st.booleans())
def test_every_start_offered_for_any_programme_is_accepted(
    definition: PPBCPowerProfileDefinition, data: st.DataObject, abnormal: bool
) -> None:
    """The washer's property for any device: when the programme fits its window at all, scheduling
    the containers in order at any start the view offers is accepted by the device, and no later
    container is left without an option."""
    link = Link(definition)
    order = [c.id for c in definition.power_sequences_containers]
    usable = [
        any(abnormal or not q.abnormal_condition_only for q in c.power_sequences)
        for c in definition.power_sequences_containers
    ]
    if not all(usable):
        coverage("a container has only abnormal-condition sequences")
        return
    first = [c for c in link.view.feasible_schedules(TASK, NOW, abnormal=abnormal) if c.container_id == order[0]]
    if not first or not first[0].options:
        coverage("the programme does not fit its window")
        return
    coverage(f"{len(order)} container(s) scheduled")
    for container in order:
        [state] = [c for c in link.view.feasible_schedules(TASK, NOW, abnormal=abnormal) if c.container_id == container]
        assert state.options, f"{container} has no option left"
        option = data.draw(st.sampled_from(state.options))
        span = (option.latest_start - option.earliest_start).total_seconds()
        start = option.earliest_start + timedelta(seconds=int(span * data.draw(st.floats(0, 1))))
        link.schedule(container, option.sequence_id, start, abnormal=abnormal)
    assert [s for s, _, _ in link.states().values()] == [S.SCHEDULED] * len(order)
