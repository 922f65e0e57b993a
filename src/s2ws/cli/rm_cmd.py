"""``s2ws rm simulate DEVICE --connect URL``: a simulated Resource Manager.

DEVICE is any simulator of :data:`s2ws.sim.DEVICES`: ``battery`` (FRBC), ``ev`` (FRBC), ``heatpump``
(FRBC), ``pv`` (PEBC), ``washer`` (PPBC), ``hybrid-heatpump`` (DDBC), ``generator`` (OMBC). Each
publishes its details, its descriptions when selected, periodic measurements and statuses, and
carries out instructions with their statuses. It reconnects with back-off until stopped.

``--speed N`` runs the device on a simulated clock N times faster than the wall clock; every
timestamp on the wire is simulated time, so the CEM must run at the same speed (``s2ws cem
--speed N``) and, if it was not started in the same UTC hour, with the same ``--origin`` (and ``--start``,
which pins the simulated time at the origin, e.g. to run a chosen hour of a chosen day). Exit 0 when
stopped (SIGINT/SIGTERM, --duration, or the CEM's TERMINATE), 1 when it could not connect (refused
token or certificate, or --once and no connection), 2 on usage errors.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .record_options import add_rotation_arguments

__all__ = ["register", "run"]

DEVICE_HELP = {
    "battery": "home battery (FRBC)",
    "ev": "EV charger (FRBC)",
    "heatpump": "heat pump with a hot-water tank (FRBC)",
    "pv": "PV inverter (PEBC)",
    "washer": "washing machine (PPBC)",
    "hybrid-heatpump": "hybrid heat pump with a gas boiler (DDBC)",
    "generator": "generator (OMBC)",
}


def register(sub: Any) -> None:
    from ..sim import DEVICES

    parser: argparse.ArgumentParser = sub.add_parser(
        "rm", help="run a Resource Manager", description="Resource Managers for testing CEMs."
    )
    actions = parser.add_subparsers(dest="rm_command", required=True, metavar="ACTION")
    simulate = actions.add_parser(
        "simulate",
        help="a simulated device (" + ", ".join(DEVICES) + ")",
        description=(
            "Connect a simulated device to a CEM and show the conversation live. Exit 0 stopped "
            "(signal, --duration, CEM's TERMINATE), 1 could not connect, 2 usage error. Devices: "
            + "; ".join(f"{name}: {DEVICE_HELP.get(name, name)}" for name in DEVICES)
            + "."
        ),
    )
    simulate.add_argument("device", choices=tuple(DEVICES), metavar="DEVICE", help=", ".join(DEVICES))
    simulate.add_argument("--connect", required=True, metavar="URL", help="the CEM's ws:// or wss:// URL")
    simulate.add_argument("--record", metavar="FILE", help="append every frame to this JSON Lines transcript")
    add_rotation_arguments(simulate)
    simulate.add_argument("--token", help="bearer token for the upgrade (visible in ps: prefer --token-file)")
    simulate.add_argument(
        "--token-file", metavar="FILE", help="read the bearer token from FILE (mode 0600 or stricter)"
    )
    simulate.add_argument(
        "--heartbeat",
        type=float,
        default=50.0,
        metavar="S",
        help="ping every S seconds (at least 50), close a CEM silent S/2 longer; 0 disables (default 50)",
    )
    simulate.add_argument("--ca-file", metavar="FILE", help="trust only this CA for wss:// (S2 Connect pinned root)")
    simulate.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="N",
        help="simulated time runs N times faster than the clock (default 1); run the CEM at the same speed",
    )
    simulate.add_argument(
        "--origin",
        metavar="ISO",
        help="wall time where simulated and wall time meet (default: the start of this UTC hour); same on both sides",
    )
    simulate.add_argument(
        "--start",
        metavar="ISO",
        help="simulated time at --origin (default: --origin itself), to run a chosen hour of a chosen day",
    )
    simulate.add_argument(
        "--interval", type=float, default=5.0, metavar="S", help="simulated seconds between measurements (default 5)"
    )
    simulate.add_argument(
        "--duration", type=float, metavar="S", help="end the session (TERMINATE) after S seconds (wall clock)"
    )
    simulate.add_argument("--once", action="store_true", help="do not reconnect: one session (or attempt) only")
    simulate.add_argument("--quiet", action="store_true", help="no live view of the conversation")
    simulate.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv: debug)")
    simulate.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from ..app.console import configure_logging, parse_origin

    for name in ("speed", "interval", "duration"):
        value = getattr(args, name)
        if value is not None and not value > 0:
            print(f"s2ws rm simulate: --{name} must be positive, got {value:g}", file=sys.stderr)
            return 2
    try:
        args.origin = parse_origin(args.origin)
    except ValueError as exc:
        print(f"s2ws rm simulate: --origin: {exc}", file=sys.stderr)
        return 2
    from ..errors import TransportConfigError
    from ..transport.auth import token_from
    from ..transport.options import check_heartbeat

    try:
        if args.token is None:
            args.token = token_from(file=args.token_file)
        elif args.token_file is not None:
            raise TransportConfigError("give --token or --token-file, not both")
        check_heartbeat(args.heartbeat or None)
    except TransportConfigError as exc:
        print(f"s2ws rm simulate: {exc}", file=sys.stderr)
        return 2
    try:
        args.start = parse_origin(args.start)
    except ValueError as exc:
        print(f"s2ws rm simulate: --start: {exc}", file=sys.stderr)
        return 2
    configure_logging(args.verbose)
    try:
        return asyncio.run(_simulate(args))
    except KeyboardInterrupt:
        return 0


async def _simulate(args: argparse.Namespace) -> int:
    import asyncio
    from datetime import timedelta

    from ..app.clock import SimClock
    from ..app.console import Stopper, observers_for, say, ticking
    from ..app.device_rm import DeviceRM
    from ..app.live_log import LiveLog
    from ..errors import ConnectError, TransportConfigError
    from ..transport.backoff import ReconnectPolicy

    view = None if args.quiet else LiveLog()
    try:
        observers = observers_for(view, args.record, max_bytes=args.record_max_bytes, keep=args.record_keep)
    except OSError as exc:
        print(f"s2ws rm simulate: cannot write {args.record}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    clock = SimClock(args.speed, origin=args.origin, start=args.start)
    rm = DeviceRM(args.device, interval=timedelta(seconds=args.interval), clock=clock, observers=observers)
    reconnect = None if args.once else ReconnectPolicy(initial=1.0, max=30.0)
    stopper = Stopper()
    stopper.install()
    running = asyncio.ensure_future(
        rm.run(
            args.connect, token=args.token, ca_file=args.ca_file, reconnect=reconnect, heartbeat=args.heartbeat or None
        )
    )
    speed = f" at {args.speed:g}x" if args.speed != 1 else ""
    say(f"s2ws rm simulate {args.device}: connecting to {args.connect}{speed} (Ctrl-C to stop)")
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
