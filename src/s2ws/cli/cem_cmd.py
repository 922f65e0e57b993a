"""``s2ws cem --listen HOST:PORT``: the reference CEM server.

Accepts any number of RMs, selects a control type from each RM's offer (FRBC > OMBC > DDBC > PPBC >
PEBC > NOT_CONTROLABLE), and plans the whole site on a rolling horizon (:mod:`s2ws.app.planner`):
one optimisation over every device, its prices, limits and forecasts, replanned on every new
description, status, forecast or constraints message, on deviation and every step; the near-term
instructions go out through each RM's view. ``--site FILE`` is the TOML site file (grid limits,
prices, objective, horizon); without it a built-in example home and a dynamic-tariff day are used.
``--planner rules`` uses the fixed per-control-type rules of :mod:`s2ws.app.planners` instead.
``--db FILE`` keeps the history in SQLite (sessions, devices, measurements, plans, instructions with
every status); restarted with the same file, the CEM knows how every instruction ended and never
sends an instruction id twice. ``--speed N`` runs the CEM on a simulated clock N times faster than
the wall clock, for simulators started with the same ``--speed`` (``s2ws rm simulate DEVICE --speed
N``); see :mod:`s2ws.app.clock`. Runs until SIGINT/SIGTERM, then ends every session with
SessionRequest TERMINATE and exits 0. Exit 1 when it cannot listen, 2 on usage errors (a bad site
file or database included).
The bearer token comes from ``--token-file`` (mode 0600 or stricter) or ``$S2WS_TOKEN``; ``--token`` still
works but shows the token in ``ps``. ``--heartbeat``, ``--rate-limit``, ``--max-connections``,
``--handshake-timeout`` and ``--write-timeout`` set the limits of :class:`s2ws.transport.ServerOptions`.
Shutdown is bounded: every session gets its TERMINATE at once and waits at most ``close_grace`` for
its answer.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .record_options import add_rotation_arguments
from .ui_opts import add_ui_options, cem_monitor, show_plan, start_ui, ui_address

__all__ = ["add_server_limits", "register", "run", "server_options"]


def _seconds(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds >= 0, got {text!r}")
    return value


def add_server_limits(parser: argparse.ArgumentParser) -> None:
    """The flags for the limits of a server facing a network (defaults: ServerOptions')."""
    parser.add_argument(
        "--heartbeat",
        type=_seconds,
        default=50.0,
        metavar="S",
        help="ping every S seconds (at least 50), close a peer silent S/2 longer; 0 disables (default 50)",
    )
    parser.add_argument(
        "--rate-limit",
        type=_seconds,
        default=100.0,
        metavar="N",
        help="read at most N messages/s per session (times --speed), the rest wait; 0 disables (default 100)",
    )
    parser.add_argument(
        "--max-connections", type=int, metavar="N", help="open sockets at most (default: open-file limit minus 64)"
    )
    parser.add_argument(
        "--handshake-timeout", type=_seconds, default=10.0, metavar="S", help="time to the upgrade (default 10)"
    )
    parser.add_argument(
        "--write-timeout",
        type=_seconds,
        default=30.0,
        metavar="S",
        help="close a peer that reads nothing for S seconds while frames wait; 0 disables (default 30)",
    )


def server_options(args: argparse.Namespace, *, speed: float = 1.0) -> dict[str, Any]:
    """ServerOptions keywords from the flags of :func:`add_server_limits`."""
    rate = args.rate_limit * speed if args.rate_limit else None
    return {
        "heartbeat": args.heartbeat or None,
        "rate_limit": rate,
        "rate_burst": max(1, int(2 * rate)) if rate else 1,
        "max_connections": args.max_connections,
        "handshake_timeout": args.handshake_timeout,
        "write_timeout": args.write_timeout or None,
    }


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "cem",
        help="run the reference CEM server",
        description=(
            "Serve S2 Resource Managers over WebSockets: select a control type, plan, and show the "
            "conversation live. Ctrl-C (or SIGTERM) ends every session with TERMINATE. Exit 0 stopped, "
            "1 cannot listen, 2 usage error."
        ),
    )
    parser.add_argument("--listen", required=True, metavar="HOST:PORT", help="where to listen (port 0 picks one)")
    parser.add_argument("--record", metavar="FILE", help="append every frame to this JSON Lines transcript")
    add_rotation_arguments(parser)
    parser.add_argument("--token", help="require this bearer token (visible in ps: prefer --token-file or $S2WS_TOKEN)")
    parser.add_argument("--token-file", metavar="FILE", help="read the bearer token from FILE (mode 0600 or stricter)")
    add_server_limits(parser)
    parser.add_argument("--tls-cert", metavar="FILE", help="PEM certificate chain: serve wss://")
    parser.add_argument("--tls-key", metavar="FILE", help="PEM private key of --tls-cert (if not in that file)")
    parser.add_argument("--path", default="/", help="URL path of the WebSocket endpoint (default /)")
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="N",
        help="simulated time runs N times faster than the clock (default 1); the RMs must use the same speed",
    )
    parser.add_argument(
        "--origin",
        metavar="ISO",
        help="wall time where simulated and wall time meet (default: the start of this UTC hour); same on both sides",
    )
    parser.add_argument(
        "--start",
        metavar="ISO",
        help="simulated time at --origin (default: --origin itself), to run a chosen hour of a chosen day",
    )
    parser.add_argument(
        "--planner",
        choices=("optimizer", "rules", "day"),
        default="optimizer",
        help=(
            "optimise the whole site on a rolling horizon (optimizer, default) or fixed rules per device "
            "(rules; 'day' is its former name)"
        ),
    )
    parser.add_argument(
        "--site", metavar="FILE", help="TOML site file: grid limits, prices, objective, plan horizon and step"
    )
    parser.add_argument("--db", metavar="FILE", help="keep the history in this SQLite file (created if missing)")
    parser.add_argument(
        "--retention",
        type=float,
        default=30.0,
        metavar="DAYS",
        help="days of measurements, plans and finished instructions --db keeps (default 30)",
    )
    parser.add_argument("--quiet", action="store_true", help="no live view of the conversation")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv: debug)")
    add_ui_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from ..app.console import configure_logging, parse_listen, parse_origin

    try:
        host, port = parse_listen(args.listen)
    except ValueError as exc:
        print(f"s2ws cem: --listen: {exc}", file=sys.stderr)
        return 2
    try:
        args.ui_at = ui_address(args)
    except ValueError as exc:
        print(f"s2ws cem: --ui: {exc}", file=sys.stderr)
        return 2
    if not args.speed > 0:
        print(f"s2ws cem: --speed must be positive, got {args.speed:g}", file=sys.stderr)
        return 2
    try:
        args.origin = parse_origin(args.origin)
    except ValueError as exc:
        print(f"s2ws cem: --origin: {exc}", file=sys.stderr)
        return 2
    try:
        args.start = parse_origin(args.start)
    except ValueError as exc:
        print(f"s2ws cem: --start: {exc}", file=sys.stderr)
        return 2
    if args.planner == "day":
        args.planner = "rules"
    if not args.retention > 0:
        print(f"s2ws cem: --retention must be positive, got {args.retention:g}", file=sys.stderr)
        return 2
    if args.site and args.planner != "optimizer":
        print("s2ws cem: --site is for --planner optimizer", file=sys.stderr)
        return 2
    if args.tls_key and not args.tls_cert:
        print("s2ws cem: --tls-key needs --tls-cert", file=sys.stderr)
        return 2
    from ..errors import TransportConfigError
    from ..transport.auth import token_from
    from ..transport.options import ServerOptions

    try:
        if args.token is None:
            args.token = token_from(file=args.token_file)
        elif args.token_file is not None:
            raise TransportConfigError("give --token or --token-file, not both")
        args.options = ServerOptions(token=args.token, path=args.path, **server_options(args, speed=args.speed))
    except TransportConfigError as exc:
        print(f"s2ws cem: {exc}", file=sys.stderr)
        return 2
    configure_logging(args.verbose)
    try:
        return asyncio.run(_serve(args, host, port))
    except KeyboardInterrupt:  # platforms without signal handlers in the loop
        return 0


