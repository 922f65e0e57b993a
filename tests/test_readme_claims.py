"""What the README says the commands and the reference CEM do, each pinned by a test.

These pin the behaviour as the README describes it today, through public entry points (the CLI,
``s2ws.app``), so that when the reference CEM's planning changes the README and this module change
together. The code blocks themselves run in test_readme_examples.py.
"""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path
from typing import Any, Final

import pytest
from hypothesis import given
from hypothesis import strategies as st

import s2ws
from app_support import interrupt, listening_url, s2ws_command, wait_line
from interop_support import REPO, read_transcript
from s2ws.app import CEM, ResourceManager, RMHandle
from s2ws.app.cem import DEFAULT_PREFERENCE
from s2ws.sim import DEVICES
from s2ws.transport import memory_pair

README: Final = (REPO / "README.md").read_text(encoding="utf-8")
DEADLINE: Final = 40.0
CT = s2ws.ControlType
SHORT: Final = {
    "FRBC": CT.FILL_RATE_BASED_CONTROL,
    "OMBC": CT.OPERATION_MODE_BASED_CONTROL,
    "DDBC": CT.DEMAND_DRIVEN_BASED_CONTROL,
    "PPBC": CT.POWER_PROFILE_BASED_CONTROL,
    "PEBC": CT.POWER_ENVELOPE_BASED_CONTROL,
    "NOT_CONTROLABLE": CT.NOT_CONTROLABLE,
}
OFFERABLE: Final = [ct for ct in CT if ct is not CT.NO_SELECTION]
"""What an RM may offer (NO_SELECTION is only ever selected, to leave control)."""


def readme_preference() -> list[s2ws.ControlType]:
    """The order the README states: "(FRBC > OMBC > DDBC > PPBC > PEBC > NOT_CONTROLABLE)"."""
    match = re.search(r"\(((?:[A-Z_]+\s+>\s+)+[A-Z_]+)\)", README)
    assert match is not None, "the README no longer states the control-type preference"
    return [SHORT[name.strip()] for name in match.group(1).split(">")]


def test_the_readme_states_the_preference_the_cem_uses() -> None:
    assert readme_preference() == list(DEFAULT_PREFERENCE)
    assert sorted(DEFAULT_PREFERENCE) == sorted(OFFERABLE)  # every control type has its place


def details(offered: list[s2ws.ControlType]) -> s2ws.ResourceManagerDetails:
    L1 = s2ws.CommodityQuantity.ELECTRIC_POWER_L1
    return s2ws.ResourceManagerDetails(
        message_id=s2ws.new_id(),
        resource_id=s2ws.new_id(),
        name="Offers several",
        roles=[s2ws.Role(role=s2ws.RoleType.ENERGY_CONSUMER, commodity=s2ws.Commodity.ELECTRICITY)],
        instruction_processing_delay=100,
        available_control_types=offered,
        provides_forecast=False,
        provides_power_measurement_types=[L1],
    )


@given(st.lists(st.sampled_from(OFFERABLE), min_size=1, unique=True))
def test_the_richest_offered_control_type_is_chosen(offered: list[s2ws.ControlType]) -> None:
    chosen = CEM().choose_control_type(None, details(offered))  # type: ignore[arg-type]
    assert chosen == next(ct for ct in readme_preference() if ct in offered)


@pytest.mark.parametrize("richest", range(5))
async def test_an_rm_offering_several_types_is_put_under_the_richest(richest: int) -> None:
    """Over a session: the RM offers the preference's tail from ``richest`` on, in reverse order."""
    order = readme_preference()
    offered = list(reversed(order[richest:-1]))  # never NOT_CONTROLABLE beside a controlling type
    cem, rm = CEM(), ResourceManager(details=details(offered))
    near, far = memory_pair(("cem", "rm"))
    tasks = [asyncio.create_task(cem.run_channel(near)), asyncio.create_task(rm.run_channel(far))]
    try:
        async with asyncio.timeout(DEADLINE):
            handle: RMHandle = await cem.next_rm()
            await handle.wait_until(lambda: handle.active_control_type is not None)
            assert handle.active_control_type is order[richest]
    finally:
        async with asyncio.timeout(DEADLINE):
            await rm.close()
            await cem.close()
            await asyncio.gather(*tasks, return_exceptions=True)


def _messages(path: Path) -> list[tuple[str, dict[str, Any]]]:
    return [(frame.dir, frame.message) for frame in read_transcript(path) if frame.message is not None]


def _fill_rate(mode: dict[str, Any], factor: float) -> float:
    (element,) = mode["elements"]
    low, high = element["fill_rate"]["start_of_range"], element["fill_rate"]["end_of_range"]
    return float(low + factor * (high - low))


async def test_sigterm_ends_every_cem_session_with_terminate_and_exits_0(tmp_path: Path) -> None:
    """README, "Run a CEM": Ctrl-C or SIGTERM ends every session with SessionRequest TERMINATE and exits 0."""
    cem_log = tmp_path / "cem.jsonl"
    async with (
        asyncio.timeout(DEADLINE),
        s2ws_command("cem", "--listen", "127.0.0.1:0", "--record", str(cem_log)) as cem,
    ):
        url = await listening_url(cem)
        async with s2ws_command("rm", "simulate", "battery", "--connect", url, "--once") as battery:
            await wait_line(cem, lambda line: "SelectControlType" in line)
            cem_result = await interrupt(cem, sig=signal.SIGTERM)
            battery_result = await battery.finish(DEADLINE)  # --once: the CEM's TERMINATE ends it
    assert cem_result.returncode == 0, cem_result.describe()
    assert "s2ws cem: SIGTERM: closing 1 session(s)" in cem_result.stdout_lines
    assert cem_result.stdout_lines[-1] == "s2ws cem: stopped"
    assert battery_result.returncode == 0, battery_result.describe()
    assert any("the peer sent SessionRequest TERMINATE" in line for line in battery_result.stdout_lines)
    requests = [(d, m["request"]) for d, m in _messages(cem_log) if m["message_type"] == "SessionRequest"]
    assert requests == [("cem>rm", "TERMINATE")]


def test_the_readme_lists_every_simulator() -> None:
    section = README[README.index("## Simulate a device") : README.index("## See it all at once")]
    for name in DEVICES:
        assert f"- `{name}`:" in section, f"the README does not describe the {name} simulator"
    listed = re.findall(r"^- `([\w-]+)`:", section, re.MULTILINE)
    assert listed == list(DEVICES)
