"""SIGINT with many sessions open: ``s2ws cem`` sends SessionRequest TERMINATE to every RM and exits 0,
bounded; what an RM sends while the TERMINATE crosses it is answered, never flagged.

The 5,000-session figure is measured by ``python -m bench.shutdown`` and recorded in docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import contextlib

from app_support import interrupt, listening_url, s2ws_command
from builders import power_measurement, rm_details
from s2ws.app.rm import ResourceManager
from s2ws.errors import SessionClosedError
from s2ws.messages.enums import ControlType, ReceptionStatusValues
from s2ws.session.events import ReceptionStatusReceived, RejectedIncoming
from s2ws.transport import ReconnectPolicy

SESSIONS = 200


class _Meter(ResourceManager):
    """Sends a measurement every 50 ms, so that some cross the CEM's TERMINATE."""

    def __init__(self) -> None:
        super().__init__(details=rm_details((ControlType.NOT_CONTROLABLE,)))
        self.reasons: list[str] = []
        self.flagged: list[object] = []
        self.answered = 0

    async def on_connect(self) -> None:
        self.every(0.05, self._measure)

    async def _measure(self) -> None:
        with contextlib.suppress(SessionClosedError):  # our own side stops sending once closing
            await self.send(power_measurement(), wait=False)

    async def on_event(self, event: object) -> None:
        if isinstance(event, ReceptionStatusReceived):
            if event.status.status is ReceptionStatusValues.OK:
                self.answered += 1
            else:
                self.flagged.append(event.status)
        elif isinstance(event, RejectedIncoming):
            self.flagged.append(event)

    async def on_disconnect(self, reason: str) -> None:
        self.reasons.append(reason)


async def test_sigint_terminates_every_session_and_exits() -> None:
    async with asyncio.timeout(150):
        async with s2ws_command(
            "cem", "--listen", "127.0.0.1:0", "--quiet", "--heartbeat", "0", "--rate-limit", "0"
        ) as cem:
            url = await listening_url(cem)
            rms = [_Meter() for _ in range(SESSIONS)]
            runs = [asyncio.ensure_future(rm.run(url, reconnect=ReconnectPolicy(max_attempts=3))) for rm in rms]
            try:
                for rm in rms:
                    async with asyncio.timeout(60):
                        await rm.wait_connected()
                result = await interrupt(cem, timeout=60)
                async with asyncio.timeout(30):
                    await asyncio.gather(*runs)  # TERMINATE from the CEM: no reconnect
            finally:
                for run in runs:
                    run.cancel()
                await asyncio.gather(*runs, return_exceptions=True)
    assert result.returncode == 0, result.describe()
    assert result.stdout_lines[-1] == "s2ws cem: stopped"
    assert f"closing {SESSIONS} session(s)" in "\n".join(result.stdout_lines)
    for rm in rms:
        assert rm.session is not None and rm.session.engine.terminated
        assert len(rm.reasons) == 1 and "CEM stopping" in rm.reasons[0], rm.reasons
        assert rm.flagged == []
    assert sum(rm.answered for rm in rms) >= SESSIONS  # measurements went both ways, all answered OK
