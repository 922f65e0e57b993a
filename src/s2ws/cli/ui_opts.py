"""The ``--ui HOST:PORT`` and ``--ui-token`` options shared by cem, demo, proxy and replay."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..web import UI, Monitor

__all__ = ["add_ui_options", "start_ui", "ui_address"]


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
