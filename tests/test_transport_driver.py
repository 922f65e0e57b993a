"""The driver over an in-memory pair: frames both ways, events, timers, and a graceful close on every path."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from builders import CEM, RM, frame
from s2ws.errors import ChannelClosed
from s2ws.messages import Handshake
from s2ws.session import HandshakeCompleted, ReceptionStatusReceived, Session, SessionClosed
from s2ws.transport import Connection, Driver, drive, memory_pair
from s2ws.transport.channel import close_reason_bytes
from transport_fakes import FakeEngine

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_frames_flow_both_ways_and_events_are_dispatched() -> None:
    async with asyncio.timeout(5):
        near, far = memory_pair()
        engine = FakeEngine()
        events: list[object] = []

        async def on_event(event: object) -> None:
            events.append(event)

        task = asyncio.create_task(drive(engine, near, on_event))
        assert await far.receive() == "hello"
        await far.send_text("one")
        await far.send_text("two")
        assert await far.receive() == "echo:one"
        assert await far.receive() == "echo:two"
        await far.send_bytes(b"\xff\x00")
        assert await far.receive() == "binary:ff00"
        await far.close()
        await task
        assert engine.received == ["one", "two", b"\xff\x00"]
        assert engine.closed and engine.close_reason == "peer closed"
        assert events == [
            ("started", "engine"),
            ("frame", "one"),
            ("frame", "two"),
            ("frame", b"\xff\x00"),
            ("closed", "peer closed"),
        ]


async def test_sync_event_handler_is_called_too() -> None:
    async with asyncio.timeout(5):
        near, far = memory_pair()
        events: list[object] = []
        task = asyncio.create_task(drive(FakeEngine(), near, events.append))
        assert await far.receive() == "hello"
        await far.close()
        await task
        assert events == [("started", "engine"), ("closed", "peer closed")]


async def test_engine_closing_itself_closes_the_channel_with_its_reason() -> None:
    async with asyncio.timeout(5):
        near, far = memory_pair()
        engine = FakeEngine()
        task = asyncio.create_task(drive(engine, near))
        assert await far.receive() == "hello"
        await far.send_text("terminate")
        assert await far.receive() == "TERMINATE"  # frames queued by close() are still written
        assert await far.receive() is None
        await task
        assert far.close_code == 1000
        assert far.close_reason == "terminating"


async def test_timer_wakeups_call_handle_timeout() -> None:
    async with asyncio.timeout(5):
        near, far = memory_pair()
        engine = FakeEngine(tick_after=timedelta(milliseconds=5))
        task = asyncio.create_task(drive(engine, near))
        assert await far.receive() == "hello"
        for n in (1, 2, 3):
            await far.send_text("tick")
            assert await far.receive() == f"tick:{n}"
        await far.close()
        await task
        assert len(engine.timeouts) == 3


async def test_injected_clock_drives_the_timer() -> None:
    """With a fake clock an hour-long timer fires as soon as the clock says it is due."""
    async with asyncio.timeout(5):
        near, far = memory_pair()
        clock = FakeClock()
        engine = FakeEngine()
        connection = Connection(side="server", url="memory://")
        driver = Driver(engine, near, clock=clock, connection=connection)
        task = asyncio.create_task(driver.run())
        assert await far.receive() == "hello"
        assert engine.started == T0
        engine.arm(T0 + timedelta(hours=1))
        connection.wakeup()  # the driver re-reads next_wakeup: an hour away, nothing happens
        await far.send_text("ping")
        assert await far.receive() == "echo:ping"
        assert engine.timeouts == []
        clock.now = T0 + timedelta(hours=1)
        connection.wakeup()
        assert await far.receive() == "tick:1"
        assert engine.timeouts == [T0 + timedelta(hours=1)]
        await far.close()
        await task


async def test_frames_queued_outside_the_driver_are_written_on_wakeup() -> None:
    async with asyncio.timeout(5):
        near, far = memory_pair()
        engine = FakeEngine()
        driver = Driver(engine, near)
        task = asyncio.create_task(driver.run())
        assert await far.receive() == "hello"
        engine.push("pushed")
        driver.wakeup()
        assert await far.receive() == "pushed"
        await far.close()
        await task


async def test_stop_closes_engine_and_channel_with_the_given_code() -> None:
    async with asyncio.timeout(5):
        near, far = memory_pair()
        engine = FakeEngine()
        driver = Driver(engine, near)
        task = asyncio.create_task(driver.run())
        assert await far.receive() == "hello"
        driver.stop(1001, "going away")
        assert await far.receive() is None
        await task
        await driver.wait_closed()
        assert engine.close_reason == "going away"
        assert far.close_code == 1001


async def test_stop_requested_before_the_driver_runs() -> None:
    async with asyncio.timeout(5):
        near, far = memory_pair()
        engine = FakeEngine()
        connection = Connection(side="client", url="memory://")
        connection.close(1000, "changed my mind")
        await Driver(engine, near, connection=connection).run()
        assert engine.close_reason == "changed my mind"
        assert await far.receive() == "hello"
        assert await far.receive() is None


async def test_cancellation_closes_engine_and_channel() -> None:
    async with asyncio.timeout(5):
        near, far = memory_pair()
        engine = FakeEngine()
        task = asyncio.create_task(drive(engine, near))
        assert await far.receive() == "hello"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert engine.closed and engine.close_reason == "transport cancelled"
        assert await far.receive() is None
        assert far.close_code == 1001


async def test_a_failing_event_handler_is_logged_and_the_session_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    """A bug in the application's event handler is no reason to drop the peer (it used to end the
    session with 1011): the failure is logged, the next frames are served as usual."""
    async with asyncio.timeout(5):
        near, far = memory_pair()
        engine = FakeEngine()
        seen: list[object] = []

        def on_event(event: object) -> None:
            seen.append(event)
            if event == ("frame", "boom"):
                raise RuntimeError("handler bug")

        with caplog.at_level(logging.ERROR, logger="s2ws.transport"):
            task = asyncio.create_task(drive(engine, near, on_event))
            assert await far.receive() == "hello"
            await far.send_text("boom")
            assert await far.receive() == "echo:boom"  # frames are written before events are dispatched
            await far.send_text("again")
            assert await far.receive() == "echo:again"
            assert not engine.closed
            await far.send_text("close")
            await task
            assert await far.receive() is None
        assert ("frame", "again") in seen and engine.closed
        assert far.close_code == 1000
        assert any("event handler failed on tuple: RuntimeError" in r.getMessage() for r in caplog.records)


async def test_peer_gone_while_sending_is_a_peer_close() -> None:
    async with asyncio.timeout(5):
        near, far = memory_pair()
        await far.close()
        engine = FakeEngine()
        await drive(engine, near)  # the greeting cannot be written: no error, just the end
        assert engine.close_reason == "peer closed"


async def test_memory_channel_refuses_writes_after_close() -> None:
    async with asyncio.timeout(5):
        near, far = memory_pair()
        await near.close(1000, "bye")
        with pytest.raises(ChannelClosed):
            await near.send_text("x")
        with pytest.raises(ChannelClosed):
            await far.send_text("x")
        assert await near.receive() is None
        assert await far.receive() is None
        assert far.close_code == 1000 and far.close_reason == "bye"


async def test_stop_after_terminate_waits_for_the_peers_answer() -> None:
    """An application ends the session as the app layer does: TERMINATE, then stop the driver. The
    socket stays open until the RM's ReceptionStatus for the SessionRequest has been read."""
    async with asyncio.timeout(5):
        near, far = memory_pair()
        cem, rm = Session(CEM), Session(RM)
        events: list[object] = []
        ready = asyncio.Event()

        def on_event(event: object) -> None:
            events.append(event)
            if isinstance(event, HandshakeCompleted):
                ready.set()

        connection = Connection(side="server", url="memory://")
        tasks = [
            asyncio.create_task(Driver(cem, near, on_event, connection=connection).run()),
            asyncio.create_task(drive(rm, far)),
        ]
        await ready.wait()
        cem.close("bye", datetime.now(UTC), terminate=True)
        connection.close(1000, "bye")
        await asyncio.gather(*tasks)
        answers = [e for e in events if isinstance(e, ReceptionStatusReceived)]
        assert answers[-1].message is not None and type(answers[-1].message).__name__ == "SessionRequest"
        assert [e for e in events if isinstance(e, SessionClosed)] == [SessionClosed("bye", by_peer=False)]
        assert rm.closed and rm.terminated  # the RM closed the socket right after its answer
        assert far.close_code == 1000


