"""``s2ws replay FILE``: judge a recorded two-sided conversation.

Reads a JSON Lines transcript and prints one line per finding: rule breaches, messages
nobody answered, answers to nothing, and answers other than the one s2ws would give. Exit 0
when there is no error (no warning either with --strict), 1 otherwise, 2 for usage or I/O
errors, including a line that is not a transcript record.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from typing import Any

import msgspec

from ..errors import ProfileError
from ..messages.profiles import PROFILES, get_profile

__all__ = ["register", "run"]

UI_DEFAULT = "127.0.0.1:0"


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "replay",
        help="judge a recorded conversation (JSON Lines transcript)",
        description=(
            "Replay a transcript (one JSON object per line: t, dir, session, text) through the rule "
            "catalogue. Exit 0 clean, 1 findings, 2 usage/IO error."
        ),
    )
    parser.add_argument("path", metavar="FILE", nargs="?", help="the transcript, or - for standard input")
    parser.add_argument("--profile", default="0.0.2-beta", help=f"protocol version ({', '.join(PROFILES)})")
    parser.add_argument("--json", action="store_true", help="print findings as JSON Lines")
    parser.add_argument("--strict", action="store_true", help="warnings fail too")
    parser.add_argument(
        "--ui",
        nargs="?",
        const=UI_DEFAULT,
        metavar="HOST:PORT",
        help=f"open the transcript in the web UI with a time slider (default {UI_DEFAULT}) until Ctrl-C",
    )
    parser.add_argument("--ui-token", metavar="TOKEN", help="require this token to open the UI")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..app.console import parse_listen
    from ..rules.replay import TranscriptError, replay  # late: only this command needs it

    if args.path is None and args.ui is not None:  # ``s2ws replay --ui FILE``: FILE went to --ui
        args.path, args.ui = args.ui, UI_DEFAULT
    if args.path is None:
        print("s2ws replay: a transcript FILE is required", file=sys.stderr)
        return 2
    try:
        ui = parse_listen(args.ui) if args.ui is not None else None
    except ValueError as exc:
        print(f"s2ws replay: --ui: {exc}", file=sys.stderr)
        return 2

    try:
        profile = get_profile(args.profile).version
    except ProfileError as exc:
        print(f"s2ws replay: {exc}", file=sys.stderr)
        return 2
    try:
        if args.path == "-":
            lines = sys.stdin.buffer.read().splitlines()
        else:
            with open(args.path, "rb") as fh:
                lines = fh.read().splitlines()
    except OSError as exc:
        print(f"s2ws replay: cannot read {args.path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    name = "<stdin>" if args.path == "-" else args.path
    try:
        findings = replay(lines, profile)
    except TranscriptError as exc:
        print(f"s2ws replay: {name}:{exc.line}: {exc.reason}", file=sys.stderr)
        return 2
    if ui is not None:
        return _serve(lines, profile, ui, args.ui_token)
    for item in findings:
        print(msgspec.json.encode(asdict(item)).decode() if args.json else item.text(name))
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = len(findings) - errors
    if not args.json:
        frames = sum(1 for line in lines if line.strip())
        print(f"{frames} frame(s) replayed, {errors} error(s), {warnings} warning(s)", file=sys.stderr)
    return 1 if errors or (args.strict and warnings) else 0


def _serve(lines: list[bytes], profile: str, ui: tuple[str, int], token: str | None) -> int:
    """Feed the transcript to a monitor and serve it until SIGINT/SIGTERM."""
    import asyncio

    from ..app.console import Stopper, say
    from ..rules.replay import parse_transcript
    from ..web import Monitor, serve_ui

    monitor = Monitor(profile=profile, source="replay")
    for record in parse_transcript(lines):
        monitor.add(record.t, record.session, record.direction, record.text)
    for session in list(monitor.sessions):
        monitor.session_ended(session, "end of transcript")

    async def main() -> int:
        stopper = Stopper()
        stopper.install()
        try:
            server = await serve_ui(monitor, ui[0], ui[1], token=token, mode="replay")
        except OSError as exc:
            print(f"s2ws replay: cannot serve the UI: {exc.strerror or exc}", file=sys.stderr)
            stopper.uninstall()
            return 1
        say(f"s2ws replay: UI on {server.url} ({len(monitor.messages)} frame(s); Ctrl-C to stop)")
        await stopper.wait()
        await server.close()
        return 0

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return 0
