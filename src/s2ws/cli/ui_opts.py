"""The ``--ui HOST:PORT`` and ``--ui-token`` options shared by cem, demo, proxy and replay."""

from __future__ import annotations

import argparse
import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..app.clock import Clock
    from ..app.observe import Observer
    from ..app.planner import PlannerCEM
    from ..store import History
    from ..web import UI, Monitor

__all__ = ["add_ui_options", "cem_monitor", "give_back_memory", "show_plan", "start_ui", "ui_address"]


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
    from ..web.monitor import LIVE_WINDOW

    monitor = Monitor(source="cem", clock=clock, window=LIVE_WINDOW)
    monitor.history = history
    # a session's full transcript is then read from the recording (observers_for opened it)
    monitor.recording = getattr(args, "record", None)
    observers.append(monitor)
    return monitor


TRIM_EVERY = 10.0
"""Wall seconds between two returns of freed heap memory to the system (see :func:`give_back_memory`)."""
_trimmed = [0.0]


def give_back_memory(now: float | None = None) -> bool:
    """Return the C heap's free memory to the system (glibc ``malloc_trim``), at most every TRIM_EVERY s.

    Each plan and each view the UI serves builds large short-lived structures (the solver's model,
    the Energy view's JSON); glibc keeps the freed pages, so without this the resident size of a CEM
    with the UI open ratchets up to its largest peak so far. True when it trimmed; a no-op (False)
    where the C library has no ``malloc_trim``."""
    import time

    moment = time.monotonic() if now is None else now
    if moment - _trimmed[0] < TRIM_EVERY:
        return False
    _trimmed[0] = moment
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")  # runs ldconfig: once per process
    try:
        function: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    return function


def show_plan(monitor: Monitor | None, cem: PlannerCEM, line: str) -> None:
    """Hand a new plan (its summary line and its series) to the UI, when there is one."""
    if monitor is None:
        return
    give_back_memory()
    monitor.extra["plan"] = line
    if cem.last_plan is not None:
        from ..web.plan_view import plan_series

        names = {rm.details.resource_id: rm.name for rm in cem.rms.values() if rm.details is not None}
        monitor.extra["planned"] = plan_series(cem.last_plan, cem.site, names)
