"""Sans-I/O S2 session engine for the CEM and the RM: text in, text out, time passed in.

Import the engine from here; transports drive :class:`Session`, applications read its events.
"""

from __future__ import annotations

from .engine import Handler, Session
from .events import (
    EVENT_TYPES,
    AckTimeout,
    CallbackFailed,
    ContentWarning,
    ControlTypeSelected,
    DuplicateReceptionStatus,
    Event,
    HandshakeCompleted,
    InstructionStatusChanged,
    MalformedReceptionStatus,
    MessageReceived,
    ObjectRevoked,
    ReceptionStatusReceived,
    RejectedIncoming,
    Retried,
    RetryGivenUp,
    SessionClosed,
    SessionRequestReceived,
    UnsolicitedReceptionStatus,
)
from .policy import CEM_TO_RM, ENGINE_RULES, NIL_ID, RM_TO_CEM, Checker, Direction, Finding, RetryPolicy

__all__ = [
    "CEM_TO_RM",
    "ENGINE_RULES",
    "EVENT_TYPES",
    "NIL_ID",
    "RM_TO_CEM",
    "AckTimeout",
    "CallbackFailed",
    "Checker",
    "ContentWarning",
    "ControlTypeSelected",
    "Direction",
    "DuplicateReceptionStatus",
    "Event",
    "Finding",
    "Handler",
    "HandshakeCompleted",
    "InstructionStatusChanged",
    "MalformedReceptionStatus",
    "MessageReceived",
    "ObjectRevoked",
    "ReceptionStatusReceived",
    "RejectedIncoming",
    "Retried",
    "RetryGivenUp",
    "RetryPolicy",
    "Session",
    "SessionClosed",
    "SessionRequestReceived",
    "UnsolicitedReceptionStatus",
]
