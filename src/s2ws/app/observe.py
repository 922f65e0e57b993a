"""Frame observers: what the recorder and the live view are told about every session.

Observers see raw frames exactly as they crossed the wire (including frames the engine refused),
because a transcript that only held valid messages could not be replayed to find what went wrong.
They are called on the event loop's thread, synchronously, so they must be quick.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..session.policy import Direction

__all__ = ["Frame", "Observer"]


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
