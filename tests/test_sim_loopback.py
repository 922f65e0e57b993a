"""Every simulator of ``s2ws.sim.DEVICES`` as a DeviceRM against the planning CEM of ``s2ws cem``,
over real loopback WebSockets, for a simulated day in about six seconds of wall time (all seven at
once, on one shared simulated clock). Both sides record; ``s2ws replay`` finds nothing in either
transcript, not even a warning, and every device was instructed and carried it out.

The simulated day starts when every RM has its control type, not when the processes start: on a
loaded machine the set-up alone took longer than the washer's ten-hour window lasts at this speed,
so the washer was never instructed and the test waited for it in vain.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from s2ws.app import PlannerCEM, Recorder, RMHandle
from s2ws.app.clock import SimClock
from s2ws.app.device_rm import DeviceRM
from s2ws.app.planners import STEP
from s2ws.cli import main
from s2ws.messages import ControlType, InstructionStatus
from s2ws.sim import DEVICES

DAY = datetime(2026, 3, 20, tzinfo=UTC)
SPEED = 14_400.0
"""A simulated day in six seconds: the washer's ten-hour window then lasts 2.5 s of wall time, which a
loaded machine's session set-up does not use up (at 43 200x it did, and the washer was never instructed)."""
DEADLINE = 120.0
"""Only against a hang: every wait below is for a state (set-up, then the day and its instructions)."""
EXPECTED = {
    "battery": ControlType.FILL_RATE_BASED_CONTROL,
    "ev": ControlType.FILL_RATE_BASED_CONTROL,
    "heatpump": ControlType.FILL_RATE_BASED_CONTROL,
    "pv": ControlType.POWER_ENVELOPE_BASED_CONTROL,
    "washer": ControlType.POWER_PROFILE_BASED_CONTROL,
    "hybrid-heatpump": ControlType.DEMAND_DRIVEN_BASED_CONTROL,
    "generator": ControlType.OPERATION_MODE_BASED_CONTROL,
}


def messages(text: str) -> list[tuple[str, str, dict[str, object]]]:
    out = []
    for line in text.splitlines():
        record = json.loads(line)
        out.append((str(record["session"]), str(record["dir"]), json.loads(record["text"])))
    return out


class HeldClock(SimClock):
    """A :class:`SimClock` that stays at ``start`` until :meth:`go`, then runs at ``speed``."""

    def __init__(self, speed: float, start: datetime) -> None:
        super().__init__(speed, origin=datetime.now(UTC), start=start)
        self._since: float | None = None

    def go(self) -> None:
        self._since = time.monotonic()

    def __call__(self) -> datetime:
        if self._since is None:
            return self.start
        return self.start + timedelta(seconds=(time.monotonic() - self._since) * self.speed)


def _set_up(cem: PlannerCEM, count: int) -> bool:
    return len(cem.rms) == count and all(rm.active_control_type is not None for rm in cem.rms.values())


def _carried_out(handle: RMHandle) -> bool:
    return any(record.status is InstructionStatus.SUCCEEDED for record in handle.instructions.values())


async def test_every_simulator_lives_a_day_against_the_cem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert set(EXPECTED) == set(DEVICES)
    clock = HeldClock(SPEED, DAY)
    cem_log = io.StringIO()
    cem = PlannerCEM(clock=clock, planner="rules", step=STEP, observers=[Recorder(stream=cem_log)])
    rm_logs = {name: io.StringIO() for name in DEVICES}
    rms = {
        name: DeviceRM(name, clock=clock, interval=STEP, observers=[Recorder(stream=rm_logs[name])]) for name in DEVICES
    }
    async with asyncio.timeout(DEADLINE):
        server = await cem.serve("127.0.0.1", 0)
        running = [asyncio.ensure_future(rm.run(server.url(), reconnect=None)) for rm in rms.values()]
        try:
            while not _set_up(cem, len(rms)):
                await asyncio.sleep(0.05)
            clock.go()
            # a simulated day, and at least until every device has carried out an instruction: on a
            # loaded machine wall-clock hiccups are hours of simulated time, so wait for the state
            end_of_day = DAY + timedelta(days=1)
            while clock() < end_of_day or not (len(cem.rms) == len(rms) and all(map(_carried_out, cem.rms.values()))):
                await asyncio.sleep(0.05)
            assert {rm.name: rm.active_control_type for rm in cem.rms.values()} == {
                rms[name].sim.details().name: control_type for name, control_type in EXPECTED.items()
            }
            await asyncio.gather(*(rm.close("the day is over") for rm in rms.values()))
            await asyncio.gather(*running)
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            await cem.close()
    for name, rm in rms.items():
        assert rm.refused == [], name

    # what the CEM recorded: every device instructed, every instruction carried out
    by_session: dict[str, Counter[str]] = {}
    for session, _, message in messages(cem_log.getvalue()):
        if message["message_type"] == "InstructionStatusUpdate":
            by_session.setdefault(session, Counter())[str(message["status_type"])] += 1
        if message["message_type"] == "ReceptionStatus":
            assert message["status"] == "OK", message
    assert len(by_session) == len(DEVICES)
    for counts in by_session.values():
        assert counts["ACCEPTED"] > 0 and counts["ACCEPTED"] == counts["SUCCEEDED"], counts

    # s2ws replay on the CEM's transcript: exit 0 with --strict, not one finding
    cem_path = tmp_path / "cem.jsonl"
    cem_path.write_text(cem_log.getvalue())
    capsys.readouterr()
    assert main(["replay", "--strict", str(cem_path)]) == 0
    out = capsys.readouterr()
    assert out.out == "" and "0 error(s), 0 warning(s)" in out.err, out.out + out.err
    # each RM's own transcript too: its TERMINATE waited for its answer, and for the answers to
    # the statuses still in flight, before the socket closed
    for name, log in rm_logs.items():
        path = tmp_path / f"{name}.jsonl"
        path.write_text(log.getvalue())
        assert main(["replay", "--strict", str(path)]) == 0, (name, capsys.readouterr())
        out = capsys.readouterr()
        assert out.out == "" and "0 error(s), 0 warning(s)" in out.err, (name, out.out + out.err)
        sent = [m["message_type"] for _, d, m in messages(log.getvalue()) if d == "rm>cem"]
        assert [t for t in sent if t != "ReceptionStatus"][-1] == "SessionRequest", name
