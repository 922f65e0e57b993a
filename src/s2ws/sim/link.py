"""A simulator behind a session engine, and a whole conversation in memory; no sockets, no clock.

:class:`RMLink` is the glue any driver needs: the RM :class:`~s2ws.session.Session` answers
every frame (ReceptionStatus first), the simulator hears what was accepted, and what it answers
is sent after. :class:`Loopback` joins a CEM session (and the CEM's picture of the device, a
control-type view) to an RMLink under a clock the caller moves, and records the conversation in
the transcript format ``s2ws replay`` reads: a planner can be tested against a day of device
physics in well under a second.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from ..messages import (
    ControlType,
    EnergyManagementRole,
    ReceptionStatusValues,
    SelectControlType,
    new_id,
)
from ..messages.base import S2Message
from ..messages.states import Phase
from ..rules import SessionContext
from ..session import Checker, Event, MessageReceived, Session
from .base import DeviceSim

__all__ = ["Frame", "Loopback", "RMLink", "Viewer"]

_ROUNDS: Final = 1000
"""Exchanges per pump, and calls at one moment per advance: beyond that two sides keep talking."""


class Viewer(Protocol):
    """A CEM-side picture of a device (FRBCView, PEBCView, ...): fed every message the CEM accepts."""

    def apply(self, message: S2Message, now: datetime) -> bool: ...


class RMLink:
    """A :class:`~s2ws.sim.base.DeviceSim` as the RM of one session, sans I/O.

    Feed received frames to :meth:`receive`, call :meth:`tick` at :meth:`next_wakeup`, write
    what :meth:`data_to_send` returns. ResourceManagerDetails goes out as soon as the handshake
    completes; the simulator is ticked only from then on (measurements need a handshake).
    """

    def __init__(self, sim: DeviceSim, session: Session | None = None, *, checker: Checker | None = None) -> None:
        self.sim = sim
        self.session = session if session is not None else Session(EnergyManagementRole.RM, checker=checker)
        self.session.handler = self._on_message
        self.now: datetime | None = None
        self.announced = False
        """ResourceManagerDetails was sent."""
        self.sent: list[S2Message] = []
        """Everything the simulator had sent, in order."""
        self._outbox: list[S2Message] = []

    def start(self, now: datetime) -> None:
        self.now = now
        self.session.start(now)

    def receive(self, data: str | bytes, now: datetime) -> None:
        self.now = now
        self.session.receive(data, now)
        self._flush(now)

    def tick(self, now: datetime) -> None:
        """Fire the session's timers and the simulator's due events; queue what they send."""
        self.now = now
        wake = self.session.next_wakeup()
        if wake is not None and wake <= now:
            self.session.handle_timeout(now)
        if self.announced and not self.session.closed:
            self._outbox.extend(self.sim.tick(now))
        self._flush(now)

    def publish(self, messages: Sequence[S2Message], now: datetime) -> None:
        """Send what the simulator produced outside ``tick`` and ``handle``: the result of
        ``reconfigure``, ``derate``, ``load`` (a new description, a new task)."""
        self.now = now
        self._outbox.extend(messages)
        self._flush(now)

    def next_wakeup(self) -> datetime | None:
        times = [self.session.next_wakeup(), self.sim.next_wakeup() if self.announced else None]
        return min((t for t in times if t is not None), default=None)

    def data_to_send(self) -> list[str]:
        return self.session.data_to_send()

    def _on_message(self, message: S2Message) -> None:
        # Inside Session.receive: what the simulator answers waits until the ReceptionStatus is queued.
        assert self.now is not None
        if isinstance(message, SelectControlType):
            self._outbox.extend(self.sim.on_select(message.control_type, self.now))
        else:
            self._outbox.extend(self.sim.handle(message, self.now))

    def _flush(self, now: datetime) -> None:
        if not self.announced and not self.session.closed and self.session.phase is Phase.INITIALIZED:
            self.announced = True
            self._outbox.insert(0, self.sim.details())
        while self._outbox and not self.session.closed:
            message = self._outbox.pop(0)
            self.session.send(message, now)
            self.sent.append(message)
        self._outbox.clear()


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame on the wire, as a transcript line holds it."""

    t: datetime
    direction: str
    text: str

    @property
    def doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.text)
        return doc

    @property
    def message_type(self) -> str:
        return str(self.doc["message_type"])


