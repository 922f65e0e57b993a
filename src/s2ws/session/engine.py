"""The sans-I/O S2 session engine for both roles: text in, text out, time passed in.

A transport feeds each received text frame to :meth:`Session.receive`, writes what
:meth:`Session.data_to_send` returns, hands :meth:`Session.events` to the application and
calls :meth:`Session.handle_timeout` at :meth:`Session.next_wakeup`. The engine never blocks,
never reads a clock and never awaits anything, which is what makes "exactly one
ReceptionStatus per received message, chosen synchronously" possible: the answer is decided
inside ``receive`` before it returns.

Receive pipeline (first failure decides the answer):
``decode`` (INVALID_DATA / INVALID_MESSAGE) -> phase table ``states.check_allowed`` ->
engine rules (handshake, control type offered, instruction lifecycle, revocation; catalogue
ids, see ``policy.CATALOGUE_RULES_USED`` and ``policy.ENGINE_RULES``) -> checker errors (all
INVALID_CONTENT) -> handler (its StatusError's value; any other exception is TEMPORARY_ERROR)
-> OK, state applied, ``MessageReceived``. A refused Handshake (on the CEM) or HandshakeResponse
(on the RM) also ends the session with SessionRequest TERMINATE, since the handshake can no
longer complete; any other refusal leaves the session running.

Strict in what we write, lenient in what we accept: a rule the catalogue rates a warning
(a backward instruction status, revoking a finished instruction) passes on receive with a
``ContentWarning``, while ``send`` refuses it.

An unexpected exception from the application's handler is answered TEMPORARY_ERROR, not
PERMANENT_ERROR: it is a fault of the receiver, not of the message, so the peer may try again
(bounded by its retry policy) and a bug in one handler does not end the session. The same holds
for the checker and for the engine's own judging (``CallbackFailed`` says where): whatever raises
while a frame is judged, the peer gets one answer naming the message and the session goes on.

Ending the session ourselves: a SessionRequest (``close(..., terminate=True)`` or ``send``) is a
message like any other and the peer owes it a ReceptionStatus, so the session does not close the
moment the request is queued. It is ``closing`` first: phase CLOSED, ``send`` refuses, and it
waits for that one answer. The answer (whatever its status) closes it; so does the end of
``close_grace`` (via ``next_wakeup``/``handle_timeout``; some peers never answer a SessionRequest)
and ``close(..., terminate=False)`` (the transport saw the socket close). While closing, a
ReceptionStatus for one of our earlier messages is still matched and reported, but changes nothing
(no retry, no control type switch); any other message crossed our SessionRequest (the peer sent it
before it could know), so it is judged and taken as if it had arrived just before the request: an
InstructionStatusUpdate answered OK is recorded (``InstructionStatusChanged``), nothing the peer
reported in time is lost, and nobody is blamed for the crossing. A Handshake or SessionRequest of
the peer that crossed ours is answered OK without being acted on, so each side gets one answer per
message; undecodable frames as always. Once closed, the phase table answers (INVALID_CONTENT,
S2-SESSION-004). Timers other than ``close_grace`` no longer fire. ``SessionClosed`` comes once, at the
actual close.

The peer ending the session: its SessionRequest is answered OK and nothing new may be sent, but
messages we sent before it arrived may still be on their way to the peer, which owes them an
answer. Closing the socket at once would make that answer fail on the peer's side (s2-python
logs an error for it) and lose it on ours, so the session is ``closing`` until every such
message is answered, or ``close_grace`` passed. With nothing outstanding (the usual case) it
closes at once. Closes that send nothing (PERMANENT_ERROR either way, ``terminate=False``) are
always immediate.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from functools import lru_cache
from types import MappingProxyType
from typing import Final

from ..codec import Codec, get_codec
from ..errors import (
    DecodeError,
    InvalidContent,
    InvalidData,
    InvalidMessage,
    OutstandingLimitError,
    RuleViolation,
    SessionClosedError,
    StatusError,
    TemporaryError,
)
from ..findings import Finding
from ..messages.base import ID_MATCH_PATTERN, UNSET, S2Message, message_type_of, new_id
from ..messages.catalogue import MESSAGE_INFO
from ..messages.common import (
    Handshake,
    HandshakeResponse,
    InstructionStatusUpdate,
    ReceptionStatus,
    ResourceManagerDetails,
    RevokeObject,
    SelectControlType,
    SessionRequest,
)
from ..messages.enums import (
    ControlType,
    EnergyManagementRole,
    InstructionStatus,
    ReceptionStatusValues,
    SessionRequestType,
)
from ..messages.profiles import DEFAULT_PROFILE, get_profile, normalize_version, shared_versions
from ..messages.states import Phase, check_allowed
from ..rules.session_rules import (
    judge_handshake_role,
    judge_revoke,
    judge_rm_versions,
    judge_select,
    judge_selected_version,
)
from .events import (
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
from .ledger import Entry, Ledger, Lookup, Waiting
from .policy import NIL_ID, Checker, RetryPolicy, direction_of
from .tracking import INSTRUCTION_TYPES, InstructionTracker, ObjectRegistry, object_id_of

__all__ = ["ALLOWS", "Allows", "Handler", "Session", "State"]

Handler = Callable[[S2Message], None]
"""Called synchronously inside ``receive`` for an application message that passed every check.
Return = OK; raise InvalidContent / TemporaryError / PermanentError to answer that status."""

CEM = EnergyManagementRole.CEM
RM = EnergyManagementRole.RM
RS = ReceptionStatusValues

_ENGINE_OWNED = (ReceptionStatus, Handshake, HandshakeResponse)
_MAX_LABEL = 1000
"""Longest diagnostic_label we write: a peer's garbage must not be echoed back at length."""

