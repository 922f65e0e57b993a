"""Frame observers: what the recorder and the live log are told about every session, and
:class:`AppSession`, the session engine that tells them.

Observers see raw frames exactly as they crossed the wire (including frames the engine refused),
because a transcript that only held valid messages could not be replayed to find what went wrong.
They are called on the event loop's thread, synchronously, so they must be quick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..messages.enums import EnergyManagementRole
from ..session.engine import Session
from ..session.policy import Direction, direction_of

__all__ = ["AppSession", "Frame", "Observer"]

log = logging.getLogger("s2ws.app")


@dataclass(frozen=True, slots=True)
class Frame:
    """One text frame of one session. ``direction`` is "cem>rm" or "rm>cem"; ``outgoing`` says
    whether the observing side wrote it."""

    t: datetime
    session: str
    direction: Direction
    text: str
    outgoing: bool


class Observer:
    """Base class with no-op callbacks; override what you need."""

    def session_started(self, session: str, role: str, peer: str | None) -> None:
        """A session began; ``role`` is our role ("CEM" or "RM"), ``peer`` the remote address if known."""

    def frame(self, frame: Frame) -> None:
        """A frame was received (before the engine judged it) or is about to be written."""

    def session_ended(self, session: str, reason: str) -> None:
        """The session closed for ``reason``."""

    def close(self) -> None:
        """The application stops: flush and release resources."""


class AppSession(Session):
    """The session engine with every frame shown to the observers (recorder, live view)."""

    __slots__ = ("_clock", "_in", "_observers", "_out", "session_id")

    def __init__(
        self,
        role: EnergyManagementRole,
        *,
        session_id: str,
        observers: Sequence[Observer],
        clock: Callable[[], datetime],
        **options: Any,
    ) -> None:
        super().__init__(role, **options)
        self.session_id = session_id
        self._observers = tuple(observers)
        self._clock = clock
        self._out = direction_of(role)
        self._in = direction_of(self.peer_role)

    def receive(self, data: str | bytes, now: datetime) -> None:
        if self._observers:
            text = data if isinstance(data, str) else data.decode("utf-8", "replace")
            self._notify(Frame(now, self.session_id, self._in, text, False))
        super().receive(data, now)

    def data_to_send(self) -> list[str]:
        frames = super().data_to_send()
        if frames and self._observers:
            now = self._clock()
            for text in frames:
                self._notify(Frame(now, self.session_id, self._out, text, True))
        return frames

    def _notify(self, frame: Frame) -> None:
        for observer in self._observers:
            try:
                observer.frame(frame)
            except Exception:
                log.exception("observer %r failed on a frame", observer)
