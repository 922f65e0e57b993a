"""What the CEM and the RM applications share: one handle per session, its worker, the engine tap.

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
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from ..errors import S2Error, SessionClosedError, SessionError
from ..messages.base import S2Message, message_type_of, new_id
from ..messages.common import (
    Handshake,
    HandshakeResponse,
    ReceptionStatus,
    ResourceManagerDetails,
    RevokeObject,
    SessionRequest,
)
from ..messages.enums import (
    ControlType,
    EnergyManagementRole,
    InstructionStatus,
    ReceptionStatusValues,
    RevokableObjects,
)
from ..messages.profiles import DEFAULT_PROFILE
from ..rules.context import SessionContext
from ..session.engine import Session
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
from ..session.policy import RetryPolicy, direction_of
from ..session.tracking import INSTRUCTION_TYPES, TERMINAL_STATUSES
from ..transport.driver import utc_now
from .handlers import Dispatcher
from .observe import Frame, Observer

if TYPE_CHECKING:
    from ..transport.connection import Connection

__all__ = ["AppBase", "AppSession", "Clock", "InstructionRecord", "SessionHandle"]

log = logging.getLogger("s2ws.app")

Clock = Callable[[], datetime]
M = TypeVar("M", bound=S2Message)
T = TypeVar("T")

_ENGINE_MESSAGES = (Handshake, HandshakeResponse, SessionRequest)
"""The engine answers these without consulting the handler hook; handlers observe them afterwards."""
_MAX_INSTRUCTIONS = 1000
_RS = ReceptionStatusValues


class AppSession(Session):
    """The session engine with every frame shown to the observers (recorder, live view)."""

    def __init__(
        self,
        role: EnergyManagementRole,
        *,
        session_id: str,
        observers: Sequence[Observer],
        clock: Clock,
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


@dataclass(eq=False)
class InstructionRecord:
    """One instruction of this session and what became of it (on both sides)."""

    message: S2Message
    at: datetime
    """When it was sent (CEM) or received (RM)."""
    status: InstructionStatus | None = None
    """The furthest status the RM reported; None before the first InstructionStatusUpdate."""
    updated_at: datetime | None = None
    refused: ReceptionStatus | None = None
    """The RM's non-OK ReceptionStatus, when it refused the instruction message itself."""

    @property
    def id(self) -> str:
        ident: str = getattr(self.message, "id", "")
        return ident

    @property
    def finished(self) -> bool:
        return self.refused is not None or self.status in TERMINAL_STATUSES


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


class _Worker:
    """Runs one session's application coroutines one at a time, in the order they were queued."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: deque[tuple[str, Callable[[], Awaitable[object]]]] = deque()
        self._task: asyncio.Task[None] | None = None

    def submit(self, what: str, job: Callable[[], Awaitable[object]]) -> None:
        self._jobs.append((what, job))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"s2ws worker {self.name}")

    async def _run(self) -> None:
        while self._jobs:
            what, job = self._jobs.popleft()
            try:
                await job()
            except SessionClosedError as exc:
                log.info("%s: %s stopped: %s", self.name, what, exc)
            except Exception:
                log.exception("%s: %s failed", self.name, what)

    async def join(self, timeout: float) -> None:
        """Let queued work finish for up to ``timeout`` seconds, then cancel what is left."""
        task = self._task
        if task is None or task.done():
            return
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            self._jobs.clear()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


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
        self._worker = _Worker(f"session {session_id[:8]}")
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
        self.app._dispatch.call_sync(message, *self.app._handler_context(self))

    def _remember_instruction(self, record: InstructionRecord) -> None:
        self.instructions[record.id] = record
        self.instructions.move_to_end(record.id)
        while len(self.instructions) > _MAX_INSTRUCTIONS:
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
            log.error(
                "session %s: %s raised on %s", self.id[:8], event.where, _type(event.message), exc_info=event.error
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
        handle._on_event(event)
        for listener in self._listeners:
            try:
                listener(handle, event)
            except Exception:
                log.exception("listener %r failed", listener)
        if isinstance(event, SessionClosed):
            self._handles.pop(connection, None)

    # --- for subclasses --------------------------------------------------------------------------

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


def describe_error(exc: BaseException) -> str:
    """One line for a refusal: the exception's own text, which names rule, pointer and reason."""
    return f"{type(exc).__name__}: {exc}" if not isinstance(exc, S2Error) else str(exc)
