"""``s2ws replay FILE``: judge a recorded two-sided conversation.

Reads a JSON Lines transcript and prints one line per finding: rule breaches, messages
nobody answered, answers to nothing, and answers other than the one s2ws would give. Exit 0
when there is no error (no warning either with --strict), 1 otherwise, 2 for usage or I/O
errors, including a line that is not a transcript record.

The transcript is read as a stream: memory holds the sessions and what they have in flight,
not the file. A transcript rotated by the recorder (``FILE.2``, ``FILE.1``, ``FILE``) is read
as one conversation, oldest part first, and each finding names its part and line. Findings are
printed as they are found; messages nobody answered come last, when the end shows no answer
came.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import sys
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any, BinaryIO

import msgspec

from ..errors import ProfileError
from ..messages.profiles import PROFILES, get_profile
from ..transcripts import rotated_set

__all__ = ["register", "run"]

UI_DEFAULT = "127.0.0.1:0"


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "replay",
        help="judge a recorded conversation (JSON Lines transcript)",
        description=(
            "Replay a transcript (one JSON object per line: t, dir, session, text) through the rule "
            "catalogue; FILE.1, FILE.2, ... rotated by --record-max-bytes are read first, oldest first. "
            "Exit 0 clean, 1 findings, 2 usage/IO error."
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


@dataclass
class _Parts:
    """The files of one transcript read as one stream of lines; maps a line of the stream back."""

    names: list[str]
    starts: list[int] = field(default_factory=list)
    """The stream line at which each opened part begins (1-based)."""
    lines: int = 0
    frames: int = 0

    def read(self) -> Iterator[bytes]:
        for name in self.names:
            self.starts.append(self.lines + 1)
            with _open(name) as fh:
                for line in fh:
                    self.lines += 1
                    if line.strip():
                        self.frames += 1
                    yield line

    def locate(self, line: int) -> tuple[str, int]:
        index = bisect.bisect_right(self.starts, line) - 1
        return self.names[index], line - self.starts[index] + 1


def _open(name: str) -> contextlib.AbstractContextManager[BinaryIO]:
    return contextlib.nullcontext(sys.stdin.buffer) if name == "-" else open(name, "rb")


def run(args: argparse.Namespace) -> int:
    from ..app.console import parse_listen
    from ..rules.replay import TranscriptError, iter_replay  # late: only this command needs it

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
    parts = _Parts(["-"] if args.path == "-" else rotated_set(args.path))
    shown = {"-": "<stdin>"}
    if ui is not None:
        try:
            return _serve(parts.read(), profile, ui, args.ui_token)
        except OSError as exc:
            print(f"s2ws replay: cannot read {exc.filename or args.path}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        except TranscriptError as exc:
            name, line = parts.locate(exc.line)
            print(f"s2ws replay: {shown.get(name, name)}:{line}: {exc.reason}", file=sys.stderr)
            return 2
    errors = warnings = 0
    try:
        for item in iter_replay(parts.read(), profile):
            name, line = parts.locate(item.line)
            name, item = shown.get(name, name), replace(item, line=line)
            print(msgspec.json.encode({"file": name, **asdict(item)}).decode() if args.json else item.text(name))
            errors += item.severity == "error"
            warnings += item.severity != "error"
    except OSError as exc:
        print(f"s2ws replay: cannot read {exc.filename or args.path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except TranscriptError as exc:
        name, line = parts.locate(exc.line)
        print(f"s2ws replay: {shown.get(name, name)}:{line}: {exc.reason}", file=sys.stderr)
        return 2
    if not args.json:
        files = f" from {len(parts.names)} files" if len(parts.names) > 1 else ""
        print(f"{parts.frames} frame(s) replayed{files}, {errors} error(s), {warnings} warning(s)", file=sys.stderr)
    return 1 if errors or (args.strict and warnings) else 0


def _serve(lines: Iterable[bytes], profile: str, ui: tuple[str, int], token: str | None) -> int:
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
