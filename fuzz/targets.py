"""Fuzz targets: one function per entry point, bytes in, an exception out only for a real fault.

Each target takes the fuzzer's bytes and drives one public entry point of s2ws the way a peer
or a file could. What the entry point may raise by design (``S2Error`` for a frame it refuses,
``TranscriptError`` for a file that is not a transcript) is swallowed; anything else escapes and
is a crash. Each target also checks an invariant that a silent fault would break:

- ``codec``: a frame that decodes encodes and decodes to an equal message; a frame that does not
  decode gets a one-line reason and a JSON pointer, and the slow path of ``s2ws validate`` names
  at least the problem the codec found (or a member named twice, which can make them differ).
- ``rules``: the session context judges any decoded sequence, in either direction, with
  findings whose rule ids are all in the catalogue.
- ``session_cem``/``session_rm``: the engine of each role takes any frame sequence and never
  writes a frame its own codec refuses.
- ``transcript``: replay reads any file to the end or refuses it with a line number.

Sequences are frames split at newlines. Three commands steer the session targets past the
handshake, which random bytes rarely get through alone: a line ``@ok`` answers OK to everything
the engine sent and no one answered yet, ``@tick`` lets ten seconds pass (timeouts, retries),
and ``@send <json>`` makes the engine send that message itself.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import s2ws
from s2ws.errors import DecodeError, S2Error
from s2ws.messages import EnergyManagementRole, ReceptionStatus, ReceptionStatusValues
from s2ws.rules import CATALOGUE
from s2ws.rules.context import SessionContext
from s2ws.rules.replay import TranscriptError, iter_replay
from s2ws.schema_problems import schema_problems
from s2ws.session import Session
from s2ws.session import engine as _engine

__all__ = ["TARGETS", "codec", "rules", "session_cem", "session_rm", "split_frames", "transcript"]

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MAX_FRAMES = 64
"""Frames per input: enough for a handshake and a working session, short enough to stay fast."""
_DIRECTIONS = {ord(">"): "cem>rm", ord("<"): "rm>cem"}


def split_frames(data: bytes) -> list[bytes]:
    return data.split(b"\n", MAX_FRAMES)[:MAX_FRAMES]


def codec(data: bytes) -> None:
    try:
        message = s2ws.decode(data)
    except DecodeError as err:
        assert "\n" not in err.reason, err.reason
        assert err.pointer == "" or err.pointer.startswith("/"), err.pointer
        problems = schema_problems(data)
        named = err.pointer in {p.pointer for p in problems} or err.message_type is None
        twice = any("appears more than once" in p.reason for p in problems)  # then the two may differ
        assert not problems or named or twice, (err.pointer, problems)
        return
    again = s2ws.decode(s2ws.encode_checked(message))
    assert again == message, (message, again)


def rules(data: bytes) -> None:
    """Each frame: a direction byte (``>`` CEM to RM, ``<`` RM to CEM, else by parity) and a message."""
    context = SessionContext()
    now = T0
    for n, frame in enumerate(split_frames(data)):
        direction = _DIRECTIONS.get(frame[0]) if frame else None
        if direction is None:
            direction = "cem>rm" if n % 2 == 0 else "rm>cem"
        else:
            frame = frame[1:]
        try:
            message = s2ws.decode(frame)
        except DecodeError:
            continue
        now += timedelta(seconds=1)
        findings = context.check(message, direction, now)
        assert all(f.rule in CATALOGUE for f in findings), findings
        context.apply(message, direction, now)


class _Ids:
    """Deterministic message ids for the engine, so that an input replays the same way."""

    def __init__(self) -> None:
        self._count = itertools.count()

    def __call__(self) -> str:
        return f"fz-{next(self._count):06d}"


def _session(role: EnergyManagementRole, data: bytes) -> None:
    fresh = _engine.new_id  # type: ignore[attr-defined]
    _engine.new_id = _Ids()  # type: ignore[attr-defined]  # the harness, not the library, fixes ids
    try:
        _drive(role, data)
    finally:
        _engine.new_id = fresh  # type: ignore[attr-defined]


def _drive(role: EnergyManagementRole, data: bytes) -> None:
    session = Session(role, checker=SessionContext())
    now = T0
    session.start(now)
    unanswered: dict[str, None] = {}
    for frame in split_frames(data):
        now += timedelta(milliseconds=100)
        if frame == b"@ok":
            for subject in list(unanswered):
                ok = ReceptionStatus(subject_message_id=subject, status=ReceptionStatusValues.OK)
                session.receive(s2ws.encode(ok), now)
            unanswered.clear()
        elif frame == b"@tick":
            now += timedelta(seconds=10)
            session.handle_timeout(now)
        elif frame.startswith(b"@send "):
            with contextlib.suppress(S2Error):  # refusing what it may not send is the engine's job
                session.send(s2ws.decode(frame[6:]), now)
        else:
            session.receive(frame, now)
        for text in session.data_to_send():
            sent = s2ws.decode(text)  # raises, and so crashes, if the engine wrote a frame it would refuse
            if not isinstance(sent, ReceptionStatus):
                unanswered[sent.message_id] = None  # type: ignore[attr-defined]
        session.events()
        if session.closed:
            break


def session_cem(data: bytes) -> None:
    _session(EnergyManagementRole.CEM, data)


def session_rm(data: bytes) -> None:
    _session(EnergyManagementRole.RM, data)


def transcript(data: bytes) -> None:
    try:
        for _finding in iter_replay(_lines(data)):
            pass
    except TranscriptError as err:
        assert err.line >= 1


def _lines(data: bytes) -> Iterator[bytes]:
    yield from itertools.islice(data.splitlines(), MAX_FRAMES * 2)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "codec": codec,
    "rules": rules,
    "session_cem": session_cem,
    "session_rm": session_rm,
    "transcript": transcript,
}
