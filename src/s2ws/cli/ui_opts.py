"""The ``--ui HOST:PORT`` and ``--ui-token`` options shared by cem, demo, proxy and replay."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..app.clock import Clock
    from ..app.observe import Observer
    from ..app.planner import PlannerCEM
    from ..store import History
    from ..web import UI, Monitor

__all__ = ["add_ui_options", "cem_monitor", "show_plan", "start_ui", "ui_address"]


def add_ui_options(parser: argparse.ArgumentParser, *, default: str | None = None) -> None:
    what = f"default {default}" if default else "off unless given"
    parser.add_argument(
        "--ui", metavar="HOST:PORT", default=default, help=f"serve the read-only web UI here (port 0 picks one; {what})"
    )
    if default:
        parser.add_argument("--no-ui", dest="ui", action="store_const", const=None, help="do not serve the web UI")
    parser.add_argument(
        "--ui-token",
        metavar="TOKEN",
        default=os.environ.get("S2WS_UI_TOKEN"),
        help="require this token to open the UI (default: $S2WS_UI_TOKEN; open URL#token=TOKEN)",
    )


def ui_address(args: argparse.Namespace) -> tuple[str, int] | None:
    """The parsed ``--ui`` (None when off); ValueError names what is wrong."""
    from ..app.console import parse_listen

    value: Any = getattr(args, "ui", None)
    return parse_listen(value) if value else None


async def start_ui(monitor: Monitor, address: tuple[str, int], token: str | None, *, mode: str = "live") -> UI:
    from ..web import serve_ui

    return await serve_ui(monitor, address[0], address[1], token=token, mode=mode)


def cem_monitor(
    args: argparse.Namespace, clock: Clock, history: History | None, observers: list[Observer]
) -> Monitor | None:
    """With ``--ui``, the monitor that feeds the UI of a reference CEM, added to its observers."""
    if args.ui_at is None:
        return None
    from ..web import Monitor

    monitor = Monitor(source="cem", clock=clock)
    monitor.history = history
    # a session's full transcript is then read from the recording (observers_for opened it)
    monitor.recording = getattr(args, "record", None)
    observers.append(monitor)
    return monitor


def show_plan(monitor: Monitor | None, cem: PlannerCEM, line: str) -> None:
    """Hand a new plan (its summary line and its series) to the UI, when there is one."""
    if monitor is None:
        return
    monitor.extra["plan"] = line
    if cem.last_plan is not None:
        from ..web.plan_view import plan_series

        names = {rm.details.resource_id: rm.name for rm in cem.rms.values() if rm.details is not None}
        monitor.extra["planned"] = plan_series(cem.last_plan, cem.site, names)
