"""What a session tells its application: immutable records, drained with ``Session.events()``.

Everything the engine notices becomes an event, never an exception: a timeout, a duplicate
or unknown acknowledgement, a frame it had to refuse. The application decides what matters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from ..messages.base import S2Message
from ..messages.common import ReceptionStatus, SessionRequest
from ..messages.enums import ControlType, InstructionStatus, ReceptionStatusValues, RevokableObjects

__all__ = [
    "EVENT_TYPES",
    "AckTimeout",
    "CallbackFailed",
    "ContentWarning",
    "ControlTypeSelected",
    "DuplicateReceptionStatus",
    "Event",
    "HandshakeCompleted",
    "InstructionStatusChanged",
    "MalformedReceptionStatus",
    "MessageReceived",
    "ObjectRevoked",
    "ReceptionStatusReceived",
    "RejectedIncoming",
    "Retried",
    "RetryGivenUp",
    "SessionClosed",
    "SessionRequestReceived",
    "UnsolicitedReceptionStatus",
]


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A peer message passed every check and was answered OK (exactly one per OK sent)."""

    message: S2Message


@dataclass(frozen=True, slots=True)
class HandshakeCompleted:
    """Both sides agreed on ``version`` (normalized, e.g. "0.0.2-beta"); its profile now applies."""

    version: str


@dataclass(frozen=True, slots=True)
class ControlTypeSelected:
    """The active control type changed; NO_SELECTION means none is active any more.

    The RM sees this when it answers the SelectControlType OK, the CEM when that OK arrives,
    so both switch at the same point of the conversation.
    """

    control_type: ControlType


@dataclass(frozen=True, slots=True)
class ReceptionStatusReceived:
    """The peer answered one of our messages. ``message`` is ours (None only if forgotten);
    ``late`` is True when the answer came after its AckTimeout was reported."""

    subject: str
    status: ReceptionStatus
    message: S2Message | None
    late: bool = False


@dataclass(frozen=True, slots=True)
class AckTimeout:
    """No ReceptionStatus within ``ack_timeout``; a later answer still arrives as ``late``."""

    message: S2Message


@dataclass(frozen=True, slots=True)
class Retried:
    """``message`` was sent again (same frame, same message_id) after TEMPORARY_ERROR;
    ``attempt`` counts sends, so the first retry is attempt 2."""

    message: S2Message
    attempt: int


@dataclass(frozen=True, slots=True)
class RetryGivenUp:
    """A message answered TEMPORARY_ERROR will not be sent again (policy exhausted, or the
    session phase no longer allows it)."""

    message: S2Message
    attempts: int
    reason: str


@dataclass(frozen=True, slots=True)
class DuplicateReceptionStatus:
    """A second answer for a message that was already answered; ignored."""

    status: ReceptionStatus


@dataclass(frozen=True, slots=True)
class UnsolicitedReceptionStatus:
    """An answer naming a message_id we never sent (or forgot long ago); ignored."""

    status: ReceptionStatus


@dataclass(frozen=True, slots=True)
class MalformedReceptionStatus:
    """A frame that claims to be a ReceptionStatus but is not schema-valid; never answered."""

    diagnostic: str
    raw: str | bytes


@dataclass(frozen=True, slots=True)
class RejectedIncoming:
    """We answered a peer frame with a non-OK ``status``. ``message`` is the decoded message
    when decoding succeeded (INVALID_CONTENT and handler errors), else None."""

    status: ReceptionStatusValues
    diagnostic: str
    raw: str | bytes
    subject: str
    message: S2Message | None = None


@dataclass(frozen=True, slots=True)
class CallbackFailed:
    """The application's handler, the checker or the engine's own judging raised something
    unexpected (a bug on our side); the peer got TEMPORARY_ERROR (unless its message was answered
    already) and the session carries on. ``where`` is "handler", "checker", "checker.apply" or
    "engine"."""

    where: str
    message: S2Message
    error: Exception


@dataclass(frozen=True, slots=True)
class ContentWarning:
    """The checker found only warnings: the message went through, these are worth a look."""

    message: S2Message
    direction: str
    diagnostics: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SessionRequestReceived:
    """The peer asked to RECONNECT or TERMINATE; the session closes right after, or once the
    peer answered what we sent before its request (bounded by ``close_grace``)."""

    request: SessionRequest


@dataclass(frozen=True, slots=True)
class InstructionStatusChanged:
    """An instruction moved forward in its lifecycle (reported by the RM, seen on both sides)."""

    instruction_id: str
    status: InstructionStatus
    previous: InstructionStatus | None


@dataclass(frozen=True, slots=True)
class ObjectRevoked:
    """An object was withdrawn; ``by_peer`` is True when the peer revoked it."""

    object_type: RevokableObjects
    object_id: str
    by_peer: bool


@dataclass(frozen=True, slots=True)
class SessionClosed:
    """The session is over; the transport should flush ``data_to_send`` and close the socket.

    ``by_peer``: the peer ended it (SessionRequest or PERMANENT_ERROR). ``reconnect``: the peer
    asked for a RECONNECT, so a client should connect again now; after anything else a client
    reconnects, if at all, with back-off. When we sent the SessionRequest it comes once the
    peer's ReceptionStatus for it arrived, or ``close_grace`` passed without one; when the peer
    sent it, once the peer answered our earlier messages (or at once if there are none).
    """

    reason: str
    by_peer: bool
    reconnect: bool = False


Event: TypeAlias = (
    MessageReceived
    | HandshakeCompleted
    | ControlTypeSelected
    | ReceptionStatusReceived
    | AckTimeout
    | Retried
    | RetryGivenUp
    | DuplicateReceptionStatus
    | UnsolicitedReceptionStatus
    | MalformedReceptionStatus
    | RejectedIncoming
    | CallbackFailed
    | ContentWarning
    | SessionRequestReceived
    | InstructionStatusChanged
    | ObjectRevoked
    | SessionClosed
)

EVENT_TYPES: tuple[type[Event], ...] = (
    MessageReceived,
    HandshakeCompleted,
    ControlTypeSelected,
    ReceptionStatusReceived,
    AckTimeout,
    Retried,
    RetryGivenUp,
    DuplicateReceptionStatus,
    UnsolicitedReceptionStatus,
    MalformedReceptionStatus,
    RejectedIncoming,
    CallbackFailed,
    ContentWarning,
    SessionRequestReceived,
    InstructionStatusChanged,
    ObjectRevoked,
    SessionClosed,
)
"""Every event class, for ``isinstance`` checks and exhaustive tests."""
