"""One S2 session as the application sees it, on either side: :class:`SessionHandle`.

The transport drives the sans-I/O engine and hands every event to :meth:`SessionHandle._on_event`
on the event loop's thread. That method only does quick bookkeeping (latest messages, instruction
statuses, answers awaited by ``send(wait=True)``) and queues the application's async code on the
session's worker, so the driver is never blocked by an application: the ReceptionStatus of every
received message is chosen and written before any application coroutine runs, which is what keeps
s2-python's 5-second wait and the deadlock of s2-ws-json issue #22 out of reach.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import SessionClosedError, SessionError
from ..messages.base import S2Message, message_type_of, new_id
from ..messages.common import (
    Handshake,
    HandshakeResponse,
    ReceptionStatus,
    ResourceManagerDetails,
    RevokeObject,
    SessionRequest,
)
from ..messages.enums import ControlType, EnergyManagementRole, ReceptionStatusValues, RevokableObjects
from ..session.events import (
    AckTimeout,
    CallbackFailed,
    ContentWarning,
    InstructionStatusChanged,
    MessageReceived,
    ReceptionStatusReceived,
    RejectedIncoming,
    RetryGivenUp,
    SessionClosed,
)
from ..session.tracking import INSTRUCTION_TYPES
from .clock import Clock
from .describe import log_fault
from .instructions import MAX_INSTRUCTIONS, InstructionRecord
from .observe import AppSession
from .worker import SessionWorker

if TYPE_CHECKING:
    from ..transport.connection import Connection
    from .application import AppBase

__all__ = ["SessionHandle"]

log = logging.getLogger("s2ws.app")

M = TypeVar("M", bound=S2Message)
T = TypeVar("T")

_ENGINE_MESSAGES = (Handshake, HandshakeResponse, SessionRequest)
"""The engine answers these without consulting the handler hook; handlers observe them afterwards."""
_RS = ReceptionStatusValues


class _Ack:
    """A ``send(wait=True)`` waiting for its final ReceptionStatus (retries included)."""

    __slots__ = ("future", "last")

    def __init__(self, future: asyncio.Future[ReceptionStatus]) -> None:
        self.future = future
        self.last: ReceptionStatus | None = None


def _settle(future: asyncio.Future[Any], result: Any = None, error: BaseException | None = None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class SessionHandle:
    """One S2 session as the application sees it, on either side.

    ``latest`` keeps the newest message of each class the peer sent; ``instructions`` the recent
    instructions with their statuses; ``state`` is free for the application (a planner's notes).
    Everything here is used on the event loop's thread.
    """

    def __init__(self, app: AppBase, session_id: str, connection: Connection, clock: Clock) -> None:
        self.app = app
        self.id = session_id
        self.connection = connection
        self.engine: AppSession  # set by AppBase right after construction
        self.latest: dict[type[S2Message], S2Message] = {}
        self.instructions: OrderedDict[str, InstructionRecord] = OrderedDict()
        self.state: dict[str, Any] = {}
        self.close_reason: str | None = None
        self._clock = clock
        self._acks: dict[str, _Ack] = {}
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._worker = SessionWorker(f"session {session_id[:8]}")
        self._closed = asyncio.Event()

    # --- what the application reads ------------------------------------------------------------

    @property
    def role(self) -> EnergyManagementRole:
        return self.engine.role

    @property
    def remote(self) -> str | None:
        return self.connection.remote

    @property
    def closed(self) -> bool:
        return self.engine.closed

    @property
    def active_control_type(self) -> ControlType | None:
        """The control type both sides switched to; None when none is active."""
        return self.engine.active_control_type

    @property
    def selected_version(self) -> str | None:
        return self.engine.selected_version

    @property
    def resource_details(self) -> ResourceManagerDetails | None:
        """The RM's ResourceManagerDetails (sent by the RM side, received by the CEM side)."""
        return self.engine.peer_details if self.role is EnergyManagementRole.CEM else self.engine.details

    def last(self, message_class: type[M]) -> M | None:
        """The newest message of ``message_class`` the peer sent and we accepted."""
        found = self.latest.get(message_class)
        return found if isinstance(found, message_class) else None

    @property
    def outstanding(self) -> list[InstructionRecord]:
        """Instructions that have not finished (no terminal status, not refused), oldest first."""
        return [record for record in self.instructions.values() if not record.finished]

    # --- what the application does -------------------------------------------------------------

    async def send(self, message: S2Message, *, wait: bool = False) -> ReceptionStatus | None:
        """Validate and send ``message``; raise and send nothing when it must not go out.

        Refusals: EncodeError (schema), InvalidContent / RuleViolation (the phase table, the
        engine's rules and the rule catalogue), SessionClosedError, OutstandingLimitError. With
        ``wait`` the peer's final ReceptionStatus is returned (after any TEMPORARY_ERROR retries);
        no answer within the engine's ``ack_timeout`` raises TimeoutError, the session ending
        first raises SessionClosedError.
        """
        now = self._clock()
        self.engine.send(message, now)
        mtype = message_type_of(type(message))
        if mtype in INSTRUCTION_TYPES:
            self._remember_instruction(InstructionRecord(message, now))
        future: asyncio.Future[ReceptionStatus] | None = None
        if wait:
            future = asyncio.get_running_loop().create_future()
            self._acks[getattr(message, "message_id", "")] = _Ack(future)
        self.connection.wakeup()
        return None if future is None else await future

    async def revoke(
        self, object_type: RevokableObjects, object_id: str, *, wait: bool = False
    ) -> ReceptionStatus | None:
        """Withdraw an object this side published (an instruction for the CEM; constraints,
        profiles and system descriptions for the RM, a description by its message_id)."""
        message = RevokeObject(message_id=new_id(), object_type=object_type, object_id=object_id)
        return await self.send(message, wait=wait)

    async def close(self, reason: str = "closed by the application", *, terminate: bool = True) -> None:
        """End the session: SessionRequest TERMINATE (by default), then close the WebSocket."""
        if not self.engine.closed:
            self.engine.close(reason, self._clock(), terminate=terminate)
        self.connection.close(1000, reason)
        await self._closed.wait()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Return once ``predicate()`` is true; it is checked now and after every session event.
        Raises SessionClosedError if the session ends first. Bound it with ``asyncio.timeout``."""
        if predicate():
            return
        if self._closed.is_set():
            raise SessionClosedError(f"the session is closed ({self.close_reason})")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future))
        try:
            await future
        finally:
            self._waiters = [(p, f) for p, f in self._waiters if f is not future]

    def spawn(self, coro: Coroutine[Any, Any, T], *, name: str | None = None) -> asyncio.Task[T]:
        """Run ``coro`` beside the worker; it is cancelled when the session ends, its errors logged."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def every(
        self, interval: float, func: Callable[[], Awaitable[object]], *, name: str | None = None
    ) -> asyncio.Task[None]:
        """Call ``func`` now and then every ``interval`` seconds while the session lasts."""
        if interval <= 0:
            raise ValueError("interval must be positive")

        async def loop() -> None:
            while not self.engine.closed:
                try:
                    await func()
                except SessionClosedError:
                    return
                except Exception:
                    log.exception("session %s: periodic %s failed", self.id[:8], name or func)
                await asyncio.sleep(interval)

        return self.spawn(loop(), name=name)

    # --- driven by the transport -----------------------------------------------------------------

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if isinstance(error, SessionClosedError):
            log.info("session %s: task %s stopped: %s", self.id[:8], task.get_name(), error)
        elif error is not None:
            log.error("session %s: task %s failed", self.id[:8], task.get_name(), exc_info=error)

    def _sync_handler(self, message: S2Message) -> None:
        """The engine's handler hook: the application's synchronous handlers decide the answer."""
        self.app._judge_incoming(self, message)

    def _remember_instruction(self, record: InstructionRecord) -> None:
        self.instructions[record.id] = record
        self.instructions.move_to_end(record.id)
        while len(self.instructions) > MAX_INSTRUCTIONS:
            self.instructions.popitem(last=False)

    def _on_event(self, event: object) -> None:
        """Bookkeeping first (synchronous), then the application's async code on the worker."""
        now = self._clock()
        if isinstance(event, MessageReceived):
            self._on_message(event.message, now)
        elif isinstance(event, ReceptionStatusReceived):
            self._on_status(event)
        elif isinstance(event, InstructionStatusChanged):
            record = self.instructions.get(event.instruction_id)
            if record is not None:
                record.status, record.updated_at = event.status, now
        elif isinstance(event, AckTimeout):
            mid = getattr(event.message, "message_id", "")
            log.warning("session %s: no ReceptionStatus for %s %s in time", self.id[:8], _type(event.message), mid)
            ack = self._acks.pop(mid, None)
            if ack is not None:
                _settle(ack.future, error=TimeoutError(f"no ReceptionStatus for {_type(event.message)} {mid}"))
        elif isinstance(event, RetryGivenUp):
            ack = self._acks.pop(getattr(event.message, "message_id", ""), None)
            if ack is not None:
                _settle(ack.future, ack.last, None if ack.last else SessionError(event.reason))
        elif isinstance(event, RejectedIncoming):
            log.info("session %s: answered %s: %s", self.id[:8], event.status.value, event.diagnostic)
        elif isinstance(event, CallbackFailed):
            kind = f"{event.where} {_type(event.message)} {type(event.error).__name__}"
            log_fault(
                log, kind, event.error, "session %s: %s raised on %s", self.id[:8], event.where, _type(event.message)
            )
        elif isinstance(event, ContentWarning):
            log.info("session %s: warnings on %s: %s", self.id[:8], _type(event.message), "; ".join(event.diagnostics))
        elif isinstance(event, SessionClosed):
            self._on_closed(event)
        self.app._on_session_event(self, event)
        self._check_waiters()

    def _on_message(self, message: S2Message, now: datetime) -> None:
        self.latest[type(message)] = message
        if message_type_of(type(message)) in INSTRUCTION_TYPES:
            self._remember_instruction(InstructionRecord(message, now))
        dispatch = self.app._dispatch
        if not dispatch:
            return
        sync, run_async = dispatch.handlers(type(message))
        context = self.app._handler_context(self)
        if isinstance(message, _ENGINE_MESSAGES):
            for handler in sync:  # observers only: the engine has answered already
                try:
                    handler(*context, message)
                except Exception:
                    log.exception("session %s: handler %s failed", self.id[:8], handler)
        for handler in run_async:
            self._worker.submit(f"handler {handler.__name__}", functools.partial(handler, *context, message))

    def _on_status(self, event: ReceptionStatusReceived) -> None:
        status = event.status
        if status.status is not _RS.OK and event.message is not None:
            ident = getattr(event.message, "id", None)
            record = self.instructions.get(ident) if isinstance(ident, str) else None
            if record is not None and record.message is event.message and status.status is not _RS.TEMPORARY_ERROR:
                record.refused = status
        ack = self._acks.get(event.subject)
        if ack is None:
            return
        if status.status is _RS.TEMPORARY_ERROR and not event.late:
            ack.last = status  # a retry may follow; RetryGivenUp settles it otherwise
            return
        del self._acks[event.subject]
        _settle(ack.future, status)

    def _on_closed(self, event: SessionClosed) -> None:
        self.close_reason = event.reason
        self._closed.set()
        for ack in self._acks.values():
            _settle(ack.future, error=SessionClosedError(f"the session closed ({event.reason})"))
        self._acks.clear()
        for task in list(self._tasks):
            task.cancel()

    def _check_waiters(self) -> None:
        if not self._waiters:
            return
        for predicate, future in list(self._waiters):
            if future.done():
                continue
            try:
                if predicate():
                    _settle(future)
                elif self._closed.is_set():
                    _settle(future, error=SessionClosedError(f"the session is closed ({self.close_reason})"))
            except Exception as exc:
                _settle(future, error=exc)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id[:8]} {self.remote} active={self.active_control_type}>"


def _type(message: S2Message) -> str:
    return message_type_of(type(message))
