"""``s2ws rm simulate battery|pv --connect URL``: a simulated Resource Manager.

``battery`` is a 10 kWh / 5 kW home battery under FRBC, ``pv`` a 4 kWp inverter under PEBC. Each
publishes its details, its description when selected, and periodic measurements, and carries out
instructions with their statuses. It reconnects with back-off until stopped. Exit 0 when stopped
(SIGINT/SIGTERM, --duration, or the CEM's TERMINATE), 1 when it could not connect (refused token or
certificate, or --once and no connection), 2 on usage errors.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register", "run"]

DEVICES = ("battery", "pv")


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "rm", help="run a Resource Manager", description="Resource Managers for testing CEMs."
    )
    actions = parser.add_subparsers(dest="rm_command", required=True, metavar="ACTION")
    simulate = actions.add_parser(
        "simulate",
        help="a simulated device (battery: FRBC, pv: PEBC)",
        description=(
            "Connect a simulated device to a CEM and show the conversation live. Exit 0 stopped "
            "(signal, --duration, CEM's TERMINATE), 1 could not connect, 2 usage error."
        ),
    )
    simulate.add_argument("device", choices=DEVICES, help="battery (FRBC) or pv (PEBC)")
    simulate.add_argument("--connect", required=True, metavar="URL", help="the CEM's ws:// or wss:// URL")
    simulate.add_argument("--record", metavar="FILE", help="append every frame to this JSON Lines transcript")
    simulate.add_argument("--token", help="bearer token for the WebSocket upgrade")
    simulate.add_argument("--ca-file", metavar="FILE", help="trust only this CA for wss:// (S2 Connect pinned root)")
    simulate.add_argument(
        "--speed", type=float, default=1.0, metavar="N", help="run the physics N times faster (default 1)"
    )
    simulate.add_argument(
        "--interval", type=float, default=5.0, metavar="S", help="seconds between measurements (default 5)"
    )
    simulate.add_argument("--duration", type=float, metavar="S", help="end the session (TERMINATE) after S seconds")
    simulate.add_argument("--once", action="store_true", help="do not reconnect: one session (or attempt) only")
    simulate.add_argument("--quiet", action="store_true", help="no live view of the conversation")
    simulate.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv: debug)")
    simulate.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from ..app.console import configure_logging

    for name in ("speed", "interval", "duration"):
        value = getattr(args, name)
        if value is not None and not value > 0:
            print(f"s2ws rm simulate: --{name} must be positive, got {value:g}", file=sys.stderr)
            return 2
    configure_logging(args.verbose)
    try:
        return asyncio.run(_simulate(args))
    except KeyboardInterrupt:
        return 0


async def _simulate(args: argparse.Namespace) -> int:
    import asyncio

    from ..app.console import Stopper, observers_for, say, ticking
    from ..app.rm import ResourceManager
    from ..app.simulated import SimulatedBattery, SimulatedPV
    from ..app.view import View
    from ..errors import ConnectError, TransportConfigError
    from ..transport.backoff import ReconnectPolicy

    view = None if args.quiet else View()
    try:
        observers = observers_for(view, args.record)
    except OSError as exc:
        print(f"s2ws rm simulate: cannot write {args.record}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    options: dict[str, Any] = {"speed": args.speed, "interval": args.interval, "observers": observers}
    rm: ResourceManager = SimulatedBattery(**options) if args.device == "battery" else SimulatedPV(**options)
    reconnect = None if args.once else ReconnectPolicy(initial=1.0, max=30.0)
    stopper = Stopper()
    stopper.install()
    running = asyncio.ensure_future(rm.run(args.connect, token=args.token, ca_file=args.ca_file, reconnect=reconnect))
    say(f"s2ws rm simulate {args.device}: connecting to {args.connect} (Ctrl-C to stop)")
    code = 0
    async with ticking([view] if view else []):
        reason = await stopper.wait(args.duration, running)
        if reason != "finished":
            say(f"s2ws rm simulate {args.device}: {reason}: ending the session")
            await rm.close(f"RM stopping ({reason})")
        try:
            await running
        except ConnectError as exc:
            print(f"s2ws rm simulate: {exc}", file=sys.stderr)
            code = 1
        except TransportConfigError as exc:
            print(f"s2ws rm simulate: {exc}", file=sys.stderr)
            code = 2
    say(f"s2ws rm simulate {args.device}: stopped")
    return code
