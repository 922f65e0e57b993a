"""``s2ws proxy --listen HOST:PORT --upstream URL``: sit between an RM and a CEM, judge, never repair.

Every frame is forwarded unchanged both ways (including frames s2ws would refuse), judged with the
rule context of the side that receives it, printed as a one-line finding when it breaks a rule,
shown live in the web UI (``--ui``) and appended to ``--record``. Close codes and reasons pass
through. ``--fault-*`` flags inject delays, drops, duplicates and corrupted fields (seeded) to test
how peers cope. Runs until SIGINT/SIGTERM; exit 0 stopped, 1 cannot listen, 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .ui_opts import add_ui_options, start_ui, ui_address

__all__ = ["register", "run"]


def _probability(value: str) -> float:
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError(f"a probability between 0 and 1, got {value}")
    return number


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "proxy",
        help="forward a session between an RM and a CEM, judging every frame",
        description=(
            "An RM connects here, the proxy connects to --upstream (the CEM) and forwards every frame unchanged, "
            "judging each with the rule catalogue. Exit 0 stopped, 1 cannot listen, 2 usage error."
        ),
    )
    parser.add_argument("--listen", required=True, metavar="HOST:PORT", help="where RMs connect (port 0 picks one)")
    parser.add_argument("--upstream", required=True, metavar="URL", help="the CEM's ws:// or wss:// URL")
    parser.add_argument("--path", default="/", help="URL path RMs connect to (default /)")
    parser.add_argument("--record", metavar="FILE", help="append every forwarded frame to this JSON Lines transcript")
    parser.add_argument("--profile", default="0.0.2-beta", help="protocol version the rules judge by")
    parser.add_argument("--fault-delay", type=float, default=0.0, metavar="S", help="delay every frame S seconds")
    parser.add_argument("--fault-drop", type=_probability, default=0.0, metavar="P", help="drop a frame with chance P")
    parser.add_argument(
        "--fault-duplicate", type=_probability, default=0.0, metavar="P", help="send a frame twice with chance P"
    )
    parser.add_argument(
        "--fault-corrupt", type=_probability, default=0.0, metavar="P", help="corrupt one field with chance P"
    )
    parser.add_argument("--fault-seed", type=int, default=0, metavar="N", help="seed of the fault generator")
    parser.add_argument("--quiet", action="store_true", help="do not print findings")
    add_ui_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from ..app.console import configure_logging, parse_listen

    try:
        listen = parse_listen(args.listen)
        ui = ui_address(args)
    except ValueError as exc:
        print(f"s2ws proxy: {exc}", file=sys.stderr)
        return 2
    if not args.upstream.startswith(("ws://", "wss://")):
        print(f"s2ws proxy: --upstream must be a ws:// or wss:// URL, got {args.upstream!r}", file=sys.stderr)
        return 2
    if args.fault_delay < 0:
        print("s2ws proxy: --fault-delay must not be negative", file=sys.stderr)
        return 2
    configure_logging(0)
    try:
        return asyncio.run(_proxy(args, listen, ui))
    except KeyboardInterrupt:
        return 0


async def _proxy(args: argparse.Namespace, listen: tuple[str, int], ui: tuple[str, int] | None) -> int:
    from ..app.console import Stopper, say
    from ..app.observe import Frame, Observer
    from ..app.proxy import Faults, Proxy
    from ..app.recorder import Recorder
    from ..web import Monitor
    from ..web.monitor import LIVE_WINDOW

    monitor = Monitor(profile=args.profile, source="proxy", window=LIVE_WINDOW)

    class Findings(Observer):
        """One line per finding as frames pass; at a session's end, what nobody answered and a summary."""

        def _print(self, entry: dict[str, Any], items: list[dict[str, Any]]) -> None:
            for item in items:
                say(
                    f"s2ws proxy: {entry['session']} {entry['dir']} {entry['type'] or '?'}: "
                    f"{item['severity']} {item['rule']} at {item['pointer'] or '/'}: {item['reason']}"
                )

        def frame(self, frame: Frame) -> None:
            entry = monitor.messages[-1] if monitor.messages else None
            if entry is None or entry["text"] is not frame.text:
                return
            if not args.quiet:
                self._print(entry, entry["findings"])

        def session_ended(self, session: str, reason: str) -> None:
            rows = [m for m in monitor.messages if m["session"] == session]
            if not args.quiet:
                for entry in rows:  # findings added at the end (S2-RS-004) come last in each row
                    late = [f for f in entry["findings"] if f.get("late")]
                    self._print(entry, late)
            state = monitor.sessions.get(session)
            errors, warnings = (state.errors, state.warnings) if state else (0, 0)
            say(f"s2ws proxy: {session} closed: {reason}; {errors} error(s), {warnings} warning(s)")

    observers: list[Observer] = [monitor, Findings()]
    if args.record:
        try:
            observers.append(Recorder(args.record))
            monitor.recording = args.record
        except OSError as exc:
            print(f"s2ws proxy: cannot write {args.record}: {exc.strerror or exc}", file=sys.stderr)
            return 2
    faults = Faults(args.fault_delay, args.fault_drop, args.fault_duplicate, args.fault_corrupt, args.fault_seed)
    proxy = Proxy(args.upstream, observers=observers, faults=faults)
    stopper = Stopper()
    stopper.install()
    server = None
    try:
        port = await proxy.start(listen[0], listen[1], args.path)
        if ui is not None:
            server = await start_ui(monitor, ui, args.ui_token)
    except OSError as exc:
        print(f"s2ws proxy: cannot listen: {exc.strerror or exc}", file=sys.stderr)
        stopper.uninstall()
        await proxy.close()
        return 1
    host = f"[{listen[0]}]" if ":" in listen[0] else listen[0]
    if server is not None:
        say(f"s2ws proxy: UI on {server.url}")
    say(f"s2ws proxy: listening on ws://{host}:{port}{args.path} -> {args.upstream} (Ctrl-C to stop)")
    if faults.any:
        say(f"s2ws proxy: fault injection on: {faults}")
    reason = await stopper.wait()
    say(f"s2ws proxy: {reason}: stopping")
    if server is not None:
        await server.close()
    await proxy.close()
    say(f"s2ws proxy: stopped after {proxy.sessions} session(s)")
    return 0
