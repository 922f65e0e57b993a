"""``@on`` handlers: how the table is built from a class, and what their outcomes mean on the wire.

A synchronous handler decides the ReceptionStatus (return = OK, InvalidContent = INVALID_CONTENT,
TemporaryError = TEMPORARY_ERROR, anything else = TEMPORARY_ERROR as our own bug); an async one runs
after the OK, and its failure is logged without touching the session.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from app_support import DEADLINE, joined
from s2ws import (
    ControlType,
    FRBCInstruction,
    FRBCStorageStatus,
    FRBCSystemDescription,
    Handshake,
    InstructionStatus,
    PowerMeasurement,
    ReceptionStatus,
    ReceptionStatusValues,
    S2Message,
    SelectControlType,
    new_id,
)
from s2ws.app import CEM, RMHandle, SimulatedBattery, on
from s2ws.app.handlers import Dispatcher, handler_specs
from s2ws.errors import InvalidContent, SessionClosedError, TemporaryError
from s2ws.session import RetryPolicy

RS = ReceptionStatusValues


class Base:
    @on(FRBCInstruction)
    def first(self, message: S2Message) -> None: ...

    @on(PowerMeasurement)
    async def second(self, message: S2Message) -> None: ...

    @on(SelectControlType)
    def replaced(self, message: S2Message) -> None: ...


class Child(Base):
    @on(S2Message)
    def everything(self, message: S2Message) -> None: ...

    def replaced(self, message: S2Message) -> None:  # an undecorated override removes the handler
        ...

    @on(FRBCStorageStatus)
    @on(FRBCInstruction)
    async def stacked(self, message: S2Message) -> None: ...


def test_the_table_follows_the_class_in_definition_order_with_overrides() -> None:
    assert [s.name for s in handler_specs(Base)] == ["first", "second", "replaced"]
    specs = {s.name: s for s in handler_specs(Child)}
    assert list(specs) == ["first", "second", "everything", "stacked"]
    assert specs["stacked"].types == (FRBCInstruction, FRBCStorageStatus) and specs["stacked"].is_async
    assert not specs["first"].is_async and specs["second"].is_async


def test_dispatch_matches_by_class_so_s2message_sees_everything() -> None:
    child = Child()
    sync, run_async = Dispatcher(child).handlers(FRBCInstruction)
    assert [h.__name__ for h in sync] == ["first", "everything"]
    assert [h.__name__ for h in run_async] == ["stacked"]
    sync, run_async = Dispatcher(child).handlers(SelectControlType)
    assert [h.__name__ for h in sync] == ["everything"] and run_async == []
    assert not Dispatcher(object())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "at least one"),
        ((int,), "S2 message classes"),
        ((ReceptionStatus,), "matched by the session engine"),
    ],
)
def test_on_refuses_what_it_cannot_route(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        on(*args)


class Picky(SimulatedBattery):
    """A battery whose synchronous handler judges instructions by their factor."""

    def __init__(self, **options: Any) -> None:
        super().__init__(interval=60, **options)
        self.async_seen: list[float] = []
        self.observed: list[str] = []

    @on(FRBCInstruction)
    def judge(self, instruction: FRBCInstruction) -> None:
        if instruction.operation_mode_factor == 0.9:
            raise InvalidContent("APP-001", "/operation_mode_factor", "0.9 is reserved")
        if instruction.operation_mode_factor == 0.8:
            raise TemporaryError("busy, try later")
        if instruction.operation_mode_factor == 0.7:
            raise ValueError("a bug in the handler")

    @on(FRBCInstruction)
    async def after(self, instruction: FRBCInstruction) -> None:
        self.async_seen.append(instruction.operation_mode_factor)
        if instruction.operation_mode_factor == 0.6:
            raise RuntimeError("an async handler failing")

    @on(Handshake)
    def observe(self, message: Handshake) -> None:
        self.observed.append(message.role.value)


class Recording(CEM):
    def __init__(self) -> None:
        super().__init__(retry=RetryPolicy(max_attempts=1))  # a TEMPORARY_ERROR is final here
        self.storage: list[tuple[str, float]] = []

    @on(FRBCStorageStatus)
    def storage_status(self, rm: RMHandle, status: FRBCStorageStatus) -> None:
        self.storage.append((rm.id, status.present_fill_level))


async def test_sync_handlers_decide_the_reception_status_and_async_ones_run_after_ok(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cem = Recording()
    battery = Picky()
    async with asyncio.timeout(DEADLINE), joined(cem, battery):
        rm = await cem.next_rm()
        await rm.wait_until(lambda: rm.last(FRBCSystemDescription) is not None and bool(cem.storage))
        assert cem.storage[0][0] == rm.id  # CEM handlers get the RM's handle
        assert battery.observed == ["CEM"]  # engine-owned messages reach handlers as observers

        def instruction(factor: float) -> FRBCInstruction:
            return FRBCInstruction(
                message_id=new_id(),
                id=new_id(),
                actuator_id=battery.sim.actuator_id,
                operation_mode=battery.sim.mode_ids["charge"],
                operation_mode_factor=factor,
                execution_time=cem.clock(),
                abnormal_condition=False,
            )

        async def answer(factor: float) -> ReceptionStatus:
            status = await rm.send(instruction(factor), wait=True)
            assert status is not None
            return status

        refused = await answer(0.9)
        assert refused.status is RS.INVALID_CONTENT
        assert refused.diagnostic_label == "APP-001 at /operation_mode_factor: 0.9 is reserved"
        assert (await answer(0.8)).status is RS.TEMPORARY_ERROR
        bug = await answer(0.7)
        assert bug.status is RS.TEMPORARY_ERROR and "ValueError" in str(bug.diagnostic_label)
        with caplog.at_level(logging.ERROR, logger="s2ws.app"):
            assert (await answer(0.6)).status is RS.OK
            await rm.wait_until(lambda: battery.async_seen == [0.6])
            ok = await answer(0.5)
        assert ok.status is RS.OK  # the failing async handler did not hurt the session
        await rm.wait_until(lambda: battery.async_seen == [0.6, 0.5])
        assert any("an async handler failing" in str(r.exc_info) for r in caplog.records if r.exc_info)
        refused_records = [r for r in rm.instructions.values() if r.refused is not None]
        assert sorted(r.refused.status.value for r in refused_records if r.refused) == ["INVALID_CONTENT"]
        await rm.wait_until(
            lambda: len([r for r in rm.instructions.values() if r.status is InstructionStatus.SUCCEEDED]) == 2
        )


async def test_wait_for_an_answer_fails_when_the_session_ends() -> None:
    cem = CEM(preference=[])
    battery = SimulatedBattery(interval=60)
    async with asyncio.timeout(DEADLINE), joined(cem, battery):
        rm = await cem.next_rm()
        await rm.wait_until(lambda: rm.details is not None)
        waiter = asyncio.ensure_future(rm.wait_until(lambda: rm.active_control_type is ControlType.NO_SELECTION))
        await battery.close()
        with pytest.raises(SessionClosedError):
            await waiter
        with pytest.raises(SessionClosedError):
            await rm.select(ControlType.FILL_RATE_BASED_CONTROL)
