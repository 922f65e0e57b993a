"""The reference CEM's rolling horizon, in memory: the first plan at the description, triggers that
coalesce, refusals caught before the wire, revocation of what a new plan drops, and the history."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app_support import DEADLINE, cheap_now_dear_later, joined, lines_of, recorder
from s2ws import FRBCInstruction, FRBCSystemDescription, InstructionStatus, new_id
from s2ws.app import PlannerCEM, RMHandle, SimulatedBattery
from s2ws.app.clock import SimClock
from s2ws.app.planner import describe_plan, signature
from s2ws.messages.base import S2Message
from s2ws.plan import DeviceModel, Plan, Planner, PriceCurve, Site
from s2ws.store import History


class CountingPlanner(Planner):
    """A real planner that also counts how many plans run at once, and can be held."""

    def __init__(self, inner: Planner) -> None:
        super().__init__(inner.site)
        self.running = 0
        self.most = 0
        self.calls = 0
        self.release = threading.Event()
        self.release.set()
        self._lock = threading.Lock()

    def plan(self, devices: Sequence[DeviceModel], now: datetime) -> Plan:
        with self._lock:
            self.running += 1
            self.calls += 1
            self.most = max(self.most, self.running)
        try:
            self.release.wait(10)
            return super().plan(devices, now)
        finally:
            with self._lock:
                self.running -= 1


def _instructed(rm: RMHandle) -> bool:
    return any(r.status is InstructionStatus.SUCCEEDED for r in rm.instructions.values())


async def test_the_first_plan_goes_out_when_the_device_is_described_not_a_step_later() -> None:
    log, stream = recorder()
    # a step of a day: only the description (and what follows it) can have triggered the plan
    cem = PlannerCEM(site=cheap_now_dear_later(datetime.now(UTC)), step=timedelta(days=1), observers=[log])
    async with asyncio.timeout(DEADLINE), joined(cem, SimulatedBattery(interval=3600)):
        rm = await cem.next_rm()
        await rm.wait_until(lambda: _instructed(rm))
        assert cem.plans >= 1 and cem.last_plan is not None and cem.last_plan.status in ("optimal", "time_limit")
    kinds = [line["text"] for line in lines_of(stream)]
    described = next(i for i, text in enumerate(kinds) if '"FRBC.SystemDescription"' in text)
    assert any('"FRBC.Instruction"' in text for text in kinds[described:])


async def test_triggers_coalesce_one_plan_at_a_time_and_one_queued() -> None:
    cem = PlannerCEM(site=cheap_now_dear_later(datetime.now(UTC)), step=timedelta(days=1))
    async with asyncio.timeout(DEADLINE), joined(cem, SimulatedBattery(interval=3600)):
        rm = await cem.next_rm()
        await rm.wait_until(lambda: _instructed(rm))
        if cem._task is not None:
            await cem._task  # idle now
        counting = CountingPlanner(Planner(cem.site))
        cem._optimizer = counting
        counting.release.clear()
        for n in range(50):  # a burst of triggers while a plan is being made
            cem.request_plan(f"burst {n}")
            await asyncio.sleep(0)
        await asyncio.sleep(0.2)
        assert counting.calls == 1  # the first runs (held), the others wait as one
        counting.release.set()
        task = cem._task
        assert task is not None
        await asyncio.wait_for(asyncio.shield(task), DEADLINE / 2)
    assert counting.calls in (1, 2) and counting.most == 1  # 50 triggers: one plan running, one more queued


async def test_an_instruction_the_rules_refuse_is_logged_not_sent(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def bogus(self: Plan, resource_id: str, view: Any, now: datetime, until: datetime) -> list[S2Message]:
        description = view.descriptions.at(now)
        assert isinstance(description, FRBCSystemDescription)
        actuator = description.actuators[0]
        return [
            FRBCInstruction(
                message_id=new_id(),
                id=new_id(),
                actuator_id=actuator.id,
                operation_mode=new_id(),  # no such mode
                operation_mode_factor=0.5,
                execution_time=now,
                abnormal_condition=False,
            )
        ]

    monkeypatch.setattr(Plan, "instructions", bogus)
    log, stream = recorder()
    cem = PlannerCEM(site=cheap_now_dear_later(datetime.now(UTC)), step=timedelta(days=1), observers=[log])
    caplog.set_level(logging.WARNING, logger="s2ws.app.planner")
    async with asyncio.timeout(DEADLINE), joined(cem, SimulatedBattery(interval=3600)):
        rm = await cem.next_rm()
        while not any("not sent" in r.message for r in caplog.records):
            await asyncio.sleep(0.02)
        plans = cem.plans
        cem.request_plan("again")  # the CEM plans on: the session is unharmed
        while cem.plans == plans:
            await asyncio.sleep(0.02)
        assert not rm.closed and rm.instructions == {}
    assert not any('"FRBC.Instruction"' in line["text"] for line in lines_of(stream))
    refusal = next(r.message for r in caplog.records if "not sent" in r.message)
    assert "FRBC.Instruction not sent" in refusal and "S2-" in refusal  # names the rule


async def test_a_pending_instruction_the_new_plan_drops_is_revoked(monkeypatch: pytest.MonkeyPatch) -> None:
    """An instruction for later in the near term, then a plan that no longer wants it."""
    later: dict[str, datetime] = {}
    original = Plan.instructions

    def far_ahead(self: Plan, resource_id: str, view: Any, now: datetime, until: datetime) -> list[S2Message]:
        out = original(self, resource_id, view, now, until)
        if later:
            return out
        if out:
            later["at"] = now + timedelta(minutes=10)
            first = out[0]
            assert isinstance(first, FRBCInstruction)
            view.forget(first.id)
            return [
                view.instruct(first.actuator_id, first.operation_mode, first.operation_mode_factor, later["at"], now)
            ]
        return out

    monkeypatch.setattr(Plan, "instructions", far_ahead)
    cem = PlannerCEM(site=cheap_now_dear_later(datetime.now(UTC)), step=timedelta(minutes=30))
    async with asyncio.timeout(DEADLINE), joined(cem, SimulatedBattery(interval=3600)):
        rm = await cem.next_rm()
        await rm.wait_until(lambda: any(r.status is InstructionStatus.ACCEPTED for r in rm.instructions.values()))
        (record,) = rm.instructions.values()
        now = datetime.now(UTC)
        dear_now = PriceCurve(((now - timedelta(hours=1), 0.60, 0.0), (now + timedelta(hours=2), 0.05, 0.0)))
        cem._optimizer = Planner(Site(prices=dear_now, horizon=timedelta(hours=4), time_limit_s=5.0))
        cem.request_plan("the prices changed")  # charging in ten minutes is no longer wanted
        await rm.wait_until(lambda: record.status is InstructionStatus.REVOKED)
        others = [r for r in rm.instructions.values() if r is not record]
        assert all(signature(r.message) != signature(record.message) for r in others)  # not asked again


async def test_the_history_holds_the_plan_the_instruction_and_its_statuses(tmp_path: Path) -> None:
    history = History(tmp_path / "h.db")
    cem = PlannerCEM(site=cheap_now_dear_later(datetime.now(UTC)), step=timedelta(days=1), history=history)
    async with asyncio.timeout(DEADLINE), joined(cem, SimulatedBattery(interval=3600)):
        rm = await cem.next_rm()
        await rm.wait_until(lambda: _instructed(rm))
        ident = next(iter(rm.instructions))
    await asyncio.to_thread(history.flush)
    try:
        rows = {row.id: row for row in history.instructions()}
        assert set(rows) == set(rm.instructions)
        row = rows[ident]
        assert row.message_type == "FRBC.Instruction" and row.status == "SUCCEEDED"
        assert [c.status for c in row.timeline] == ["ACCEPTED", "STARTED", "SUCCEEDED"]
        plans = {plan.id: plan for plan in history.plans()}
        assert row.plan_id in plans and plans[row.plan_id].status in ("optimal", "time_limit")
        assert plans[row.plan_id].summary["devices"]  # the schedules are kept for the web UI
        (session,) = history.sessions()
        assert session.control_type == "FILL_RATE_BASED_CONTROL" and session.ended_at is not None
        (device,) = history.devices()
        assert device.name == "Home battery" and device.resource_id == row.resource_id
        kept = {m.message_type for m in history.messages()}
        assert {"FRBC.SystemDescription", "FRBC.StorageStatus"} <= kept
    finally:
        history.close()


def test_a_signature_ignores_ids_and_optionally_the_time() -> None:
    now = datetime(2026, 3, 20, tzinfo=UTC)

    def make(at: datetime) -> FRBCInstruction:
        return FRBCInstruction(
            message_id=new_id(),
            id=new_id(),
            actuator_id="a",
            operation_mode="m",
            operation_mode_factor=0.5,
            execution_time=at,
            abnormal_condition=False,
        )

    assert signature(make(now)) == signature(make(now))
    assert signature(make(now)) != signature(make(now + timedelta(minutes=1)))
    assert signature(make(now), timed=False) == signature(make(now + timedelta(minutes=1)), timed=False)


def test_a_plan_summary_names_devices_and_relaxations() -> None:
    from s2ws.plan import DevicePlan, Relaxation

    now = datetime(2026, 3, 20, tzinfo=UTC)
    plan = Plan(
        now=now,
        steps=(now,),
        step_seconds=(900.0,),
        status="optimal",
        objective_value=1.5,
        solve_seconds=0.25,
        relaxations=(Relaxation("r1", "fill_level_target.low", 12.5, "%", "too late"),),
        devices={"r1": DevicePlan(power_w=(0.0,))},
        site_import_w=(0.0,),
    )
    text = describe_plan(plan, 7, {"r1": "EV"})
    assert text.startswith("plan 7 at 2026-03-20 00:00: optimal, objective 1.500")
    assert "relaxed: EV: fill_level_target.low by 12.5 %" in text


async def test_the_cem_applies_the_history_retention_as_its_clock_runs(tmp_path: Path) -> None:
    clock = SimClock(3600.0, origin=datetime.now(UTC))  # a step every quarter of a second
    history = History(tmp_path / "h.db", retention=timedelta(days=1))
    old = clock() - timedelta(days=2)
    history.record_instruction("old", "s0", "r0", "OMBC.Instruction", "{}", old, old)
    history.record_status("old", "SUCCEEDED", old)
    history.record_instruction("open", "s0", "r0", "OMBC.Instruction", "{}", old, old)
    history.record_measurement("r0", "s0", old, [("ELECTRIC.POWER.L1", 1.0)])
    cem = PlannerCEM(site=cheap_now_dear_later(clock()), clock=clock, history=history)
    assert cem.history is not None and set(cem.history.known) == {"old", "open"}
    try:
        async with asyncio.timeout(DEADLINE), joined(cem, SimulatedBattery(interval=3600, clock=clock)):
            await cem.next_rm()
            while "old" in {row.id for row in history.instructions()}:
                await asyncio.sleep(0.05)
                await asyncio.to_thread(history.flush)
        assert "open" in {row.id for row in history.instructions()}  # unfinished: kept whatever its age
        assert history.measurements("r0", old - timedelta(hours=1), old + timedelta(hours=1)) == []
    finally:
        history.close()
