"""What an idle session costs the transport: one task, no timer of its own, and a write watch shared
by every session of the loop that still drops a peer that does not read. Structural, so it holds on
any machine; the bytes are measured by ``python -m bench.memory``."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from builders import CEM, FRBC, RM, rm_details
from s2ws.messages import SelectControlType, new_id
from s2ws.session import ControlTypeSelected, HandshakeCompleted, MessageReceived, Session
from s2ws.transport import Connection, Driver, memory_pair, utc_now
from s2ws.transport.driver import _WriteWatch
from transport_fakes import FakeEngine


class _Loop:
    """Just what the write watch asks of a loop: its time and a timer; time moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0
        self.timers: list[tuple[float, Any]] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Any) -> Any:
        handle = _Handle(when, callback)
        self.timers.append((when, handle))
        return handle

    def fire_due(self) -> None:
        due = [(when, h) for when, h in self.timers if when <= self.now and not h.cancelled]
        self.timers = [(when, h) for when, h in self.timers if (when, h) not in due]
        for _, handle in due:
            handle.callback()

    def live(self) -> int:
        return sum(not h.cancelled for _, h in self.timers)


class _Handle:
    def __init__(self, when: float, callback: Any) -> None:
        self.when, self.callback, self.cancelled = when, callback, False

    def cancel(self) -> None:
        self.cancelled = True


class _Writer:
    """Stands in for a driver: records that its write expired."""

    def __init__(self) -> None:
        self.expired = 0

    def _write_expired(self) -> None:
        self.expired += 1


def test_one_timer_serves_every_write_and_only_the_late_one_expires() -> None:
    loop = _Loop()
    watch = _WriteWatch(loop)  # type: ignore[arg-type]
    slow, quick, later = _Writer(), _Writer(), _Writer()
    watch.start(slow, 10.0)  # type: ignore[arg-type]
    watch.start(quick, 10.0)  # type: ignore[arg-type]
    assert loop.live() == 1  # one timer for both
    watch.finish(quick)  # type: ignore[arg-type]
    loop.now += 5.0
    watch.start(later, 10.0)  # type: ignore[arg-type]
    assert loop.live() == 1  # it expires after the armed one: no second timer
    loop.now += 5.0
    loop.fire_due()
    assert (slow.expired, quick.expired, later.expired) == (1, 0, 0)
    assert loop.live() == 1  # re-armed for the write still waiting
    watch.finish(later)  # type: ignore[arg-type]
    loop.now += 5.0
    loop.fire_due()
    assert later.expired == 0 and loop.live() == 0  # nothing waits: the watch holds no timer


def test_a_shorter_timeout_arms_the_timer_earlier() -> None:
    loop = _Loop()
    watch = _WriteWatch(loop)  # type: ignore[arg-type]
    long, short = _Writer(), _Writer()
    watch.start(long, 30.0)  # type: ignore[arg-type]
    watch.start(short, 1.0)  # type: ignore[arg-type]
    loop.now += 1.0
    loop.fire_due()
    assert (long.expired, short.expired) == (0, 1)
    loop.now += 29.0
    loop.fire_due()
    assert long.expired == 1


async def test_the_watch_is_shared_by_the_loop() -> None:
    loop = asyncio.get_running_loop()
    assert _WriteWatch.of(loop) is _WriteWatch.of(loop)


class _Stalled:
    """A channel whose writes never finish until it is aborted (a peer that reads nothing)."""

    close_code = None

    def __init__(self) -> None:
        self.stalled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.aborted = False

    async def send_text(self, text: str) -> None:
        await self.stalled

    async def receive(self) -> str | None:
        await asyncio.Event().wait()
        return None

    async def close(self, code: int = 1000, reason: str = "") -> None:
        return None

    def abort(self) -> None:
        self.aborted = True
        if not self.stalled.done():
            self.stalled.set_exception(ConnectionResetError("aborted"))


async def test_a_stalled_step_before_the_session_is_cut_off_by_the_watch() -> None:
    async with asyncio.timeout(10):
        channel = _Stalled()
        driver = Driver(FakeEngine(), channel)
        with pytest.raises(ConnectionResetError):
            await driver.bounded(channel.send_text("101"), 0.05)
        assert channel.aborted


async def test_a_peer_that_reads_nothing_is_dropped_with_the_reason() -> None:
    async with asyncio.timeout(10):
        channel = _Stalled()
        engine = FakeEngine()
        await Driver(engine, channel, write_timeout=0.05).run()  # the greeting never leaves
        assert channel.aborted and engine.closed
        assert "write timeout" in (engine.close_reason or "")


async def test_an_idle_session_holds_one_task_and_no_timer() -> None:
    async with asyncio.timeout(10):
        near, far = memory_pair()
        cem = Session(CEM, ack_timeout=timedelta(milliseconds=20))
        rm = Session(RM, ack_timeout=timedelta(milliseconds=20))
        cem_connection = Connection(side="server", url="memory://")
        rm_connection = Connection(side="client", url="memory://")
        selected = asyncio.Event()

        def on_rm(event: object) -> None:
            if isinstance(event, HandshakeCompleted):  # the RM describes itself, the CEM picks FRBC
                rm.send(rm_details(), utc_now())
                rm_connection.wakeup()
            elif isinstance(event, ControlTypeSelected):
                selected.set()

        def on_cem(event: object) -> None:
            # select FRBC once the RM has described itself (and only once: nothing of ours awaits an answer)
            described = isinstance(event, MessageReceived) and cem.peer_details is not None
            if described and not cem._ledger and cem.active_control_type is None:
                cem.send(SelectControlType(message_id=new_id(), control_type=FRBC), utc_now())
                cem_connection.wakeup()

        before = len(asyncio.all_tasks())
        cem_driver = Driver(cem, near, on_cem, connection=cem_connection)
        rm_driver = Driver(rm, far, on_rm, connection=rm_connection)
        tasks = [asyncio.create_task(cem_driver.run()), asyncio.create_task(rm_driver.run())]
        await selected.wait()
        # the acknowledgement timers run out (nothing is due then) and are not armed again
        while cem_driver._timer is not None or rm_driver._timer is not None:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0)
        assert len(asyncio.all_tasks()) == before + 2  # each session is its run task alone
        assert cem_driver._service is None and rm_driver._service is None
        cem_connection.close(1000, "done")
        await asyncio.gather(*tasks)
        assert rm.closed and cem.closed
