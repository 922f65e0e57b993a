"""Judge a recorded two-sided conversation: every frame, every answer, every silence.

A transcript is JSON Lines, one frame per line:
``{"t": RFC 3339, "dir": "cem>rm" | "rm>cem", "session": str, "text": raw frame}``. Both
directions of a session go through one :class:`SessionContext`; each message is applied as
it passes and undone when its receiver refuses it, so the context always holds what the
receiver holds. Besides rule findings, replay reports messages nobody answered (S2-RS-004)
and answers that differ from the one s2ws would have given (S2-RS-005).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import msgspec

from ..messages.base import message_type_of
from ..messages.common import ReceptionStatus
from ..messages.enums import ReceptionStatusValues
from ..messages.profiles import PROFILES, normalize_version
from .catalogue import CATALOGUE, Finding, Severity, finding
from .context import SessionContext
from .frames import judge_frame
from .single import check_deep

__all__ = ["Record", "Replay", "ReplayFinding", "TranscriptError", "parse_transcript", "replay"]

RS = ReceptionStatusValues
_OPPOSITE = {"cem>rm": "rm>cem", "rm>cem": "cem>rm"}
_RECEIVERS_OWN = frozenset({RS.TEMPORARY_ERROR, RS.PERMANENT_ERROR})


class TranscriptError(ValueError):
    """A transcript line that is not a frame record: the file is not a transcript."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


class _Line(msgspec.Struct, forbid_unknown_fields=False):
    t: datetime
    dir: Literal["cem>rm", "rm>cem"]
    session: str
    text: str


@dataclass(frozen=True, slots=True)
class Record:
    """One transcript line: when, which way, which session, the raw frame."""

    line: int
    t: datetime
    direction: str
    session: str
    text: str


@dataclass(frozen=True, slots=True)
class ReplayFinding:
    """A rule finding tied to the transcript line it concerns."""

    line: int
    session: str
    direction: str
    message_type: str | None
    message_id: str | None
    rule: str
    severity: Severity
    pointer: str
    reason: str

    @property
    def diagnostic(self) -> str:
        return f"{self.rule} at {self.pointer or '/'}: {self.reason}"

    def text(self, file: str) -> str:
        what = self.message_type or "?"
        ident = self.message_id or "-"
        return f"{file}:{self.line}: {self.session} {self.direction} {what} {ident}: {self.severity} {self.diagnostic}"


def parse_transcript(lines: Iterable[str | bytes]) -> Iterator[Record]:
    """Records of a JSON Lines transcript; blank lines are skipped, anything else malformed raises."""
    decoder = msgspec.json.Decoder(_Line)
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            item = decoder.decode(raw)
        except msgspec.DecodeError as exc:
            raise TranscriptError(number, f"not a transcript record ({exc})") from None
        moment = item.t if item.t.tzinfo is not None else item.t.replace(tzinfo=UTC)
        yield Record(number, moment, item.dir, item.session, item.text)


@dataclass(eq=False)
class _Expected:
    """What the receiver of a message should answer, and where the message was."""

    line: int
    message_type: str | None
    status: RS
    rejectable: bool
    why: str


@dataclass(eq=False)
class _Session:
    context: SessionContext
    expected: dict[tuple[str, str], _Expected] = field(default_factory=dict)
    anonymous: dict[str, deque[_Expected]] = field(default_factory=lambda: {"cem>rm": deque(), "rm>cem": deque()})
    """Frames without a readable message_id, waiting for an INVALID_DATA answer."""


