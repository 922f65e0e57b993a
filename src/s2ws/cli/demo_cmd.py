"""``s2ws demo``: the whole thing on loopback, in one process, with the conversation shown live.

The reference CEM (the rolling-horizon optimiser on the built-in example home and its
dynamic-tariff day, :func:`s2ws.plan.example_site`) listens on 127.0.0.1 (a free port), and the
seven simulators connect to it: a home battery, an EV charger and a heat pump with a hot-water tank
(FRBC), PV panels (PEBC), a washing machine (PPBC), a hybrid heat pump (DDBC) and a generator
(OMBC). Everything runs on one simulated clock ``--speed`` times faster than the wall clock, from
06:00 UTC of today, so a simulated day passes in minutes; every plan is summarised in the console
(objective, relaxations). Ctrl-C (or ``--duration``) has the devices end their sessions with
SessionRequest TERMINATE (so the CEM's ``--record`` transcript holds every answer and replays
clean), then stops the CEM and exits 0.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from .record_options import add_rotation_arguments
from .ui_opts import add_ui_options, cem_monitor, show_plan, start_ui, ui_address

if TYPE_CHECKING:
    from ..app.cem import RMHandle
    from ..app.planner import PlannerCEM

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "demo",
        help="run the optimising CEM and the seven simulated devices on loopback",
        description=(
            "The reference CEM and the seven simulated devices (battery, EV, heat pump, PV, washer, hybrid heat "
            "pump, generator) on 127.0.0.1 in one process, on a fast simulated clock, with a live view of their "
            "conversation and a summary of every plan. Ctrl-C ends it cleanly (exit 0)."
        ),
    )
    parser.add_argument("--duration", type=float, metavar="S", help="stop after S seconds (default: until Ctrl-C)")
    parser.add_argument(
        "--speed", type=float, default=300.0, metavar="N", help="simulated time runs N times faster (default 300)"
    )
    parser.add_argument(
        "--interval", type=float, default=2.0, metavar="S", help="seconds between measurements (default 2)"
    )
    parser.add_argument(
        "--planner", choices=("optimizer", "rules"), default="optimizer", help="the CEM's planner (default optimizer)"
    )
    parser.add_argument("--db", metavar="FILE", help="keep the CEM's history in this SQLite file")
    parser.add_argument("--record", metavar="FILE", help="append the CEM's transcript to FILE (for s2ws replay)")
    add_rotation_arguments(parser)
    parser.add_argument("--quiet", action="store_true", help="no live view, only the summary")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv: debug)")
    add_ui_options(parser, default="127.0.0.1:0")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from ..app.console import configure_logging

    for name in ("duration", "speed", "interval"):
        value = getattr(args, name)
        if value is not None and not value > 0:
            print(f"s2ws demo: --{name} must be positive, got {value:g}", file=sys.stderr)
            return 2
    try:
        args.ui_at = ui_address(args)
    except ValueError as exc:
        print(f"s2ws demo: --ui: {exc}", file=sys.stderr)
        return 2
    configure_logging(args.verbose)
    try:
        return asyncio.run(_demo(args))
    except KeyboardInterrupt:
        return 0


async def _demo(args: argparse.Namespace) -> int:
    import asyncio
    from datetime import UTC, datetime, timedelta

    from ..app.clock import SimClock
    from ..app.console import Stopper, observers_for, say, ticking
    from ..app.device_rm import DeviceRM
    from ..app.live_log import LiveLog
    from ..app.planner import PlannerCEM
    from ..errors import StoreError
    from ..sim import DEVICES
    from ..store import History

    history = None
    if args.db:
        try:
            history = await asyncio.to_thread(History, args.db)
        except StoreError as exc:
            print(f"s2ws demo: {exc}", file=sys.stderr)
            return 2
    wall = datetime.now(UTC)
    clock = SimClock(args.speed, origin=wall, start=wall.replace(hour=6, minute=0, second=0, microsecond=0))
    # the live view waits a wall second for an answer before printing a line without it
    view = None if args.quiet else LiveLog(clock=clock, hold=args.speed)
    try:
        observers = observers_for(view, args.record, max_bytes=args.record_max_bytes, keep=args.record_keep)
    except OSError as exc:
        print(f"s2ws demo: cannot write {args.record}: {exc.strerror or exc}", file=sys.stderr)
        if history is not None:
            history.close()
        return 2
    monitor = cem_monitor(args, clock, history, observers)

    def on_plan(line: str) -> None:
        show_plan(monitor, cem, line)
        say(f"s2ws demo: {line}")

    cem = PlannerCEM(planner=args.planner, history=history, observers=observers, clock=clock, on_plan=on_plan)
    ui = None
    if monitor is not None:
        try:
            ui = await start_ui(monitor, args.ui_at, args.ui_token)
        except OSError as exc:
            print(f"s2ws demo: cannot serve the UI: {exc.strerror or exc}", file=sys.stderr)
        else:
            say(f"s2ws demo: UI on {ui.url}")
    stopper = Stopper()
    stopper.install()
    server = await cem.serve("127.0.0.1", 0)
    url = server.url()
    say(f"s2ws demo: CEM listening on {url}; {len(DEVICES)} simulated devices connect to it: {', '.join(DEVICES)}.")
    say(f"s2ws demo: simulated time runs {args.speed:g}x faster from {clock():%H:%M} UTC; Ctrl-C ends the demo.")
    interval = timedelta(seconds=args.interval * args.speed)
    devices = [DeviceRM(name, clock=clock, interval=interval) for name in DEVICES]
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
    if ui is not None:
        await ui.close()
    if history is not None:
        await asyncio.to_thread(history.close)
    if cem.last_plan is not None:
        say(f"s2ws demo: {cem.plans} plan(s); the last: objective {cem.last_plan.objective_value:.3f}")
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
