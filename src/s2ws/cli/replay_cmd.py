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
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any, BinaryIO

import msgspec

from ..errors import ProfileError
from ..messages.profiles import PROFILES, get_profile
from ..transcripts import rotated_set

__all__ = ["register", "run"]


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
    parser.add_argument("path", metavar="FILE", help="the transcript, or - for standard input")
    parser.add_argument("--profile", default="0.0.2-beta", help=f"protocol version ({', '.join(PROFILES)})")
    parser.add_argument("--json", action="store_true", help="print findings as JSON Lines")
    parser.add_argument("--strict", action="store_true", help="warnings fail too")
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
    from ..rules.replay import TranscriptError, iter_replay  # late: only this command needs it

    try:
        profile = get_profile(args.profile).version
    except ProfileError as exc:
        print(f"s2ws replay: {exc}", file=sys.stderr)
        return 2
    parts = _Parts(["-"] if args.path == "-" else rotated_set(args.path))
    shown = {"-": "<stdin>"}
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
