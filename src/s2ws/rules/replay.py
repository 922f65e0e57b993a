"""Judge a recorded two-sided conversation: every frame, every answer, every silence.

A transcript is JSON Lines, one frame per line:
``{"t": RFC 3339, "dir": "cem>rm" | "rm>cem", "session": str, "text": raw frame}``. Both
directions of a session go through one :class:`SessionContext`; each message is applied as
it passes and undone when its receiver refuses it, so the context always holds what the
receiver holds. Besides rule findings, replay reports messages nobody answered (S2-RS-004)
and answers that differ from the one s2ws would have given (S2-RS-005).

Replay streams: :func:`iter_replay` reads one line at a time and yields each line's findings
as it goes, so its memory is bounded by the open sessions and what they have in flight, never by
the length of the transcript: a session closed with nothing awaited is let go of. What a
session has in flight is bounded too: past :data:`MAX_AWAITED` messages waiting for their answer
in one direction, the oldest is reported as unanswered then and there (the session context
forgets it at the same depth).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Literal

import msgspec

from ..messages.base import message_type_of
from ..messages.common import ReceptionStatus
from ..messages.enums import ReceptionStatusValues
from ..messages.profiles import PROFILES, normalize_version
from ..messages.states import Phase
from .catalogue import CATALOGUE, Finding, Severity, finding
from .context import SessionContext
from .frames import judge_frame
from .single import check_deep

__all__ = [
    "MAX_AWAITED",
    "Record",
    "Replay",
    "ReplayFinding",
    "TranscriptError",
    "iter_replay",
    "parse_transcript",
    "replay",
]

RS = ReceptionStatusValues
_OPPOSITE = {"cem>rm": "rm>cem", "rm>cem": "cem>rm"}
_RECEIVERS_OWN = frozenset({RS.TEMPORARY_ERROR, RS.PERMANENT_ERROR})
MAX_AWAITED = 4096
MAX_ENDED = 16384
"""Ended sessions remembered by id, so a late frame of one is judged as after the close."""
"""Messages of one session awaiting their ReceptionStatus (per direction) before the oldest is given up."""


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
    expected: dict[str, dict[str, _Expected]] = field(default_factory=lambda: {"cem>rm": {}, "rm>cem": {}})
    """Per direction, the messages awaiting their answer by message_id, oldest first."""
    anonymous: dict[str, deque[_Expected]] = field(default_factory=lambda: {"cem>rm": deque(), "rm>cem": deque()})
    """Frames without a readable message_id, waiting for an INVALID_DATA answer."""


class Replay:
    """Feed records in order with :meth:`feed`; :meth:`finish` reports what stayed unanswered."""

    def __init__(self, profile: str = "0.0.2-beta") -> None:
        self.profile = profile
        self._sessions: dict[str, _Session] = {}
        self._ended: dict[str, None] = {}
        """Sessions let go of (closed, nothing awaited), most recent last."""

    @property
    def open_sessions(self) -> int:
        """Sessions whose context replay still holds."""
        return len(self._sessions)

    def feed(self, record: Record) -> list[ReplayFinding]:
        """Findings for one transcript line (the line's own; silences come from :meth:`finish`).

        A session that is closed with nothing awaited in either direction is let go of, so replay
        holds only the sessions still open. A later frame of it is judged by a fresh context in
        the closed phase, as the session's own context would have judged it.
        """
        state = self._sessions.get(record.session)
        if state is None:
            context = SessionContext(self.profile)
            if record.session in self._ended:
                context.phase = Phase.CLOSED
            state = self._sessions[record.session] = _Session(context)
        found = self._judge(state, record)
        if (
            state.context.phase is Phase.CLOSED
            and not any(state.expected.values())
            and not any(state.anonymous.values())
        ):
            del self._sessions[record.session]
            self._ended[record.session] = None
            if len(self._ended) > MAX_ENDED + (MAX_ENDED >> 3):
                for session in list(islice(self._ended, len(self._ended) - MAX_ENDED)):
                    del self._ended[session]
        return found

    def _judge(self, state: _Session, record: Record) -> list[ReplayFinding]:
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
                    state.expected[direction][error.message_id] = expected
                    context.expect_status(direction, error.message_id)
                else:
                    state.anonymous[direction].append(expected)
            given_up = self._give_up(record.session, state, direction)
            return self._tie(record, error.message_type, error.message_id, verdict.findings) + given_up
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
        state.expected[direction][message_id] = expected
        context.apply(message, direction, record.t)
        return self._tie(record, name, message_id, findings) + self._give_up(record.session, state, direction)

    def _give_up(self, session: str, state: _Session, direction: str) -> list[ReplayFinding]:
        """S2-RS-004 for the oldest awaited messages beyond :data:`MAX_AWAITED` (a peer that never answers)."""
        out: list[ReplayFinding] = []
        awaited = state.expected[direction]
        if len(awaited) > MAX_AWAITED + (MAX_AWAITED >> 3):  # in batches: dropping the oldest one by one is slow
            for message_id in list(islice(awaited, len(awaited) - MAX_AWAITED)):
                out.append(_unanswered(session, direction, message_id, awaited.pop(message_id), MAX_AWAITED))
        waiting = state.anonymous[direction]
        while len(waiting) > MAX_AWAITED:
            out.append(_unanswered(session, direction, None, waiting.popleft(), MAX_AWAITED))
        return out

    def _judge_answer(self, state: _Session, status: ReceptionStatus, direction: str) -> list[Finding]:
        expected = state.expected[_OPPOSITE[direction]].pop(status.subject_message_id, None)
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
            pending: list[tuple[str, str | None, _Expected]] = [
                (direction, message_id, e)
                for direction, awaited in state.expected.items()
                for message_id, e in awaited.items()
            ]
            pending += [(direction, None, e) for direction, queue in state.anonymous.items() for e in queue]
            for direction, message_id, expected in pending:
                out.append(_unanswered(session, direction, message_id, expected))
            for awaited in state.expected.values():
                awaited.clear()
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


def _unanswered(
    session: str, direction: str, message_id: str | None, expected: _Expected, after: int | None = None
) -> ReplayFinding:
    reason = f"nobody answered this {expected.message_type or 'frame'} with a ReceptionStatus"
    if after is not None:
        reason += f" while {after} later messages of the session awaited theirs"
    rule = CATALOGUE["S2-RS-004"]
    return ReplayFinding(
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


def iter_replay(lines: Iterable[str | bytes], profile: str = "0.0.2-beta") -> Iterator[ReplayFinding]:
    """The findings of a transcript as they are found, reading ``lines`` lazily.

    Each line's findings come when it is read; the messages left unanswered at the end come
    last, ordered by line. Raises :class:`TranscriptError` on a malformed line, when reaching it.
    """
    judge = Replay(normalize_version(profile))
    for record in parse_transcript(lines):
        yield from judge.feed(record)
    yield from judge.finish()


def replay(lines: Iterable[str | bytes], profile: str = "0.0.2-beta") -> list[ReplayFinding]:
    """Every finding of a transcript, ordered by line (raises TranscriptError on a malformed line)."""
    return sorted(iter_replay(lines, profile), key=lambda f: f.line)
