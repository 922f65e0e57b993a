"""A device maker's tests with the s2ws pytest plugin (shown verbatim in docs/conformance.md)."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from s2ws.app import DeviceRM
from s2ws.conformance import Case
from s2ws.conformance.harness import FrameLog, Stop, run_against_rm
from s2ws.conformance.plugin import CEMUnderTest
from s2ws.transport import ReconnectPolicy


# 1. Fixtures: an in-process test CEM, and simulated RMs of any control type.
async def test_my_rm_describes_itself(s2_cem: CEMUnderTest) -> None:
    rm = DeviceRM("battery")  # your own ResourceManager here
    task = asyncio.ensure_future(rm.run(s2_cem.url, reconnect=None))
    try:
        details = await s2_cem.log.wait_for("ResourceManagerDetails")
        assert "FILL_RATE_BASED_CONTROL" in details["available_control_types"]
        await s2_cem.log.wait_for("FRBC.SystemDescription")  # the CEM selected FRBC
    finally:
        await rm.close()
        await asyncio.gather(task, return_exceptions=True)


async def test_my_cem_hears_a_generator(s2_cem: CEMUnderTest, s2_rm: Callable[[str, str], Awaitable[FrameLog]]) -> None:
    log = await s2_rm("generator", s2_cem.url)  # an OMBC device; s2_cem stands in for your CEM's URL
    selection = await log.wait_for("SelectControlType")
    assert selection["control_type"] == "OPERATION_MODE_BASED_CONTROL"


# 2. The conformance catalogue as parametrized tests against your own RM factory.
async def start_my_rm(url: str) -> Stop:
    rm = DeviceRM("battery", interval=timedelta(seconds=5))  # your own ResourceManager here
    task = asyncio.ensure_future(rm.run(url, reconnect=ReconnectPolicy(initial=0.05, stop_on_terminate=False)))

    async def stop() -> None:
        await rm.close()
        await asyncio.gather(task, return_exceptions=True)

    return stop


# (this battery has no timers and reaches every mode from every other: the timer and transition
# cases have nothing to ask of it, so they are left out rather than reported as skipped)
@pytest.mark.s2_conformance(
    "rm", only=["handshake", "errors", "frbc"], skip=["timers", "transitions"], profile="0.0.2-beta"
)
async def test_my_rm_conforms(s2_conformance_case: Case) -> None:
    result = await run_against_rm(s2_conformance_case, start_my_rm)
    if result.verdict == "skip":
        pytest.skip(result.reason)
    assert result.verdict == "pass", (result.reason, result.findings)