class Replay:
    """Feed records in order with :meth:`feed`; :meth:`finish` reports what stayed unanswered."""

    def __init__(self, profile: str = "0.0.2-beta") -> None:
        self.profile = profile
        self._sessions: dict[str, _Session] = {}

    def feed(self, record: Record) -> list[ReplayFinding]:
        """Findings for one transcript line (the line's own; silences come from :meth:`finish`)."""
        state = self._sessions.get(record.session)
        if state is None:
            state = self._sessions[record.session] = _Session(SessionContext(self.profile))
        context = state.context
        version = context.selected_version
        profile = version if version is not None and version in PROFILES else context.profile
        verdict = judge_frame(record.text, profile)
        direction = record.direction
        if verdict.message is None:
            error = verdict.error
            assert error is not None
            if error.message_type != "ReceptionStatus":  # a broken status is never answered
                why = verdict.findings[0].diagnostic
                expected = _Expected(record.line, error.message_type, error.status, False, why)
                if error.message_id is not None:
                    state.expected[(direction, error.message_id)] = expected
                    context.expect_status(direction, error.message_id)
                else:
                    state.anonymous[direction].append(expected)
            return self._tie(record, error.message_type, error.message_id, verdict.findings)
        message = verdict.message
        name = message_type_of(type(message))
        findings = context.check(message, direction, record.t) + check_deep(message)
        if isinstance(message, ReceptionStatus):
            findings += self._judge_answer(state, message, direction)
            context.apply(message, direction, record.t)
            return self._tie(record, name, None, findings)
        message_id: str = message.message_id  # type: ignore[attr-defined]
        errors = [f for f in findings if f.severity == "error"]
        if errors:
            rejectable = all(CATALOGUE[f.rule].rejectable for f in errors)
            expected = _Expected(record.line, name, RS.INVALID_CONTENT, rejectable, errors[0].diagnostic)
        else:
            expected = _Expected(record.line, name, RS.OK, False, "")
        state.expected[(direction, message_id)] = expected
        context.apply(message, direction, record.t)
        return self._tie(record, name, message_id, findings)

    def _judge_answer(self, state: _Session, status: ReceptionStatus, direction: str) -> list[Finding]:
        key = (_OPPOSITE[direction], status.subject_message_id)
        expected = state.expected.pop(key, None)
        if expected is None and status.status is RS.INVALID_DATA:
            waiting = state.anonymous[_OPPOSITE[direction]]
            expected = waiting.popleft() if waiting else None
        if expected is None:
            return []  # the context's S2-RS-001 / S2-RS-002 already say what is wrong
        got = status.status
        if got is expected.status or got in _RECEIVERS_OWN or (expected.rejectable and got is RS.OK):
            return []
        if expected.status is RS.OK:
            reason = (
                f"the receiver answered {got.value} to the {expected.message_type} of line {expected.line}, "
                "which breaks no rule: s2ws would answer OK"
            )
        else:
            reason = (
                f"the receiver answered {got.value} to the {expected.message_type or 'frame'} of line "
                f"{expected.line}; s2ws would answer {expected.status.value} ({expected.why})"
            )
        return [finding("S2-RS-005", "/status", reason)]

    def finish(self) -> list[ReplayFinding]:
        """S2-RS-004 for every message that never got its ReceptionStatus, on its own line."""
        out: list[ReplayFinding] = []
        for session, state in self._sessions.items():
            pending: list[tuple[tuple[str, str | None], _Expected]] = list(state.expected.items())
            pending += [((direction, None), e) for direction, queue in state.anonymous.items() for e in queue]
            for (direction, message_id), expected in pending:
                reason = f"nobody answered this {expected.message_type or 'frame'} with a ReceptionStatus"
                rule = CATALOGUE["S2-RS-004"]
                out.append(
                    ReplayFinding(
                        expected.line,
                        session,
                        direction,
                        expected.message_type,
                        message_id,
                        rule.id,
                        rule.severity,
                        "/message_id",
                        reason,
                    )
                )
            state.expected.clear()
            for queue in state.anonymous.values():
                queue.clear()
        return sorted(out, key=lambda f: f.line)

    @staticmethod
    def _tie(record: Record, name: str | None, message_id: str | None, findings: list[Finding]) -> list[ReplayFinding]:
        return [
            ReplayFinding(
                record.line,
                record.session,
                record.direction,
                name,
                message_id,
                f.rule,
                f.severity,
                f.pointer,
                f.reason,
            )
            for f in findings
        ]


def replay(lines: Iterable[str | bytes], profile: str = "0.0.2-beta") -> list[ReplayFinding]:
    """Every finding of a transcript, ordered by line (raises TranscriptError on a malformed line)."""
    judge = Replay(normalize_version(profile))
    out: list[ReplayFinding] = []
    for record in parse_transcript(lines):
        out += judge.feed(record)
    out += judge.finish()
    return sorted(out, key=lambda f: f.line)