async def test_unanswered_terminate_closes_the_socket_when_the_grace_ends() -> None:
    async with asyncio.timeout(5):
        near, far = memory_pair()
        clock = FakeClock()
        cem = Session(CEM, close_grace=timedelta(seconds=2))
        events: list[object] = []
        connection = Connection(side="server", url="memory://")
        task = asyncio.create_task(Driver(cem, near, events.append, clock=clock, connection=connection).run())
        assert json.loads(await far.receive() or "")["message_type"] == "Handshake"
        cem.close("bye", clock.now, terminate=True)
        connection.close(1000, "bye")
        assert json.loads(await far.receive() or "")["request"] == "TERMINATE"
        # a peer that never answers SessionRequest: the driver still reads, the engine still answers
        # (the RM's Handshake crossed the TERMINATE: acknowledged, not acted on)
        await far.send_text(frame(Handshake(message_id="hs-1", role=RM, supported_protocol_versions=["0.0.2-beta"])))
        answer = json.loads(await far.receive() or "")
        assert answer["subject_message_id"] == "hs-1" and answer["status"] == "OK"  # it crossed the TERMINATE
        assert cem.closing and not cem.closed and not far.closed
        clock.now = T0 + timedelta(seconds=2)
        connection.wakeup()
        assert await far.receive() is None
        await task
        assert [e for e in events if isinstance(e, SessionClosed)] == [SessionClosed("bye", by_peer=False)]
        assert far.close_code == 1000 and far.close_reason == "bye"