class Loopback:
    """A CEM session and a simulated RM in memory, under a clock the caller moves.

    Both sessions judge with a :class:`~s2ws.rules.SessionContext` unless ``checkers`` is false,
    and speak the first of ``versions`` they share.
    Every message the CEM accepts is applied to ``view``; every frame is kept in ``frames`` and
    :meth:`transcript` gives them as JSON Lines for :func:`s2ws.rules.replay.replay`.
    """

    def __init__(
        self,
        sim: DeviceSim,
        view: Viewer | None = None,
        *,
        now: datetime,
        session: str = "sim",
        checkers: bool = True,
        versions: Sequence[str] = ("0.0.2-beta",),
    ) -> None:
        self.now = now
        self.view = view
        self.name = session
        self.cem = Session(
            EnergyManagementRole.CEM, versions=versions, checker=SessionContext(versions[0]) if checkers else None
        )
        rm = Session(
            EnergyManagementRole.RM, versions=versions, checker=SessionContext(versions[0]) if checkers else None
        )
        self.rm = RMLink(sim, rm)
        self.frames: list[Frame] = []
        self.cem_events: list[Event] = []
        self.received: list[S2Message] = []
        """Messages the CEM accepted, in order."""

    @property
    def sim(self) -> DeviceSim:
        return self.rm.sim

    # --- running -----------------------------------------------------------------------------------

    def start(self, control_type: ControlType | None = None) -> None:
        """Handshake and ResourceManagerDetails; then select ``control_type`` if given."""
        self.cem.start(self.now)
        self.rm.start(self.now)
        self.pump()
        if control_type is not None:
            self.select(control_type)

    def select(self, control_type: ControlType) -> None:
        self.send(SelectControlType(message_id=new_id(), control_type=control_type))

    def send(self, message: S2Message, *, checked: bool = True) -> None:
        """The CEM sends ``message`` and both sides talk until quiet. ``checked=False`` skips the
        CEM's rule context, to send something deliberately wrong (the RM's still judges it)."""
        checker = self.cem.checker
        if not checked:
            self.cem.checker = None
        try:
            self.cem.send(message, self.now)
        finally:
            self.cem.checker = checker
        self.pump()

    def publish(self, messages: Sequence[S2Message]) -> None:
        """The RM sends what its simulator produced on request (see :meth:`RMLink.publish`)."""
        self.rm.publish(messages, self.now)
        self.pump()

    def pump(self) -> None:
        """Carry frames both ways until neither side has anything to say."""
        for _ in range(_ROUNDS):
            to_rm = self.cem.data_to_send()
            to_cem = self.rm.data_to_send()
            if not to_rm and not to_cem:
                return
            for text in to_rm:
                self.frames.append(Frame(self.now, "cem>rm", text))
                self.rm.receive(text, self.now)
            for text in to_cem:
                self.frames.append(Frame(self.now, "rm>cem", text))
                self.cem.receive(text, self.now)
                self._drain()
        raise RuntimeError("the two sides kept talking")

    def _drain(self) -> None:
        for event in self.cem.events():
            self.cem_events.append(event)
            if isinstance(event, MessageReceived):
                self.received.append(event.message)
                if self.view is not None:
                    self.view.apply(event.message, self.now)

    def advance(
        self,
        to: datetime,
        *,
        every: timedelta | None = None,
        on_step: Callable[[datetime], None] | None = None,
    ) -> None:
        """Move the clock to ``to``, stopping at every wakeup of either side (and every ``every``,
        where ``on_step`` may send, say, a planner's instructions)."""
        step_at = self.now + every if every is not None else None
        same = 0
        while True:
            times = [to, self.rm.next_wakeup(), self.cem.next_wakeup(), step_at]
            moment = max(min(t for t in times if t is not None), self.now)
            same = same + 1 if moment == self.now else 0
            if same > _ROUNDS:
                raise RuntimeError(f"a side keeps waking at {moment.isoformat()}")
            self.now = moment
            wake = self.cem.next_wakeup()
            if wake is not None and wake <= moment:
                self.cem.handle_timeout(moment)
            self.rm.tick(moment)
            self.pump()
            if step_at is not None and every is not None and moment >= step_at:
                step_at += every
                if on_step is not None:
                    on_step(moment)
                    self.pump()
            if moment >= to:
                return

    # --- what happened -----------------------------------------------------------------------------

    def transcript(self) -> list[str]:
        """The conversation as JSON Lines: ``{"t", "dir", "session", "text"}`` per frame."""
        return [
            json.dumps(
                {"t": f.t.isoformat().replace("+00:00", "Z"), "dir": f.direction, "session": self.name, "text": f.text}
            )
            for f in self.frames
        ]

    def mark(self) -> int:
        """A position in ``frames``, for :meth:`types_since`."""
        return len(self.frames)

    def types_since(self, mark: int, direction: str, *, answers: bool = False) -> list[str]:
        """Message types sent one way since ``mark`` (ReceptionStatus left out unless ``answers``);
        InstructionStatusUpdates carry their status: ``InstructionStatusUpdate:ACCEPTED``."""
        out: list[str] = []
        for frame in self.frames[mark:]:
            if frame.direction != direction:
                continue
            doc = frame.doc
            kind = str(doc["message_type"])
            if kind == "ReceptionStatus" and not answers:
                continue
            if kind == "InstructionStatusUpdate":
                kind += ":" + str(doc["status_type"])
            out.append(kind)
        return out

    def answers(self) -> dict[str, ReceptionStatusValues]:
        """message_id -> the ReceptionStatus its receiver gave it, for every frame of both sides."""
        out: dict[str, ReceptionStatusValues] = {}
        for frame in self.frames:
            doc = frame.doc
            if doc["message_type"] == "ReceptionStatus":
                out[str(doc["subject_message_id"])] = ReceptionStatusValues(doc["status"])
        return out

    def not_ok(self) -> dict[str, tuple[str, ReceptionStatusValues | None]]:
        """message_id -> (message type, status) of every message not answered OK (None: not at all)."""
        answers = self.answers()
        out: dict[str, tuple[str, ReceptionStatusValues | None]] = {}
        for frame in self.frames:
            doc = frame.doc
            if doc["message_type"] == "ReceptionStatus":
                continue
            status = answers.get(str(doc["message_id"]))
            if status is not ReceptionStatusValues.OK:
                out[str(doc["message_id"])] = (str(doc["message_type"]), status)
        return out
