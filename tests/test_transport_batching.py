"""The driver's use of channels that can write queued frames together or at once, and the
ledger's deadline order when deadlines come out of order."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from s2ws.messages.common import ReceptionStatus
from s2ws.session.ledger import Ledger, Waiting
from s2ws.transport import Driver, memory_pair
from transport_fakes import FakeEngine

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


async def test_held_frames_go_out_first_and_in_order() -> None:
    async with asyncio.timeout(5):
        near, far = memory_pair()
        engine = FakeEngine()
        refused: list[Sequence[str]] = []

        def write_now(texts: Sequence[str]) -> bool:
            refused.append(list(texts))
            return False  # nothing can be written at once: the driver must keep them for its flush

        near.write_now = write_now  # type: ignore[attr-defined]
        driver = Driver(engine, near)
        task = asyncio.create_task(driver.run())
        assert await far.receive() == "hello"
        while not driver._running or driver._flushing:
            await asyncio.sleep(0)
        engine.push("a")
        engine.push("b")
        driver.wakeup()
        engine.push("c")
        driver.wakeup()
        assert [await far.receive() for _ in range(3)] == ["a", "b", "c"]
        assert refused == [["a", "b"]]  # once frames are held, later ones queue behind them
        driver.stop()
        await task


def test_ledger_deadlines_out_of_order_keep_deadline_order() -> None:
    ledger = Ledger(max_remembered=10)
    status = ReceptionStatus(subject_message_id="x", status="OK")  # type: ignore[arg-type]
    offsets = [5, 7, 3, 9, 1, 7]
    for i, offset in enumerate(offsets):
        ledger.add(f"m{i}", status, "frame", T0 + timedelta(seconds=offset))
    assert ledger.next_deadline() == T0 + timedelta(seconds=1)
    ledger.finish("m4")
    assert ledger.next_deadline() == T0 + timedelta(seconds=3)
    due = ledger.pop_due(T0 + timedelta(seconds=7))
    assert [e.message_id for e in due] == ["m2", "m0", "m1", "m5"]
    assert all(e.waiting is Waiting.ACK for e in due)
    assert ledger.next_deadline() == T0 + timedelta(seconds=9)
    assert ledger.sizes()["deadline_heap"] >= 1