def test_close_reason_is_cut_to_fit_a_close_frame() -> None:
    assert close_reason_bytes("ok") == b"ok"
    cut = close_reason_bytes("é" * 100)
    assert len(cut) <= 123
    cut.decode("utf-8")  # never split inside a character


async def test_an_event_handler_that_raises_loses_no_later_event_and_ends_no_session(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The RM's Handshake yields MessageReceived then HandshakeCompleted in one batch: the handler
    raises on every MessageReceived, yet every event arrives, the session stays up, and the
    failure is logged once."""
    async with asyncio.timeout(5):
        near, far = memory_pair()
        cem, rm = Session(CEM), Session(RM)
        events: list[object] = []
        ready = asyncio.Event()

        def on_event(event: object) -> None:
            events.append(event)
            if isinstance(event, HandshakeCompleted):
                ready.set()
            if type(event).__name__ == "MessageReceived":
                raise RuntimeError("a bug in the application")

        connection = Connection(side="server", url="memory://")
        with caplog.at_level(logging.ERROR, logger="s2ws.transport"):
            tasks = [
                asyncio.create_task(Driver(cem, near, on_event, connection=connection).run()),
                asyncio.create_task(drive(rm, far)),
            ]
            await ready.wait()
            assert not cem.closed
            cem.close("bye", datetime.now(UTC), terminate=True)
            connection.close(1000, "bye")
            await asyncio.gather(*tasks)
        kinds = [type(e).__name__ for e in events]
        assert kinds.index("HandshakeCompleted") > kinds.index("MessageReceived")
        assert [e for e in events if isinstance(e, SessionClosed)] == [SessionClosed("bye", by_peer=False)]
        assert far.close_code == 1000
        lines = [r.getMessage() for r in caplog.records if "event handler failed" in r.getMessage()]
        assert lines == ["the event handler failed on MessageReceived: RuntimeError"]