async def _serve(args: argparse.Namespace, host: str, port: int) -> int:
    import asyncio
    from datetime import timedelta

    from ..app.clock import SimClock
    from ..app.console import Stopper, observers_for, say, ticking
    from ..app.live_log import LiveLog
    from ..app.planner import PlannerCEM
    from ..errors import StoreError, TransportConfigError
    from ..store import History
    from ..transport.tls import server_ssl_context

    try:
        tls = server_ssl_context(args.tls_cert, args.tls_key) if args.tls_cert else None
    except TransportConfigError as exc:
        print(f"s2ws cem: {exc}", file=sys.stderr)
        return 2
    site = None
    if args.site:
        from ..errors import SiteFileError
        from ..plan import load_site

        try:
            site = load_site(args.site)
        except SiteFileError as exc:
            print(f"s2ws cem: {exc}", file=sys.stderr)
            return 2
    history = None
    if args.db:
        try:
            history = await asyncio.to_thread(History, args.db, retention=timedelta(days=args.retention))
        except StoreError as exc:
            print(f"s2ws cem: {exc}", file=sys.stderr)
            return 2
    clock = SimClock(args.speed, origin=args.origin, start=args.start)
    view = None if args.quiet else LiveLog(clock=clock, hold=args.speed)
    try:
        observers = observers_for(view, args.record, max_bytes=args.record_max_bytes, keep=args.record_keep)
    except OSError as exc:
        print(f"s2ws cem: cannot write {args.record}: {exc.strerror or exc}", file=sys.stderr)
        if history is not None:
            history.close()
        return 2
    monitor = cem_monitor(args, clock, history, observers)

    def on_plan(line: str) -> None:
        show_plan(monitor, cem, line)
        if not args.quiet:
            say(f"s2ws cem: {line}")

    cem = PlannerCEM(
        planner=args.planner,
        site=site,
        history=history,
        observers=observers,
        clock=clock,
        on_plan=on_plan if monitor is not None or not args.quiet else None,
    )
    if cem.history is not None:
        known, unfinished = len(cem.history.known), len(cem.history.unfinished)
        say(f"s2ws cem: history in {args.db}: {known} instruction(s) known, {unfinished} unfinished from before")
    stopper = Stopper()
    stopper.install()
    try:
        server = await cem.serve(host, port, args.options, ssl=tls)
    except OSError as exc:
        print(f"s2ws cem: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        stopper.uninstall()
        if history is not None:
            history.close()
        return 1
    ui = None
    if monitor is not None:
        try:
            ui = await start_ui(monitor, args.ui_at, args.ui_token)
        except OSError as exc:
            print(f"s2ws cem: cannot serve the UI: {exc.strerror or exc}", file=sys.stderr)
        else:
            say(f"s2ws cem: UI on {ui.url}")
    say(f"s2ws cem: listening on {server.url(args.path)} (Ctrl-C to stop)")
    async with ticking([view] if view else []):
        reason = await stopper.wait()
        count = len(cem.rms)
        say(f"s2ws cem: {reason}: closing {count} session(s)")
        await cem.close(f"CEM stopping ({reason})")
    if ui is not None:
        await ui.close()
    if history is not None:
        await asyncio.to_thread(history.close)
    say("s2ws cem: stopped")
    return 0
