"""What the reference CEM keeps between plans stays the same size however many plans pass, and what it
keeps per RM goes with the RM's session."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from functools import partial

from app_support import DEADLINE, cheap_now_dear_later, joined
from s2ws.app import PlannerCEM, RMHandle, SimulatedBattery


def _selected(rm: RMHandle) -> bool:
    return rm.view is not None and rm.active_control_type is not None


async def _idle(cem: PlannerCEM) -> None:
    while cem._task is not None and not cem._task.done():
        await asyncio.shield(cem._task)


async def test_kept_state_stays_flat_across_many_replans() -> None:
    cem = PlannerCEM(site=cheap_now_dear_later(datetime.now(UTC)), step=timedelta(days=1))
    warm: list[int] = []
    async with asyncio.timeout(DEADLINE * 2):
        async with joined(cem, SimulatedBattery(interval=3600), SimulatedBattery(interval=3600)):
            first = await cem.next_rm()
            second = await cem.next_rm()
            for rm in (first, second):
                await rm.wait_until(partial(_selected, rm))
                cem._strayed[rm.id] = datetime.now(UTC)  # as after a deviation replan
            for n in range(30):
                cem.request_plan(f"replan {n}")
                await _idle(cem)
                assert cem._optimizer is not None
                warm.append(len(cem._optimizer._last))
            assert not cem._reasons and not cem._due
            for rm in (first, second):
                assert len(rm.state.get("refused", {})) <= len(rm.instructions)
        await asyncio.wait_for(asyncio.gather(first.wait_closed(), second.wait_closed()), DEADLINE)
    assert not cem._strayed  # forgotten with the sessions (a CEM runs for months of reconnects)
    assert cem.plans >= 30
    # the warm start is the last plan's values (its size follows the horizon), replaced, never accumulated
    assert min(warm) > 0 and max(warm) < 2 * min(warm)
