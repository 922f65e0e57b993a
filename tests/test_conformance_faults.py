"""Seeded faults: each deliberately broken RM fails a named case; the same proxy, faithful, fails none."""

from __future__ import annotations

import pytest

from conformance_faults import (
    AcceptsEverything,
    AnswersLate,
    ClosesOnUnknownType,
    Fault,
    IgnoresBlockingTimer,
    IgnoresRevocation,
    NoReceptionStatus,
    SucceededBeforeStarted,
    broken_rm,
    timer_ignoring_cem,
)
from s2ws.conformance import CATALOGUE, select_cases
from s2ws.conformance.harness import run_against_cem, run_against_rm

FAULTS = [
    (NoReceptionStatus, "S2-TEST-003", "no ReceptionStatus"),
    (AcceptsEverything, "S2-TEST-024", "answered OK"),
    (SucceededBeforeStarted, "S2-TEST-030", "came after the terminal SUCCEEDED"),
    (IgnoresRevocation, "S2-TEST-031", "terminal status"),
    (ClosesOnUnknownType, "S2-TEST-021", "closed the connection"),
    (AnswersLate, "S2-TEST-025", "took"),
]


@pytest.mark.parametrize(("fault", "case_id", "reason"), FAULTS, ids=[f[0].__name__ for f in FAULTS])
async def test_a_seeded_fault_fails_its_case(fault: type[Fault], case_id: str, reason: str) -> None:
    result = await run_against_rm(CATALOGUE[case_id], broken_rm(fault()), timeout=8.0)
    assert result.verdict == "fail", (result.verdict, result.reason)
    assert reason in result.reason + " ".join(result.findings)


async def test_the_faithful_proxy_fails_no_case() -> None:
    start = broken_rm(Fault())
    for case in select_cases("rm"):
        result = await run_against_rm(case, start, timeout=8.0, allowance=3.0)
        assert result.verdict in ("pass", "skip"), (case.id, result.reason, result.findings)


async def test_an_rm_that_switches_despite_a_blocking_timer_fails_the_timer_case() -> None:
    result = await run_against_rm(CATALOGUE["S2-TEST-041"], broken_rm(IgnoresBlockingTimer(), "heatpump"), timeout=8.0)
    assert result.verdict == "fail", (result.verdict, result.reason)
    assert "expected it REJECTED" in result.reason


async def test_the_faithful_proxy_passes_the_timer_and_transition_cases() -> None:
    """The same proxy, faithful, in front of the simulators whose descriptions have timers and gaps."""
    for device, case_id in (("heatpump", "S2-TEST-041"), ("generator", "S2-TEST-043"), ("generator", "S2-TEST-044")):
        result = await run_against_rm(CATALOGUE[case_id], broken_rm(Fault(), device), timeout=8.0, allowance=3.0)
        assert result.verdict == "pass", (device, case_id, result.reason, result.findings)


async def test_a_cem_that_switches_despite_a_running_timer_fails_the_timer_case() -> None:
    result = await run_against_cem(CATALOGUE["S2-TEST-116"], timer_ignoring_cem, timeout=8.0)
    assert result.verdict == "fail", (result.verdict, result.reason)
    assert "while timer" in result.reason
    assert any("S2-OMBC-015" in finding for finding in result.findings), result.findings
