"""The tester's side of one conformance case: raw frames over one WebSocket, every frame recorded.

The tester must be able to send what no correct peer would (malformed JSON, unknown types,
messages in the wrong state), so it does not go through the session engine: it writes and reads
raw text, keeps a transcript in the format of :mod:`s2ws.app.recorder`, and leaves judging the
peer's frames to :mod:`s2ws.rules.replay`. Waiting is always bounded by the case's deadline.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from aiohttp import WSMsgType

__all__ = ["CaseFailed", "PeerClosed", "Probe", "Socket", "TranscriptLine", "now_rfc3339"]

Message = dict[str, Any]


class CaseFailed(AssertionError):
    """The peer did not do what the case expects; the text is the verdict's reason."""


class PeerClosed(CaseFailed):
    """The WebSocket closed while the case still expected something of the peer."""


class Socket(Protocol):
    """What both aiohttp's client and server WebSocket offer."""

    @property
    def closed(self) -> bool: ...

    @property
    def close_code(self) -> int | None: ...

    async def send_str(self, data: str) -> None: ...

    async def receive(self, timeout: float | None = None) -> Any: ...

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool: ...


def now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    """One frame, as ``s2ws replay`` reads it."""

    t: str
    dir: str
    session: str
    text: str

    def json(self) -> str:
        return json.dumps({"t": self.t, "dir": self.dir, "session": self.session, "text": self.text})


