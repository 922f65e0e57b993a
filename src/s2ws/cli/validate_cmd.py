"""``s2ws validate``: check files of S2 messages and say exactly what is wrong.

A file may hold one message, a JSON array of messages, or JSON Lines. Exit 0 when every
message is valid, 1 when any is not, 2 for usage or I/O errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import msgspec

from ..codec import get_codec
from ..errors import ProfileError
from ..messages.base import message_type_of
from ..messages.profiles import PROFILES
from ..schema_problems import SchemaProblem, schema_problems

__all__ = ["Finding", "iter_frames", "register", "run"]


@dataclass(frozen=True)
class Finding:
    """One problem with one message, as printed and as emitted by ``--json``."""

    file: str
    location: str
    message_type: str | None
    message_id: str | None
    status: str
    pointer: str
    reason: str
    rule: str | None = None
    severity: str = "error"

    def line(self) -> str:
        what = self.message_type or "?"
        ident = self.message_id or "-"
        rule = f" {self.rule}" if self.rule else ""
        return (
            f"{self.file}:{self.location}: {what} {ident}: {self.status}{rule} at {self.pointer or '/'}: {self.reason}"
        )


def iter_frames(text: bytes) -> Iterator[tuple[str, bytes]]:
    """Split a file into (location, frame): one document, a JSON array, or JSON Lines."""
    stripped = text.strip()
    if not stripped:
        return
    try:
        doc = msgspec.json.decode(stripped)
    except msgspec.DecodeError:
        doc = msgspec.UNSET
    if isinstance(doc, list):
        for index, item in enumerate(doc):
            yield f"[{index}]", msgspec.json.encode(item)
        return
    if doc is not msgspec.UNSET:
        yield "1", stripped
        return
    lines = text.splitlines()
    first = next(line for line in lines if line.strip())
    try:
        msgspec.json.decode(first)
    except msgspec.DecodeError:
        yield "1", stripped  # one broken document, reported once
        return
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield str(number), line


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "validate",
        help="validate files of S2 messages",
        description=(
            "Validate S2 messages: one per file, a JSON array, or JSON Lines. "
            "Exit 0 valid, 1 invalid, 2 usage/IO error."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a file, or - for standard input")
    parser.add_argument("--profile", default="0.0.2-beta", help=f"protocol version ({', '.join(PROFILES)})")
    parser.add_argument("--json", action="store_true", help="print findings as JSON Lines")
    parser.add_argument("--strict", action="store_true", help="warnings fail too")
    parser.set_defaults(run=run)


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    with open(path, "rb") as fh:
        return fh.read()


def check_frame(file: str, location: str, frame: bytes, profile: str) -> list[Finding]:
    """All findings for one frame: every schema problem, or (once it decodes) every single-message rule."""
    from ..rules.frames import judge_frame  # late: the rule layer is only needed here

    verdict = judge_frame(frame, profile)
    error = verdict.error
    if error is not None:  # the status names the failure; the slow walk lists every problem
        problems = schema_problems(frame, profile)
        if len(problems) < 2:  # one fault: the codec's own wording, unchanged
            problems = [SchemaProblem(error.pointer, error.reason)]
        status = error.status.value
        return [
            Finding(file, location, error.message_type, error.message_id, status, p.pointer, p.reason) for p in problems
        ]
    message = verdict.message
    message_type = message_type_of(type(message)) if message is not None else None
    message_id = getattr(message, "message_id", None)
    return [
        Finding(
            file,
            location,
            message_type,
            message_id,
            "INVALID_CONTENT" if f.severity == "error" else "WARNING",
            f.pointer,
            f.reason,
            f.rule,
            f.severity,
        )
        for f in verdict.findings
    ]


def run(args: argparse.Namespace) -> int:
    try:
        profile = get_codec(args.profile).profile.version
    except ProfileError as exc:
        print(f"s2ws validate: {exc}", file=sys.stderr)
        return 2
    findings: list[Finding] = []
    checked = 0
    for path in args.paths:
        try:
            data = _read(path)
        except OSError as exc:
            print(f"s2ws validate: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        name = "<stdin>" if path == "-" else path
        for location, frame in iter_frames(data):
            checked += 1
            findings.extend(check_frame(name, location, frame, profile))
    for finding in findings:
        print(msgspec.json.encode(asdict(finding)).decode() if args.json else finding.line())
    failing = [f for f in findings if f.severity == "error" or args.strict]
    if not args.json:
        print(f"{checked} message(s) checked, {len(failing)} problem(s)", file=sys.stderr)
    return 1 if failing else 0
