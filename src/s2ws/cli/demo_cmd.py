"""``s2ws demo``: the whole thing on loopback, in one process, with the conversation shown live.

A reference CEM listens on 127.0.0.1 (a free port); a simulated home battery (FRBC) and a PV
inverter (PEBC) connect to it. The CEM selects their control types, charges the battery and keeps
it between 10 % and 90 %, and curtails the inverter. Physics run ``--speed`` times faster than the
clock (the simulated sun starts at 11:00 UTC), so things happen within a minute. Ctrl-C (or
``--duration``) has the devices end their sessions with SessionRequest TERMINATE (so the CEM's
``--record`` transcript holds every answer and replays clean), then stops the CEM and exits 0.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from .record_options import add_rotation_arguments

if TYPE_CHECKING:
    from ..app.cem import RMHandle
    from ..app.planner import PlannerCEM

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "demo",
        help="run a CEM and simulated RMs on loopback",
        description=(
            "A CEM, a battery RM (FRBC) and a PV RM (PEBC) on 127.0.0.1 in one process, with a live view "
            "of their conversation. Ctrl-C ends it cleanly (exit 0)."
        ),
    )
    parser.add_argument("--duration", type=float, metavar="S", help="stop after S seconds (default: until Ctrl-C)")
    parser.add_argument(
        "--speed", type=float, default=120.0, metavar="N", help="physics run N times faster (default 120)"
    )
    parser.add_argument(
        "--interval", type=float, default=2.0, metavar="S", help="seconds between measurements (default 2)"
    )
    parser.add_argument("--record", metavar="FILE", help="append the CEM's transcript to FILE (for s2ws replay)")
    add_rotation_arguments(parser)
    parser.add_argument("--quiet", action="store_true", help="no live view, only the summary")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv: debug)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from ..app.console import configure_logging

    for name in ("duration", "speed", "interval"):
        value = getattr(args, name)
        if value is not None and not value > 0:
            print(f"s2ws demo: --{name} must be positive, got {value:g}", file=sys.stderr)
            return 2
    configure_logging(args.verbose)
    try:
        return asyncio.run(_demo(args))
    except KeyboardInterrupt:
        return 0


async def _demo(args: argparse.Namespace) -> int:
    import asyncio
    from datetime import UTC, datetime

    from ..app.console import Stopper, observers_for, say, ticking
    from ..app.live_log import LiveLog
    from ..app.planner import PlannerCEM
    from ..app.simulated import SimulatedBattery, SimulatedPV

    view = None if args.quiet else LiveLog()
    try:
        observers = observers_for(view, args.record, max_bytes=args.record_max_bytes, keep=args.record_keep)
    except OSError as exc:
        print(f"s2ws demo: cannot write {args.record}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    cem = PlannerCEM(observers=observers)
    stopper = Stopper()
    stopper.install()
    server = await cem.serve("127.0.0.1", 0)
    url = server.url()
    say(f"s2ws demo: CEM listening on {url}; a battery (FRBC) and a PV inverter (PEBC) connect to it.")
    say(f"s2ws demo: physics run {args.speed:g}x faster than the clock; Ctrl-C ends the demo.")
    sun = datetime.now(UTC).replace(hour=11, minute=0, second=0, microsecond=0)
    devices = [
        SimulatedBattery(speed=args.speed, interval=args.interval),
        SimulatedPV(speed=args.speed, interval=args.interval, sun_start=sun),
    ]
    running = [asyncio.ensure_future(device.run(url, reconnect=None)) for device in devices]
    code = 0
    summary: list[str] = []
    async with ticking([view] if view else []):
        reason = await stopper.wait(args.duration, *running)
        summary = [_describe(rm) for rm in cem.rms.values()]
        say(f"s2ws demo: {reason}: the devices end their {len(cem.rms)} session(s) with TERMINATE")
        # the devices leave first, so the CEM's transcript also holds its answers to their TERMINATE
        await asyncio.gather(*(device.close(f"demo ending ({reason})") for device in devices))
        await _sessions_ended(cem)
        await cem.close(f"demo ending ({reason})")
        done, pending = await asyncio.wait(running, timeout=10.0)
        for task in pending:
            task.cancel()
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                print(f"s2ws demo: an RM failed: {task.exception()}", file=sys.stderr)
                code = 1
    for line in summary:
        say(f"s2ws demo: {line}")
    say("s2ws demo: done")
    return code


async def _sessions_ended(cem: PlannerCEM) -> None:
    """Wait (bounded) until the CEM has seen every session end."""
    import asyncio

    handles = list(cem.rms.values())
    if handles:
        await asyncio.wait([asyncio.ensure_future(rm.wait_closed()) for rm in handles], timeout=5.0)


def _describe(rm: RMHandle) -> str:
    """One summary line per RM: what it is, what is active, how its instructions went."""
    from ..messages.frbc import FRBCStorageStatus

    active = rm.active_control_type.value if rm.active_control_type is not None else "no control type"
    parts = [f"{rm.name}: {active}"]
    storage = rm.last(FRBCStorageStatus)
    if storage is not None:
        parts.append(f"fill level {storage.present_fill_level:.1f}")
    statuses = [record.status.value if record.status else "no status" for record in rm.instructions.values()]
    parts.append(f"{len(statuses)} instruction(s)" + (f": {', '.join(statuses)}" if statuses else ""))
    return ", ".join(parts)