@dataclass(eq=False)
class Probe:
    """One session with the peer under test. ``role`` is the tester's own role ("cem" or "rm")."""

    socket: Socket
    role: str
    deadline: float
    session: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    transcript: list[TranscriptLine] = field(default_factory=list)
    received: list[Message] = field(default_factory=list)
    """Every peer message that parsed as a JSON object, in order."""
    statuses: dict[str, str] = field(default_factory=dict)
    """subject_message_id -> ReceptionStatus the peer answered."""
    answer_times: dict[str, float] = field(default_factory=dict)
    sent_times: dict[str, float] = field(default_factory=dict)
    auto_ack: bool = True
    tolerate: set[str] = field(default_factory=set)
    """Rule ids the case does not hold against the peer (each script says why)."""
    close_code: int | None = None
    _pending: list[Message] = field(default_factory=list)

    @property
    def out_dir(self) -> str:
        return "cem>rm" if self.role == "cem" else "rm>cem"

    @property
    def in_dir(self) -> str:
        return "rm>cem" if self.role == "cem" else "cem>rm"

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    async def send_text(self, text: str) -> None:
        if self.socket.closed:
            raise PeerClosed(f"the connection closed (code {self.socket.close_code}) before the tester could send")
        self.transcript.append(TranscriptLine(now_rfc3339(), self.out_dir, self.session, text))
        await self.socket.send_str(text)

    async def send(self, message: Message) -> str:
        """Send one message (a ``message_id`` is added when missing); returns its message_id."""
        if "message_id" not in message and message.get("message_type") != "ReceptionStatus":
            message = {"message_id": new_id(), **message}
        ident = str(message.get("message_id", ""))
        self.sent_times[ident] = time.monotonic()
        await self.send_text(json.dumps(message))
        return ident

    async def answer(self, message: Message, status: str = "OK") -> None:
        ident = message.get("message_id")
        if isinstance(ident, str):
            await self.send_text(
                json.dumps({"message_type": "ReceptionStatus", "subject_message_id": ident, "status": status})
            )

    async def _read(self) -> Message | None:
        """One frame from the peer (None for a frame that is not a JSON object); PeerClosed at close."""
        timeout = self.remaining()
        if timeout <= 0:
            raise CaseFailed("the case ran out of time")
        try:
            frame = await self.socket.receive(timeout=timeout)
        except TimeoutError:
            raise CaseFailed("the case ran out of time") from None
        if frame.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            self.close_code = self.socket.close_code
            raise PeerClosed(f"the peer closed the connection (code {self.close_code})")
        if frame.type is not WSMsgType.TEXT:
            self.transcript.append(TranscriptLine(now_rfc3339(), self.in_dir, self.session, repr(frame.data)))
            return None
        text: str = frame.data
        self.transcript.append(TranscriptLine(now_rfc3339(), self.in_dir, self.session, text))
        try:
            message = json.loads(text)
        except ValueError:
            return None
        if not isinstance(message, dict):
            return None
        self.received.append(message)
        if message.get("message_type") == "ReceptionStatus":
            subject = message.get("subject_message_id")
            if isinstance(subject, str) and subject not in self.statuses:
                self.statuses[subject] = str(message.get("status"))
                self.answer_times[subject] = time.monotonic()
        else:
            self._pending.append(message)
            if self.auto_ack:
                await self.answer(message)
        return message

    async def expect(self, predicate: Callable[[Message], bool], what: str) -> Message:
        """The next peer message matching ``predicate`` (others stay queued for later expectations)."""
        while True:
            for index, message in enumerate(self._pending):
                if predicate(message):
                    del self._pending[index]
                    return message
            try:
                await self._read()
            except PeerClosed as exc:
                raise PeerClosed(f"waiting for {what}: {exc}") from None
            except CaseFailed:
                raise CaseFailed(f"no {what} arrived in time") from None

    async def expect_type(self, *types: str) -> Message:
        names = set(types)
        return await self.expect(lambda m: m.get("message_type") in names, " or ".join(types))

    async def status_of(self, message_id: str, what: str = "") -> str:
        """The ReceptionStatus the peer gave to ``message_id`` (waits for it)."""
        while message_id not in self.statuses:
            try:
                await self._read()
            except PeerClosed as exc:
                raise PeerClosed(f"waiting for the ReceptionStatus of {what or message_id}: {exc}") from None
            except CaseFailed:
                raise CaseFailed(f"the peer sent no ReceptionStatus for {what or message_id}") from None
        return self.statuses[message_id]

    async def new_statuses(self, before: set[str], what: str) -> list[str]:
        """Wait for ReceptionStatus(es) to subjects not in ``before`` (an answer to a frame without an id)."""
        while not set(self.statuses) - before:
            try:
                await self._read()
            except PeerClosed as exc:
                raise PeerClosed(f"waiting for the ReceptionStatus of {what}: {exc}") from None
            except CaseFailed:
                raise CaseFailed(f"the peer sent no ReceptionStatus for {what}") from None
        return [status for subject, status in self.statuses.items() if subject not in before]

    async def require_status(self, message_id: str, wanted: set[str], what: str) -> str:
        got = await self.status_of(message_id, what)
        if got not in wanted:
            raise CaseFailed(f"the peer answered {got} to {what}; expected {' or '.join(sorted(wanted))}")
        return got

    async def send_text_and_require(self, text: str, wanted: set[str], what: str) -> None:
        """Send a raw frame, then require its answer: by its message_id where one can be read, else the
        first new ReceptionStatus (a peer cannot name a frame it could not read)."""
        before = set(self.statuses)
        await self.send_text(text)
        try:
            ident = json.loads(text).get("message_id")
        except (ValueError, AttributeError):
            ident = None
        if isinstance(ident, str):
            await self.require_status(ident, wanted, what)
            return
        got = await self.new_statuses(before, what)
        if not set(got) & wanted:
            raise CaseFailed(f"the peer answered {', '.join(got)} to {what}; expected {' or '.join(sorted(wanted))}")

    async def drain(self, seconds: float) -> None:
        """Read (and answer) whatever comes for ``seconds``, or until the connection closes."""
        end = min(self.deadline, time.monotonic() + seconds)
        while (left := end - time.monotonic()) > 0:
            saved, self.deadline = self.deadline, time.monotonic() + left
            try:
                await self._read()
            except CaseFailed:
                return
            finally:
                self.deadline = saved

    async def wait_closed(self) -> int | None:
        """Wait until the peer closes the connection; returns its close code."""
        while True:
            try:
                await self._read()
            except PeerClosed:
                return self.close_code
            except CaseFailed:
                raise CaseFailed("the peer did not close the connection in time") from None

    async def close(self) -> None:
        if not self.socket.closed:
            await self.socket.close(code=1000, message=b"conformance case done")


def new_id() -> str:
    return str(uuid.uuid4())
