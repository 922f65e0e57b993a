"""What a CEM keeps in its history when sessions end: nothing the RM reported and the CEM answered
OK is lost, whatever crossed what on the wire.

The RM is a bare session engine the test plays by hand over an in-memory pair, so the order in
which frames cross is chosen by the test, not by the scheduler.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from pathlib import Path

import pytest

from app_support import DEADLINE
from builders import T0, frbc_instruction_om1, frbc_system_description, rm_details, status_update
from s2ws.app import CEM, RMHandle
from s2ws.app.handle import SessionHandle
from s2ws.app.history import HistoryFeed
from s2ws.messages import ControlType, EnergyManagementRole, FRBCSystemDescription, InstructionStatus
from s2ws.session import InstructionStatusChanged, Session
from s2ws.store import History
from s2ws.transport import MemoryChannel, memory_pair

FRBC = ControlType.FILL_RATE_BASED_CONTROL
S = InstructionStatus


def clock() -> datetime:
    return T0


class HandPlayedRM:
    """An RM engine on the far end of a memory pair: the test decides when each frame moves."""

    def __init__(self, channel: MemoryChannel) -> None:
        self.channel = channel
        self.engine = Session(EnergyManagementRole.RM)

    async def write(self) -> None:
        for text in self.engine.data_to_send():
            await self.channel.send_text(text)

    async def read(self, *, take: bool = True) -> tuple[str, dict[str, object]]:
        """The CEM's next frame; with ``take`` the engine answers it (the answer is not written yet)."""
        text = await self.channel.receive()
        assert isinstance(text, str), "the CEM closed the channel"
        if take:
            self.engine.receive(text, T0)
        message: dict[str, object] = json.loads(text)
        return text, message

    async def read_until(self, message_type: str) -> dict[str, object]:
        while True:
            _, message = await self.read()
            await self.write()
            if message["message_type"] == message_type:
                return message


async def _connected(cem: CEM, rm: HandPlayedRM) -> RMHandle:
    """Handshake, details, FRBC selected and described: the CEM may instruct the RM."""
    rm.engine.start(T0)
    await rm.write()
    await rm.read_until("HandshakeResponse")
    rm.engine.send(rm_details((FRBC,)), T0)
    await rm.write()
    await rm.read_until("SelectControlType")
    rm.engine.send(frbc_system_description(), T0)
    await rm.write()
    handle = await cem.next_rm()
    await handle.wait_until(lambda: handle.last(FRBCSystemDescription) is not None)
    return handle


async def test_a_status_that_crossed_the_cems_terminate_reaches_the_history(tmp_path: Path) -> None:
    history = History(tmp_path / "h.db")
    cem = CEM(clock=clock)
    feed = HistoryFeed(history, clock).attach(cem)
    near, far = memory_pair(("cem", "rm"))
    rm = HandPlayedRM(far)
    try:
        async with asyncio.timeout(DEADLINE):
            served = asyncio.create_task(cem.run_channel(near))
            handle = await _connected(cem, rm)
            instruction = frbc_instruction_om1()
            await handle.send(instruction)
            feed.instruction_sent(handle, instruction)
            await rm.read_until("FRBC.Instruction")
            # the CEM stops while the RM reports the end of the instruction: the two frames cross
            closing = asyncio.create_task(handle.close("CEM stopping"))
            text, request = await rm.read(take=False)  # the TERMINATE, on its way to the RM
            assert request["message_type"] == "SessionRequest"
            update = status_update(instruction.id, S.SUCCEEDED)
            rm.engine.send(update, T0)  # sent before the RM could see the TERMINATE
            await rm.write()
            rm.engine.receive(text, T0)  # now it sees it, and answers it
            await rm.write()
            _, answer = await rm.read()
            assert answer["message_type"] == "ReceptionStatus" and answer["status"] == "OK", answer
            assert answer["subject_message_id"] == update.message_id  # the CEM took the status
            await closing
            await served
            await cem.close()
        await asyncio.to_thread(history.flush)
        (row,) = history.instructions()
        assert row.id == instruction.id and row.status == "SUCCEEDED" and row.finished
        assert [change.status for change in row.timeline] == ["SUCCEEDED"]
        assert feed.known == {instruction.id: "SUCCEEDED"}
    finally:
        history.close()


async def test_a_failing_listener_or_handle_neither_ends_the_session_nor_loses_the_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Bad luck in our own code (a listener, the handle's bookkeeping) on an RM's status: the RM
    gets its OK, the history still gets the status, the session goes on, one log line per kind."""

    original = CEM._on_session_event

    def broken_bookkeeping(self: CEM, handle: SessionHandle, event: object) -> None:
        original(self, handle, event)
        if isinstance(event, InstructionStatusChanged):
            raise ArithmeticError("bookkeeping failed")

    def broken_listener(handle: object, event: object) -> None:
        raise LookupError("listener failed")

    monkeypatch.setattr(CEM, "_on_session_event", broken_bookkeeping)
    history = History(tmp_path / "h.db")
    cem = CEM(clock=clock)
    cem.add_listener(broken_listener)
    feed = HistoryFeed(history, clock).attach(cem)
    near, far = memory_pair(("cem", "rm"))
    rm = HandPlayedRM(far)
    try:
        with caplog.at_level(logging.ERROR, logger="s2ws"):
            async with asyncio.timeout(DEADLINE):
                served = asyncio.create_task(cem.run_channel(near))
                handle = await _connected(cem, rm)
                instruction = frbc_instruction_om1()
                await handle.send(instruction)
                feed.instruction_sent(handle, instruction)
                await rm.read_until("FRBC.Instruction")
                for status in (S.ACCEPTED, S.SUCCEEDED):
                    update = status_update(instruction.id, status)
                    rm.engine.send(update, T0)
                    await rm.write()
                    _, answer = await rm.read()
                    assert (answer["subject_message_id"], answer["status"]) == (update.message_id, "OK")
                assert not handle.closed
                closing = asyncio.create_task(handle.close("done"))
                await rm.read_until("SessionRequest")  # answered
                await closing
                await served
                await cem.close()
        await asyncio.to_thread(history.flush)
        (row,) = history.instructions()
        assert row.status == "SUCCEEDED" and [c.status for c in row.timeline] == ["ACCEPTED", "SUCCEEDED"]
        failures = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
        assert len([m for m in failures if "InstructionStatusChanged ArithmeticError" in m]) == 1
        assert len([m for m in failures if "MessageReceived LookupError" in m]) == 1
    finally:
        history.close()
