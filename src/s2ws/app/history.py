"""What a CEM keeps in its :class:`~s2ws.store.History`: fed from the session events on the loop's
thread, each call only queues a row for the writer thread.

Kept: every session (start, end, reason), each RM's details and active control type, every power
measurement, every instruction sent (with the plan it came from) and every status the RM reported
for it, refusals of instruction messages, and the messages that explain a plan or an instruction
(descriptions, statuses, forecasts, constraints, revocations). Not kept: the handshake and the
ReceptionStatus traffic, which ``--record`` transcripts hold.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from ..codec import encode
from ..messages.base import S2Message, message_type_of
from ..messages.common import (
    Handshake,
    HandshakeResponse,
    PowerMeasurement,
    ReceptionStatus,
    ResourceManagerDetails,
)
from ..messages.enums import ReceptionStatusValues
from ..session.events import (
    ControlTypeSelected,
    InstructionStatusChanged,
    MessageReceived,
    ReceptionStatusReceived,
)
from ..session.tracking import INSTRUCTION_TYPES
from ..store import History, InstructionRow
from .base import Clock, SessionHandle
from .describe import log_fault
from .observe import Observer

if TYPE_CHECKING:
    from .cem import CEM

__all__ = ["HistoryFeed"]

log = logging.getLogger("s2ws.app.history")

_ACCEPTED = (ReceptionStatusValues.OK, ReceptionStatusValues.TEMPORARY_ERROR)  # a retry may still succeed
_NOT_KEPT = (Handshake, HandshakeResponse, ReceptionStatus, PowerMeasurement, ResourceManagerDetails)


def _text(message: S2Message) -> str:
    return encode(message).decode()


def _resource(handle: SessionHandle) -> str | None:
    details = handle.resource_details
    return None if details is None else details.resource_id


class HistoryFeed(Observer):
    """Connects a CEM to a :class:`History`: ``HistoryFeed(history, clock).attach(cem)``.

    On attach it reads what the history already knows: ``known`` maps every kept instruction id
    to its last status (so a restarted CEM knows how its instructions ended), ``unfinished`` lists
    the instructions of earlier runs that had not finished when the CEM stopped.
    """

    def __init__(self, history: History, clock: Clock) -> None:
        self.history = history
        self.clock = clock
        self.known: dict[str, str | None] = {}
        self.unfinished: list[InstructionRow] = []

    def attach(self, cem: CEM) -> HistoryFeed:
        self.history.flush()  # what was queued before counts too
        self.known = self.history.last_statuses()
        self.unfinished = self.history.instructions(unfinished=True)
        cem.observers.append(self)
        cem.add_listener(self.event)
        return self

    # --- Observer: session start and end --------------------------------------------------------

    def session_started(self, session: str, role: str, peer: str | None) -> None:
        self.history.record_session_started(session, role, peer, self.clock())

    def session_ended(self, session: str, reason: str) -> None:
        self.history.record_session_ended(session, reason, self.clock())

    # --- session events -------------------------------------------------------------------------

    def event(self, handle: SessionHandle, event: object) -> None:
        try:
            self._event(handle, event, self.clock())
        except Exception as exc:  # the history must never take a session down (nor flood the log)
            kind = type(event).__name__
            log_fault(log, f"{kind} {type(exc).__name__}", exc, "session %s: not recorded: %s", handle.id[:8], kind)

    def _event(self, handle: SessionHandle, event: object, now: datetime) -> None:
        history = self.history
        if isinstance(event, MessageReceived):
            message = event.message
            if isinstance(message, PowerMeasurement):
                resource = _resource(handle)
                if resource is not None:
                    values = [(v.commodity_quantity.value, v.value) for v in message.values]
                    history.record_measurement(resource, handle.id, message.measurement_timestamp, values)
            elif isinstance(message, ResourceManagerDetails):
                name = message.name if isinstance(message.name, str) else None
                history.record_device(handle.id, message.resource_id, name, _text(message), now)
            elif not isinstance(message, _NOT_KEPT):
                self.message(handle, message, "rm>cem", now)
        elif isinstance(event, InstructionStatusChanged):
            history.record_status(event.instruction_id, event.status.value, now)
            self.known[event.instruction_id] = event.status.value
        elif isinstance(event, ControlTypeSelected):
            history.record_control_type(handle.id, _resource(handle), event.control_type.value, now)
        elif isinstance(event, ReceptionStatusReceived) and event.status.status not in _ACCEPTED:
            sent = event.message
            if sent is not None and message_type_of(type(sent)) in INSTRUCTION_TYPES:
                ident = str(getattr(sent, "id", ""))
                label = event.status.diagnostic_label
                diagnostic = event.status.status.value + (f": {label}" if isinstance(label, str) else "")
                history.record_refused(ident, diagnostic, now)
                self.known[ident] = "refused"

    # --- what the CEM did -------------------------------------------------------------------------

    def instruction_sent(self, handle: SessionHandle, message: S2Message, plan_id: int | None = None) -> None:
        """``message`` (an instruction) went out to ``handle``'s RM."""
        ident = str(getattr(message, "id", ""))
        when = getattr(message, "execution_time", None)
        self.history.record_instruction(
            ident,
            handle.id,
            _resource(handle),
            message_type_of(type(message)),
            _text(message),
            self.clock(),
            when if isinstance(when, datetime) else None,
            plan_id,
        )
        self.known[ident] = None

    def message(self, handle: SessionHandle, message: S2Message, direction: str, now: datetime | None = None) -> None:
        """Keep ``message`` to explain what was planned or instructed (a revocation, a description)."""
        ident = getattr(message, "message_id", None)
        self.history.record_message(
            handle.id,
            _resource(handle),
            now or self.clock(),
            direction,
            message_type_of(type(message)),
            ident if isinstance(ident, str) else None,
            _text(message),
        )