_ID_RE = re.compile(ID_MATCH_PATTERN)
_STATUS_HEAD = '{"message_type":"ReceptionStatus","subject_message_id":"'
_STATUS_TAILS: Final[Mapping[ReceptionStatusValues, str]] = MappingProxyType(
    {status: f'","status":"{status.value}"}}' for status in ReceptionStatusValues}
)
"""The end of a ReceptionStatus frame without diagnostic_label, per status: the answer to a message
is written from these two strings (what the codec writes for it; tests compare the two)."""


def _message_id(message: S2Message) -> str:
    ident: str = getattr(message, "message_id", "")
    return ident


@dataclass(frozen=True, slots=True)
class _Traits:
    """What the receive path needs to know of one message class, worked out once per class so a
    message that no engine rule concerns (PowerMeasurement, a status) is passed by flags."""

    name: str
    """The wire message_type."""
    revocable: bool
    instruction: bool
    judged: bool
    """``_judge`` has a rule for it (SelectControlType, InstructionStatusUpdate, RevokeObject)."""
    handshake: bool
    """Handshake or HandshakeResponse: may decide whether the handshake can complete."""
    owned: bool
    """Handshake, HandshakeResponse, SessionRequest: the application handler is not consulted."""
    acts: bool
    """Accepting it changes the session beyond the answer (a branch of ``_accept``)."""
    allowed: dict[tuple[EnergyManagementRole, State, ControlType | None], Finding | None]
    """The phase table's verdict per sender, state and active control type (``check_allowed``
    depends on nothing else; at most a few dozen keys)."""


_TRAITS: dict[type[S2Message], _Traits] = {}
_UNKNOWN: Final = object()


def _traits(cls: type[S2Message]) -> _Traits:
    traits = _TRAITS.get(cls)
    if traits is None:
        name = message_type_of(cls)
        traits = _TRAITS[cls] = _Traits(
            name=name,
            revocable=MESSAGE_INFO[name].revocable,
            instruction=name in INSTRUCTION_TYPES,
            judged=issubclass(cls, _JUDGED),
            handshake=issubclass(cls, (Handshake, HandshakeResponse)),
            owned=issubclass(cls, _SESSION_MESSAGES),
            acts=issubclass(cls, _ACTING),
            allowed={},
        )
    return traits


class State(Enum):
    """Where a session is in its life, like websockets' ``State``; :data:`ALLOWS` says what each
    state permits, so no method reads a combination of flags."""

    NEW = "new"
    """Created; nothing was sent or received yet."""
    HANDSHAKE = "handshake"
    """Our Handshake is queued; the handshake has not completed."""
    OPEN = "open"
    """Handshake done: the application's messages flow (the phase table's INITIALIZED)."""
    CLOSING = "closing"
    """A SessionRequest was sent or received; the last answers are awaited up to ``close_grace``."""
    CLOSED = "closed"

    # members are singletons compared by identity: hashing them by identity (in C) instead of by
    # name (a Python call) makes the ALLOWS lookups on every received message cheap
    __hash__ = object.__hash__


@dataclass(frozen=True, slots=True)
class Allows:
    """What one :class:`State` permits."""

    phase: Phase
    """The phase table's column for this state."""
    send: bool
    """The application may send (``send`` raises SessionClosedError otherwise)."""
    timers: bool
    """Acknowledgement, retry and handshake timers fire (while closing only the grace does)."""
    answers_act: bool
    """A ReceptionStatus may still act: retry a TEMPORARY_ERROR, switch the control type."""


ALLOWS: Final[Mapping[State, Allows]] = MappingProxyType(
    {
        State.NEW: Allows(Phase.HANDSHAKE, send=True, timers=True, answers_act=True),
        State.HANDSHAKE: Allows(Phase.HANDSHAKE, send=True, timers=True, answers_act=True),
        State.OPEN: Allows(Phase.INITIALIZED, send=True, timers=True, answers_act=True),
        State.CLOSING: Allows(Phase.CLOSED, send=False, timers=False, answers_act=False),
        State.CLOSED: Allows(Phase.CLOSED, send=False, timers=False, answers_act=False),
    }
)
"""The one table of what each session state allows."""


@lru_cache(maxsize=64)
def _normalized_versions(versions: tuple[str, ...]) -> tuple[str, ...]:
    """The versions in order of preference, normalized and without repeats: one shared tuple per
    configuration rather than one per session."""
    return tuple(dict.fromkeys(get_profile(v).version for v in versions))


