"""The blocking RM facade from plain threads, against a CEM served on 127.0.0.1 by another loop thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from app_support import cheap_now_dear_later
from interop_support import free_port
from s2ws import (
    ControlType,
    FRBCInstruction,
    InstructionStatus,
    PowerMeasurement,
    PowerValue,
    ReceptionStatusValues,
    S2Message,
    SelectControlType,
    new_id,
)
from s2ws.app import BlockingRM, LoopThread, PlannerCEM, RMHandle, SimulatedBattery
from s2ws.errors import ConnectError

TIMEOUT = 15.0


@pytest.fixture
def cem_url() -> Iterator[tuple[PlannerCEM, str, LoopThread]]:
    host = LoopThread("test-cem")
    host.start()
    cem = PlannerCEM(site=cheap_now_dear_later(datetime.now(UTC)))  # the battery charges at once
    try:
        server = host.run(cem.serve("127.0.0.1", 0), TIMEOUT)
        yield cem, server.url(), host
    finally:
        try:
            host.run(cem.close(), TIMEOUT)
        finally:
            host.stop(TIMEOUT)


def test_start_send_from_threads_receive_and_stop(cem_url: tuple[PlannerCEM, str, LoopThread]) -> None:
    cem, url, host = cem_url
    battery = SimulatedBattery(interval=60)
    rm = BlockingRM(battery, url, reconnect=None)
    rm.start(timeout=TIMEOUT)
    try:
        assert rm.connected
        seen: list[S2Message] = []
        while not any(isinstance(m, FRBCInstruction) for m in seen):
            message = rm.next_message(timeout=TIMEOUT)
            assert message is not None, seen
            seen.append(message)
        assert any(
            isinstance(m, SelectControlType) and m.control_type is ControlType.FILL_RATE_BASED_CONTROL for m in seen
        )

        def measurement(value: float) -> PowerMeasurement:
            quantity = battery.sim.details().provides_power_measurement_types[0]
            return PowerMeasurement(
                message_id=new_id(),
                measurement_timestamp=battery.clock(),
                values=[PowerValue(commodity_quantity=quantity, value=value)],
            )

        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(lambda v: rm.send(measurement(v), wait=True), [1.0, 2.0, 3.0, 4.0]))
        assert [a.status if a else None for a in answers] == [ReceptionStatusValues.OK] * 4

        # the loop thread must not block on itself: send from there is refused, not a deadlock
        outcome: list[BaseException] = []
        done = threading.Event()

        def from_loop() -> None:
            try:
                rm.send(measurement(5.0))
            except RuntimeError as exc:
                outcome.append(exc)
            done.set()

        assert rm._loop_thread.loop is not None
        rm._loop_thread.loop.call_soon_threadsafe(from_loop)
        assert done.wait(TIMEOUT) and "loop thread" in str(outcome[0])

        (rm_handle,) = host.run(_handles(cem), TIMEOUT)
        instruction = next(m for m in seen if isinstance(m, FRBCInstruction))
        host.run(
            rm_handle.wait_until(lambda: rm_handle.instructions[instruction.id].status is InstructionStatus.SUCCEEDED),
            TIMEOUT,
        )
    finally:
        rm.stop(timeout=TIMEOUT)
    assert not rm.connected and battery.session is not None and battery.session.closed
    assert battery.session.close_reason is not None and "stopped" in battery.session.close_reason


async def _handles(cem: PlannerCEM) -> list[RMHandle]:
    return list(cem.rms.values())


def test_start_raises_when_nothing_listens() -> None:
    rm = BlockingRM(SimulatedBattery(interval=60), f"ws://127.0.0.1:{free_port()}/", reconnect=None)
    with pytest.raises(ConnectError):
        rm.start(timeout=TIMEOUT)
    rm.stop()
