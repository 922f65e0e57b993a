"""What the CEM and the RM applications share: :class:`AppBase` builds one engine and one
:class:`~s2ws.app.handle.SessionHandle` per connection and routes the transport's events to them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from ..messages.base import S2Message, new_id
from ..messages.enums import EnergyManagementRole
from ..messages.profiles import DEFAULT_PROFILE
from ..rules.context import SessionContext
from ..session.events import SessionClosed
from ..session.policy import RetryPolicy
from ..transport.driver import utc_now
from .clock import Clock
from .describe import log_fault
from .handle import SessionHandle
from .handlers import Dispatcher
from .observe import AppSession, Observer

if TYPE_CHECKING:
    from ..transport.connection import Connection

__all__ = ["AppBase"]

log = logging.getLogger("s2ws.app")


class AppBase:
    """Builds one engine and one handle per connection, and routes the transport's events to them."""

    role: ClassVar[EnergyManagementRole]
    handle_class: ClassVar[type[SessionHandle]] = SessionHandle

    def __init__(
        self,
        *,
        versions: Sequence[str] = (DEFAULT_PROFILE.version,),
        ack_timeout: float = 5.0,
        retry: RetryPolicy | None = None,
        handshake_timeout: float | None = 30.0,
        close_grace: float = 2.0,
        observers: Sequence[Observer] = (),
        clock: Clock = utc_now,
    ) -> None:
        if close_grace < 0:
            raise ValueError("close_grace must not be negative")
        self.versions = tuple(versions)
        self.ack_timeout = ack_timeout
        self.retry = retry or RetryPolicy()
        self.handshake_timeout = handshake_timeout
        self.close_grace = close_grace
        self.observers: list[Observer] = list(observers)
        self.clock = clock
        self._dispatch = Dispatcher(self)
        self._handles: dict[Connection, SessionHandle] = {}
        self._listeners: list[Callable[[SessionHandle, object], None]] = []

    def add_listener(self, listener: Callable[[SessionHandle, object], None]) -> None:
        """Call ``listener(handle, event)`` for every session event, synchronously on the loop's thread,
        after the handle's own bookkeeping. It must be quick (it runs inside the transport's dispatch)."""
        self._listeners.append(listener)

    # --- for transports ------------------------------------------------------------------------

    def session_factory(self, connection: Connection) -> AppSession:
        """A fresh engine (and handle) for one connection; give this to any transport."""
        handle = self.handle_class(self, new_id(), connection, self.clock)
        handle.engine = AppSession(
            self.role,
            session_id=handle.id,
            observers=self.observers,
            clock=self.clock,
            versions=self.versions,
            checker=SessionContext(self.versions[0]),
            handler=handle._sync_handler,
            ack_timeout=timedelta(seconds=self.ack_timeout),
            retry=self.retry,
            handshake_timeout=None if self.handshake_timeout is None else timedelta(seconds=self.handshake_timeout),
            close_grace=timedelta(seconds=self.close_grace),
        )
        self._handles[connection] = handle
        for observer in self.observers:
            try:
                observer.session_started(handle.id, self.role.value, connection.remote)
            except Exception:
                log.exception("observer %r failed on session start", observer)
        self._on_session_created(handle)
        return handle.engine

    def on_transport_event(self, connection: Connection, event: object) -> None:
        """The transports' ``on_event``: routes an engine event to its session handle."""
        handle = self._handles.get(connection)
        if handle is None:
            log.debug("event for an unknown connection: %r", event)
            return
        try:
            handle._on_event(event)
        except Exception as exc:  # the listeners (the history) still get the event
            kind = f"{type(event).__name__} {type(exc).__name__}"
            log_fault(log, f"handle {kind}", exc, "session %s: handling %s failed", handle.id[:8], kind)
        for listener in self._listeners:
            try:
                listener(handle, event)
            except Exception as exc:
                kind = f"{type(event).__name__} {type(exc).__name__}"
                log_fault(log, f"listener {listener!r} {kind}", exc, "listener %r failed on %s", listener, kind)
        if isinstance(event, SessionClosed):
            self._handles.pop(connection, None)

    # --- for subclasses --------------------------------------------------------------------------

    def _judge_incoming(self, handle: SessionHandle, message: S2Message) -> None:
        """Inside the engine's receive: the synchronous handlers decide the answer (by raising)."""
        self._dispatch.call_sync(message, *self._handler_context(handle))

    def _handler_context(self, handle: SessionHandle) -> tuple[Any, ...]:
        """What handlers receive before the message: (handle,) on the CEM, () on the RM."""
        return ()

    def _on_session_created(self, handle: SessionHandle) -> None:
        """A handle was made (before the connection is up)."""

    def _on_session_event(self, handle: SessionHandle, event: object) -> None:
        """Role-specific reactions, synchronous; queue slow work on ``handle._worker``."""
        if isinstance(event, SessionClosed):
            for observer in self.observers:
                try:
                    observer.session_ended(handle.id, event.reason)
                except Exception:
                    log.exception("observer %r failed on session end", observer)

    def _close_observers(self) -> None:
        for observer in self.observers:
            try:
                observer.close()
            except Exception:
                log.exception("observer %r failed to close", observer)