class Session:
    """One S2 session (one WebSocket connection), as a CEM or as an RM.

    Attributes a transport or application reads: ``role``, ``state`` (:class:`State`; ``phase``,
    ``started``, ``closing`` and ``closed`` are read from it through :data:`ALLOWS`),
    ``selected_version`` (normalized, None before the handshake), ``active_control_type``
    (None when none is active), ``peer_details`` (the RM's latest ResourceManagerDetails, on
    the CEM side), ``details`` (on the RM side, the ResourceManagerDetails it sent),
    ``closing`` (a SessionRequest was sent or received and the last answers are awaited; see
    the module docstring), ``closed``,
    ``close_reason`` (set once the session is closing or closed), ``terminated`` and
    ``reconnect_requested``.

    Constructor knobs: ``versions`` in order of preference (the CEM picks its first one the RM
    offers); ``checker`` the rule catalogue's SessionContext (optional); ``handler`` the
    application's synchronous hook; ``ack_timeout`` how long to wait for a ReceptionStatus
    before ``AckTimeout``; ``retry`` for TEMPORARY_ERROR answers; ``max_outstanding`` how many of
    the application's messages may await an answer (``send`` refuses beyond; the engine's own
    Handshake/HandshakeResponse/TERMINATE are not counted); ``max_remembered`` the size of each
    LRU memory (answered ids, timed-out messages, instructions, revocable objects);
    ``handshake_timeout`` after which an unfinished handshake ends the session (None: never);
    ``close_grace`` how long a session that sent SessionRequest waits for its ReceptionStatus,
    or one that received it waits for the answers to what it sent before, before it closes anyway
    (zero: close at once, without waiting).
    Events and frames accumulate until drained: a transport drains both after every call.
    """

    # one instance per connection, tens of thousands on a CEM: slots instead of a per-instance dict
    # (with more than 30 attributes the dict stops sharing its keys and costs over a KiB each)
    __slots__ = (
        "_answered",
        "_close_deadline",
        "_closing_by_peer",
        "_closing_reconnect",
        "_closing_request",
        "_codec",
        "_events",
        "_frames",
        "_handshake_deadline",
        "_in_dir",
        "_instructions",
        "_ledger",
        "_ours",
        "_out_dir",
        "_theirs",
        "ack_timeout",
        "active_control_type",
        "checker",
        "close_grace",
        "close_reason",
        "details",
        "handler",
        "handshake_timeout",
        "max_outstanding",
        "peer_details",
        "peer_role",
        "peer_versions",
        "reconnect_requested",
        "retry",
        "role",
        "selected_version",
        "state",
        "terminated",
        "versions",
    )

    def __init__(
        self,
        role: EnergyManagementRole,
        *,
        versions: Sequence[str] = (DEFAULT_PROFILE.version,),
        checker: Checker | None = None,
        handler: Handler | None = None,
        ack_timeout: timedelta = timedelta(seconds=5),
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, shared safely
        max_outstanding: int = 1000,
        max_remembered: int = 4096,
        handshake_timeout: timedelta | None = timedelta(seconds=30),
        close_grace: timedelta = timedelta(seconds=2),
    ) -> None:
        if isinstance(versions, str) or not versions:
            raise ValueError("versions must be a non-empty sequence of protocol version strings")
        if max_outstanding < 1:
            raise ValueError("max_outstanding must be at least 1")
        if close_grace < timedelta(0):
            raise ValueError("close_grace must not be negative")
        self.role = role
        self.peer_role = RM if role is CEM else CEM
        self.versions: tuple[str, ...] = _normalized_versions(tuple(versions))
        self.checker = checker
        self.handler = handler
        self.ack_timeout = ack_timeout
        self.retry = retry
        self.max_outstanding = max_outstanding
        self.handshake_timeout = handshake_timeout
        self.close_grace = close_grace

        self.state = State.NEW
        self.selected_version: str | None = None
        self.active_control_type: ControlType | None = None
        self.peer_details: ResourceManagerDetails | None = None
        self.details: ResourceManagerDetails | None = None
        self.peer_versions: tuple[str, ...] | None = None
        self.close_reason: str | None = None
        self.terminated = False
        """A SessionRequest TERMINATE ended the session (either side sent it): a client should not
        reconnect at once."""
        self.reconnect_requested = False
        """The peer sent SessionRequest RECONNECT: a client should connect again now."""

        self._out_dir = direction_of(role)
        self._in_dir = direction_of(self.peer_role)
        self._codec: Codec = get_codec(self.versions[0])
        self._handshake_deadline: datetime | None = None
        self._answered: str | None = None  # the subject of the last answer queued, while a frame is judged
        self._closing_request: str | None = None
        self._close_deadline: datetime | None = None
        self._closing_by_peer = False
        self._closing_reconnect = False
        self._frames: list[str] = []
        self._events: list[Event] = []
        self._ledger = Ledger(max_remembered=max_remembered)
        self._instructions = InstructionTracker(max_remembered)
        self._ours = ObjectRegistry(max_remembered)
        self._theirs = ObjectRegistry(max_remembered)

    @property
    def phase(self) -> Phase:
        """The phase table's column for the present state."""
        return ALLOWS[self.state].phase

    @property
    def started(self) -> bool:
        """Our Handshake was queued (or the session closed before it could be)."""
        return self.state is not State.NEW

    @property
    def closing(self) -> bool:
        """A SessionRequest was sent (we wait for its answer) or received (we wait for the answers
        to what we sent before it), up to ``close_grace``; ``closed`` follows."""
        return self.state is State.CLOSING

    @property
    def closed(self) -> bool:
        return self.state is State.CLOSED

    # --- the transport's API --------------------------------------------------------------

    def start(self, now: datetime) -> None:
        """The connection is open: queue our Handshake (idempotent)."""
        if self.state is not State.NEW:
            return
        self.state = State.HANDSHAKE
        if self.handshake_timeout is not None:
            self._handshake_deadline = now + self.handshake_timeout
        self._queue_own(
            Handshake(message_id=new_id(), role=self.role, supported_protocol_versions=list(self.versions)), now
        )

    def receive(self, data: str | bytes, now: datetime) -> None:
        """Handle one frame from the peer; its answer (if any) is queued before this returns."""
        if self.state is State.NEW:
            self.start(now)
        try:
            message = self._codec.decode(data)
        except DecodeError as exc:
            self._on_undecodable(data, exc, now)
            return
        except Exception as exc:  # a decoder fault must not end the session: refuse the frame
            self._on_undecodable(data, InvalidData(f"the frame could not be decoded ({type(exc).__name__})"), now)
            return
        self._answered = None
        try:
            if isinstance(message, ReceptionStatus):
                self._on_reception_status(message, now)
            else:
                self._on_message(message, data, now)
        except Exception as exc:  # a fault of ours while judging must not end the session
            self._on_fault(message, exc, now)

    def send(self, message: S2Message, now: datetime) -> None:
        """Validate and queue one of our messages, or raise and send nothing.

        Raises EncodeError (schema), InvalidContent (phase table, engine rules; RuleViolation
        for checker errors), SessionClosedError (closed or closing), OutstandingLimitError. A
        SessionRequest, once queued, makes the session ``closing`` (see ``close``).
        """
        traits = _TRAITS.get(type(message)) or _traits(type(message))
        mtype = traits.name
        if not ALLOWS[self.state].send:
            raise SessionClosedError(f"the session is {self.state.value} ({self.close_reason}); {mtype} was not sent")
        if isinstance(message, _ENGINE_OWNED):
            raise InvalidContent("S2-SESSION-101", "/message_type", f"{mtype} is written by the session engine itself")
        frame = self._codec.encode_checked(message).decode()
        message_id = _message_id(message)
        if message_id in self._ledger:
            raise InvalidContent(
                "S2-SESSION-102", "/message_id", f"message_id {message_id!r} still awaits its ReceptionStatus"
            )
        if len(self._ledger) >= self.max_outstanding:
            raise OutstandingLimitError(
                f"{len(self._ledger)} messages await a ReceptionStatus (limit {self.max_outstanding}); "
                f"{mtype} was not sent"
            )
        refusal = self._allowed(traits, self.role)
        if refusal is not None:
            raise refusal.error()
        if traits.judged:
            for problem in self._judge(message, self.role):  # strict on what we write: warnings refuse too
                raise problem.error()
        warnings: tuple[str, ...] = ()
        if self.checker is not None:
            errors, warnings = _split(self.checker.check(message, self._out_dir, now))
            if errors:
                raise _violation(errors)
        if self.state is State.NEW:
            self.start(now)  # keeps our Handshake ahead of this message
        self._frames.append(frame)
        self._ledger.add(message_id, message, frame, now + self.ack_timeout)
        if self.checker is not None:
            self._checker_apply(message, self._out_dir, now)
        if warnings:
            self._events.append(ContentWarning(message, self._out_dir, warnings))
        self._after_sent(message, traits, now)

    def data_to_send(self) -> list[str]:
        """Drain the text frames to write, in order."""
        frames, self._frames = self._frames, []
        return frames

    def events(self) -> list[Event]:
        """Drain what happened since the last call, in order."""
        events, self._events = self._events, []
        return events

    def next_wakeup(self) -> datetime | None:
        """When ``handle_timeout`` should run next (None: no timer pending)."""
        if not ALLOWS[self.state].timers:
            return self._close_deadline  # None once closed
        deadline = self._ledger.next_deadline()
        hs = self._handshake_deadline if self.phase is Phase.HANDSHAKE else None
        if deadline is None or (hs is not None and hs < deadline):
            return hs
        return deadline

    def handle_timeout(self, now: datetime) -> None:
        """Fire every timer due at ``now``: AckTimeout, retries, the handshake deadline, and
        while closing only the end of ``close_grace``."""
        if not ALLOWS[self.state].timers:
            if self._close_deadline is not None and now >= self._close_deadline:
                self._finish_closing()
            return
        hs = self._handshake_deadline
        if self.phase is Phase.HANDSHAKE and hs is not None and now >= hs:
            self.close(f"the handshake did not complete within {self.handshake_timeout}", now, terminate=True)
            return
        for entry in self._ledger.pop_due(now):
            if entry.waiting is Waiting.ACK:
                self._events.append(AckTimeout(entry.message))
            else:
                self._resend(entry, now)

    def close(self, reason: str, now: datetime, *, terminate: bool = False) -> None:
        """End the session with ``reason``.

        With ``terminate`` (and once started) queue SessionRequest TERMINATE (reason as label)
        and become ``closing``: closed when its ReceptionStatus arrives or ``close_grace`` has
        passed. Without, close at once; that also cuts short a session that is closing (keeping
        its first reason), for a transport whose socket is gone. Further calls are no-ops.
        """
        if self.closed:
            return
        if self.closing:
            if not terminate:
                self._finish_closing()
            return
        if terminate and self.started:
            request = SessionRequest(message_id=new_id(), request=SessionRequestType.TERMINATE, diagnostic_label=reason)
            self._queue_own(request, now)
            self.terminated = True
            self._start_closing(request, reason, now)
            return
        self._mark_closed(reason, by_peer=False)

    # --- introspection ----------------------------------------------------------------------

    def instruction_status(self, instruction_id: str) -> InstructionStatus | None:
        """The last status the RM reported for an instruction (None: unknown or none yet)."""
        return self._instructions.get(instruction_id)

    def sizes(self) -> dict[str, int]:
        """Sizes of the internal structures; each is bounded (``max_outstanding``/``max_remembered``)."""
        return {
            **self._ledger.sizes(),
            "instructions": len(self._instructions),
            "objects_ours": len(self._ours),
            "objects_theirs": len(self._theirs),
        }

    # --- receiving ----------------------------------------------------------------------------

    def _on_undecodable(self, data: str | bytes, exc: DecodeError, now: datetime) -> None:
        if isinstance(exc, InvalidMessage) and exc.message_type == "ReceptionStatus":
            self._events.append(MalformedReceptionStatus(exc.diagnostic, data))  # never answered
            return
        subject = exc.message_id or NIL_ID
        self._reject(exc, data, subject, None, now)

    def _on_message(self, message: S2Message, raw: str | bytes, now: datetime) -> None:
        subject = _message_id(message)
        traits = _TRAITS.get(type(message)) or _traits(type(message))
        if self.state is State.CLOSING and self._closing_request is not None:
            # it crossed our SessionRequest: the peer sent it before it could know, so it is judged as
            # if it had arrived just before (a status it reports is not lost); a Handshake or a
            # SessionRequest of its own is acknowledged without being acted on
            if traits.owned:
                self._answer(subject, RS.OK, None, now)
                return
            phase = Phase.INITIALIZED if self.selected_version is not None else Phase.HANDSHAKE
            refusal = check_allowed(traits.name, self.peer_role, phase, self.active_control_type)
        else:
            refusal = self._allowed(traits, self.peer_role)
        if refusal is not None:
            self._reject(refusal.error(), raw, subject, message, now)
            return
        decisive = traits.handshake and self._decides_handshake(message)
        error: StatusError | None = self._judge_handshake(message) if decisive else None
        engine_warnings: tuple[str, ...] = ()
        if traits.judged:
            problems = self._judge(message, self.peer_role)
            if problems:
                engine_warnings = tuple(p.diagnostic for p in problems if not p.is_error)
                if error is None:
                    error = next((p.error() for p in problems if p.is_error), None)
        warnings: tuple[str, ...] = ()
        if error is None and self.checker is not None:
            error, warnings = self._check_incoming(message, now)
        if error is None and self.handler is not None and not traits.owned:
            error = self._call_handler(message)
        if error is None:
            self._accept(message, subject, engine_warnings + warnings if engine_warnings else warnings, now, traits)
            return
        self._reject(error, raw, subject, message, now)
        if decisive and error.status is RS.INVALID_CONTENT and not self.closed:
            # the handshake cannot complete any more: end cleanly instead of waiting for a timeout
            self.close(f"handshake failed: {error.diagnostic}", now, terminate=True)

    def _allowed(self, traits: _Traits, sender: EnergyManagementRole) -> Finding | None:
        """The phase table's verdict on ``sender`` sending a message of this class now (cached per state)."""
        key = (sender, self.state, self.active_control_type)
        verdict = traits.allowed.get(key, _UNKNOWN)
        if verdict is _UNKNOWN:
            verdict = check_allowed(traits.name, sender, ALLOWS[self.state].phase, self.active_control_type)
            traits.allowed[key] = verdict
        return verdict  # type: ignore[return-value]

    def _on_fault(self, message: S2Message, exc: Exception, now: datetime) -> None:
        """Judging ``message`` raised (a bug on our side, or input no rule foresaw): report it, and
        answer TEMPORARY_ERROR naming the message unless it was answered already."""
        self._events.append(CallbackFailed("engine", message, exc))
        if isinstance(message, ReceptionStatus):
            return  # never answered
        subject = _message_id(message)
        if self._answered != subject:
            mtype = message_type_of(type(message))
            self._answer(
                subject, RS.TEMPORARY_ERROR, f"the receiver failed to judge the {mtype} ({type(exc).__name__})", now
            )

    def _decides_handshake(self, message: S2Message) -> bool:
        """The peer's Handshake (a CEM answers it) or the HandshakeResponse (for an RM): refusing
        either means the handshake can never complete. A Handshake with the wrong role too."""
        if isinstance(message, Handshake):
            return self.role is CEM or message.role is not self.peer_role
        return isinstance(message, HandshakeResponse)

    def _judge_handshake(self, message: S2Message) -> InvalidContent | None:
        """Role and version checks; a failure here ends the session (see ``_decides_handshake``)."""
        if isinstance(message, HandshakeResponse):  # we are the RM (the phase table saw to it)
            lists = {RM: self.versions, CEM: self.peer_versions}
            wrong = judge_selected_version(message.selected_protocol_version, lists)
            return None if wrong is None else wrong.error()
        assert isinstance(message, Handshake)
        wrong = judge_handshake_role(message.role, self.peer_role) or judge_rm_versions(message)
        if wrong is not None:
            return wrong.error()
        offered = message.supported_protocol_versions
        assert offered is not UNSET  # judge_rm_versions: the peer is an RM and lists them
        if self._negotiate(offered) is None:
            reason = f"no common protocol version: the RM supports {offered}, this CEM {list(self.versions)}"
            return InvalidContent("S2-SESSION-103", "/supported_protocol_versions", reason)
        return None

    def _negotiate(self, offered: Sequence[str]) -> tuple[str, str] | None:
        """Our most preferred version the RM also offers: (normalized, the RM's spelling)."""
        theirs = {normalize_version(v): v for v in reversed(offered)}
        for version in self.versions:
            if version in theirs:
                return version, theirs[version]
        return None

    def _check_incoming(self, message: S2Message, now: datetime) -> tuple[StatusError | None, tuple[str, ...]]:
        if self.checker is None:
            return None, ()
        try:
            findings = self.checker.check(message, self._in_dir, now)
        except Exception as exc:
            self._events.append(CallbackFailed("checker", message, exc))
            return TemporaryError(f"the receiver could not check the message ({type(exc).__name__})"), ()
        if not findings:  # the common case
            return None, ()
        errors, warnings = _split(findings)
        return (_violation(errors) if errors else None), warnings

    def _call_handler(self, message: S2Message) -> StatusError | None:
        assert self.handler is not None
        try:
            self.handler(message)
        except StatusError as exc:
            return exc
        except Exception as exc:
            self._events.append(CallbackFailed("handler", message, exc))
            return TemporaryError(f"the receiver failed to process the message ({type(exc).__name__})")
        return None

    def _reject(
        self, error: StatusError, raw: str | bytes, subject: str, message: S2Message | None, now: datetime
    ) -> None:
        diagnostic = error.diagnostic[:_MAX_LABEL]
        self._answer(subject, error.status, diagnostic, now)
        self._events.append(RejectedIncoming(error.status, diagnostic, raw, subject, message))
        if error.status is RS.PERMANENT_ERROR:
            self._mark_closed(f"we answered PERMANENT_ERROR: {diagnostic}", by_peer=False)

    def _accept(
        self, message: S2Message, subject: str, warnings: tuple[str, ...], now: datetime, traits: _Traits
    ) -> None:
        self._answer(subject, RS.OK, None, now)
        if self.checker is not None:
            self._checker_apply(message, self._in_dir, now)
        if warnings:
            self._events.append(ContentWarning(message, self._in_dir, warnings))
        self._events.append(MessageReceived(message))
        if traits.revocable:
            self._theirs.add(traits.name, object_id_of(message))
        if traits.instruction:
            self._instructions.register(object_id_of(message))
        if not traits.acts:
            return
        if isinstance(message, Handshake):
            self.peer_versions = (
                shared_versions(tuple(message.supported_protocol_versions))
                if message.supported_protocol_versions is not UNSET
                else None
            )
            if self.role is CEM:
                chosen = self._negotiate(self.peer_versions or ())
                assert chosen is not None  # _judge_handshake refused the Handshake otherwise
                version, spelling = chosen
                self._queue_own(HandshakeResponse(message_id=new_id(), selected_protocol_version=spelling), now)
                self._complete_handshake(version)
        elif isinstance(message, HandshakeResponse):
            self._complete_handshake(normalize_version(message.selected_protocol_version))
        elif isinstance(message, ResourceManagerDetails):
            self.peer_details = message
        elif isinstance(message, SelectControlType):
            self._activate(message.control_type)
        elif isinstance(message, InstructionStatusUpdate):
            self._record_status(message)
        elif isinstance(message, RevokeObject):
            self._theirs.revoke(message.object_type.value, message.object_id)
            self._events.append(ObjectRevoked(message.object_type, message.object_id, by_peer=True))
        elif isinstance(message, SessionRequest):
            self._events.append(SessionRequestReceived(message))
            reconnect = message.request is SessionRequestType.RECONNECT
            self.terminated = not reconnect
            self.reconnect_requested = reconnect
            label = f": {message.diagnostic_label}" if message.diagnostic_label is not UNSET else ""
            reason = f"the peer sent SessionRequest {message.request.value}{label}"
            if self.close_grace > timedelta(0) and self._drop_retries(reason):
                self._enter_closing(reason, now, by_peer=True, reconnect=reconnect)
            else:
                self._mark_closed(reason, True, reconnect)

    def _on_reception_status(self, status: ReceptionStatus, now: datetime) -> None:
        if self.checker is not None:
            self._checker_apply(status, self._in_dir, now)
        subject = status.subject_message_id
        kind, entry, message = self._ledger.lookup(subject)
        if kind is Lookup.AWAITING and entry is not None:
            self._events.append(ReceptionStatusReceived(subject, status, entry.message))
            if status.status is RS.TEMPORARY_ERROR and ALLOWS[self.state].answers_act:
                delay = self.retry.delay(entry.attempts)
                if delay is not None:
                    self._ledger.wait_retry(entry, now + delay)
                    return
                self._ledger.finish(subject)
                reason = f"still TEMPORARY_ERROR after {entry.attempts} attempt(s); the retry policy is exhausted"
                self._events.append(RetryGivenUp(entry.message, entry.attempts, reason))
                return
            self._ledger.finish(subject)
            self._on_final_answer(entry.message, status)
        elif kind is Lookup.TIMED_OUT and message is not None:
            self._events.append(ReceptionStatusReceived(subject, status, message, late=True))
            self._ledger.finish(subject)
            self._on_final_answer(message, status)
        elif kind is Lookup.UNKNOWN:
            self._events.append(UnsolicitedReceptionStatus(status))
        else:
            self._events.append(DuplicateReceptionStatus(status))
        if self.state is State.CLOSING:
            if self._closing_request is None:
                if not self._ledger:
                    self._finish_closing()  # the last answer the peer owed us arrived
            elif subject == self._closing_request and kind is not Lookup.UNKNOWN:
                self._finish_closing()  # any answer to our SessionRequest: the peer has heard us

    def _on_final_answer(self, message: S2Message, status: ReceptionStatus) -> None:
        if not ALLOWS[self.state].answers_act:  # closed or closing: an answer changes nothing any more
            return
        if status.status is RS.OK and isinstance(message, SelectControlType) and self.role is CEM:
            self._activate(message.control_type)  # the RM switched when it answered OK
        elif status.status is RS.PERMANENT_ERROR:
            label = f": {status.diagnostic_label}" if status.diagnostic_label is not UNSET else ""
            mtype = message_type_of(type(message))
            self._mark_closed(f"the peer answered PERMANENT_ERROR to {mtype}{label}", by_peer=True)

    # --- shared by both directions -------------------------------------------------------------

    def _judge(self, message: S2Message, sender: EnergyManagementRole) -> list[Finding]:
        """The engine's own cross-message rules (catalogue ids; see policy.CATALOGUE_RULES_USED)."""
        if isinstance(message, SelectControlType):
            return judge_select(message.control_type, self.details if self.role is RM else self.peer_details)
        if isinstance(message, InstructionStatusUpdate):
            problem = self._instructions.check(message.instruction_id, message.status_type)
            return [] if problem is None else [problem]
        if isinstance(message, RevokeObject):
            kind, ident = message.object_type.value, message.object_id
            published = (self._ours if sender is self.role else self._theirs).state(kind, ident)
            finished = kind in INSTRUCTION_TYPES and self._instructions.is_finished(ident)
            ended = self._instructions.get(ident) if finished else None
            wrong = judge_revoke(sender, kind, ident, published, ended)
            return [] if wrong is None else [wrong]
        return []

    def _after_sent(self, message: S2Message, traits: _Traits, now: datetime) -> None:
        if traits.revocable:
            self._ours.add(traits.name, object_id_of(message))
        if traits.instruction:
            self._instructions.register(object_id_of(message))
        if not traits.acts:
            return
        if isinstance(message, ResourceManagerDetails):
            self.details = message
        elif isinstance(message, InstructionStatusUpdate):
            self._record_status(message)
        elif isinstance(message, RevokeObject):
            self._ours.revoke(message.object_type.value, message.object_id)
            self._events.append(ObjectRevoked(message.object_type, message.object_id, by_peer=False))
        elif isinstance(message, SessionRequest):
            self.terminated = message.request is SessionRequestType.TERMINATE
            label = f": {message.diagnostic_label}" if message.diagnostic_label is not UNSET else ""
            self._start_closing(message, f"we sent SessionRequest {message.request.value}{label}", now)

    def _record_status(self, update: InstructionStatusUpdate) -> None:
        changed, previous = self._instructions.update(update.instruction_id, update.status_type)
        if changed:
            self._events.append(InstructionStatusChanged(update.instruction_id, update.status_type, previous))

    def _activate(self, control_type: ControlType) -> None:
        """Switch (or deactivate with NO_SELECTION); the phase table then follows the new type."""
        self.active_control_type = None if control_type is ControlType.NO_SELECTION else control_type
        self._events.append(ControlTypeSelected(control_type))

    def _complete_handshake(self, version: str) -> None:
        self.selected_version = version
        self._codec = get_codec(version)
        self.state = State.OPEN
        self._handshake_deadline = None
        self._events.append(HandshakeCompleted(version))

    # --- writing -------------------------------------------------------------------------------

    def _answer(self, subject: str, status: ReceptionStatusValues, diagnostic: str | None, now: datetime) -> None:
        self._answered = subject
        if diagnostic is None and _ID_RE.match(subject):
            # the hot path: an id needs no JSON escaping, so the frame is written from a template
            self._frames.append(_STATUS_HEAD + subject + _STATUS_TAILS[status])
            if self.checker is None:
                return
            answer = ReceptionStatus(subject_message_id=subject, status=status)
        else:
            answer = ReceptionStatus(subject_message_id=subject, status=status, diagnostic_label=diagnostic or UNSET)
            self._frames.append(self._codec.encode(answer).decode())
        self._checker_apply(answer, self._out_dir, now)

    def _queue_own(self, message: S2Message, now: datetime) -> None:
        """Queue a message the engine writes itself (Handshake, HandshakeResponse, TERMINATE)."""
        frame = self._codec.encode_checked(message).decode()
        self._frames.append(frame)
        self._ledger.add(_message_id(message), message, frame, now + self.ack_timeout)
        self._checker_apply(message, self._out_dir, now)

    def _resend(self, entry: Entry, now: datetime) -> None:
        mtype = message_type_of(type(entry.message))
        refusal = check_allowed(mtype, self.role, self.phase, self.active_control_type)
        if refusal is not None:
            self._ledger.drop(entry)
            self._events.append(RetryGivenUp(entry.message, entry.attempts, refusal.reason))
            return
        self._frames.append(entry.frame)
        self._ledger.resent(entry, now + self.ack_timeout)
        self._events.append(Retried(entry.message, entry.attempts))

    def _checker_apply(self, message: S2Message, direction: str, now: datetime) -> None:
        if self.checker is None:
            return
        try:
            self.checker.apply(message, direction, now)
        except Exception as exc:
            self._events.append(CallbackFailed("checker.apply", message, exc))

    def _start_closing(self, request: SessionRequest, reason: str, now: datetime) -> None:
        """Our SessionRequest is queued: accept nothing new, wait for its answer until the grace ends."""
        if self.close_grace <= timedelta(0):
            self._mark_closed(reason, by_peer=False)
            return
        self._enter_closing(reason, now, request=request.message_id)

    def _drop_retries(self, reason: str) -> bool:
        """The peer ended the session: forget messages waiting to be sent again (they may not be
        any more). Whether any message still awaits its answer."""
        awaiting = False
        for entry in self._ledger.outstanding():
            if entry.waiting is Waiting.RETRY:
                self._ledger.drop(entry)
                self._events.append(RetryGivenUp(entry.message, entry.attempts, reason))
            else:
                awaiting = True
        return awaiting

    def _enter_closing(
        self, reason: str, now: datetime, *, request: str | None = None, by_peer: bool = False, reconnect: bool = False
    ) -> None:
        """Accept nothing new and wait, up to the grace, for the answer to our SessionRequest
        (``request``) or, without one, for every answer the peer still owes us."""
        self.state = State.CLOSING
        self.close_reason = reason
        self._handshake_deadline = None
        self._closing_request = request
        self._closing_by_peer = by_peer
        self._closing_reconnect = reconnect
        self._close_deadline = now + self.close_grace

    def _finish_closing(self) -> None:
        reason = self.close_reason or "closed"
        self._mark_closed(reason, self._closing_by_peer, self._closing_reconnect)

    def _mark_closed(self, reason: str, by_peer: bool, reconnect: bool = False) -> None:
        if self.state is State.CLOSED:
            return
        self.state = State.CLOSED
        self.close_reason = reason
        self._handshake_deadline = None
        self._close_deadline = None
        self._events.append(SessionClosed(reason, by_peer, reconnect))


_SESSION_MESSAGES = (Handshake, HandshakeResponse, SessionRequest)
"""Owned by the engine: the application handler is not consulted about them."""
_JUDGED = (SelectControlType, InstructionStatusUpdate, RevokeObject)
"""The classes ``_judge`` has a rule for."""
_ACTING = (
    Handshake,
    HandshakeResponse,
    ResourceManagerDetails,
    SelectControlType,
    InstructionStatusUpdate,
    RevokeObject,
    SessionRequest,
)
"""The classes whose acceptance ``_accept`` acts on beyond the answer."""


def _split(findings: Sequence[Finding]) -> tuple[list[Finding], tuple[str, ...]]:
    if not findings:  # the common case: spare the two comprehensions
        return [], ()
    errors = [f for f in findings if f.severity == "error"]
    warnings = tuple(f.diagnostic for f in findings if f.severity != "error")
    return errors, warnings


def _violation(errors: Sequence[Finding]) -> RuleViolation:
    first = errors[0]
    return RuleViolation(first.rule, first.pointer, first.reason, diagnostics=tuple(f.diagnostic for f in errors))
