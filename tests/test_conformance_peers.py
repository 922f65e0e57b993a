"""s2ws's own peers pass the catalogue: every simulator as an RM, the reference CEM, on loopback."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from s2ws.app import DeviceRM, PlannerCEM
from s2ws.conformance import CaseContext, Dialer, Listener, run_cases, select_cases
from s2ws.sim import DEVICES
from s2ws.transport import ReconnectPolicy


@pytest.mark.parametrize("device", sorted(DEVICES))
async def test_every_simulator_passes_every_rm_case(device: str) -> None:
    """The way ``s2ws test rm --listen`` runs: one listener, the RM reconnecting for each case."""
    async with Listener() as listener:
        rm = DeviceRM(device, interval=timedelta(seconds=5))
        policy = ReconnectPolicy(initial=0.05, max=0.5, stop_on_terminate=False, stop_on_refusal=False)
        task = asyncio.ensure_future(rm.run(listener.url, reconnect=policy))
        try:
            results = await run_cases(
                select_cases("rm"), listener, CaseContext("0.0.2-beta", allowance=3.0), timeout=8.0
            )
        finally:
            await rm.close("test over")
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    failed = [(r.case.id, r.reason, r.findings) for r in results if not r.passed]
    assert not failed
    passed = {r.case.id for r in results if r.verdict == "pass"}
    assert {"S2-TEST-001", "S2-TEST-003", "S2-TEST-021", "S2-TEST-025", "S2-TEST-002"} <= passed
    assert len(passed) >= 16  # the control-type cases of the other control types do not apply
    assert next(r for r in results if r.case.id == "S2-TEST-006").verdict == "skip"  # a 1.0.0 case


async def test_the_reference_cem_passes_every_cem_case() -> None:
    cem = PlannerCEM()
    server = await cem.serve("127.0.0.1", 0)
    try:
        async with Dialer(server.url("/")) as dialer:
            results = await run_cases(
                select_cases("cem"), dialer, CaseContext("0.0.2-beta", allowance=3.0), timeout=8.0
            )
    finally:
        await cem.close("test over")
    assert [(r.case.id, r.reason, r.findings) for r in results if r.verdict != "pass"] == []
