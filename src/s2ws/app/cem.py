"""The async CEM: serve many Resource Managers at once, with one :class:`RMHandle` per RM.

Subclass :class:`CEM`, decorate methods with ``@on(MessageClass)`` (they receive the RM's handle
and the message), override the hooks you need, and ``await cem.serve(host, port)``::

    class MyCEM(CEM):
        @on(FRBCSystemDescription)
        async def plan(self, rm: RMHandle, description: FRBCSystemDescription) -> None:
            await rm.send(FRBCInstruction(...))

When an RM's ResourceManagerDetails arrives, the CEM selects a control type from those offered,
by ``preference`` (FRBC > OMBC > DDBC > PPBC > PEBC > NOT_CONTROLABLE unless told otherwise), or as
:meth:`CEM.choose_control_type` decides. Every session gets its own rule-catalogue context, so
an RM's message that breaks a rule is answered INVALID_CONTENT, and a message of ours that would
break one is refused by ``send`` before it reaches the wire.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from ..messages.base import S2Message, new_id
from ..messages.common import ReceptionStatus, ResourceManagerDetails, SelectControlType
from ..messages.enums import ControlType, EnergyManagementRole
from ..session.events import (
    ControlTypeSelected,
    HandshakeCompleted,
    MessageReceived,
    ReceptionStatusReceived,
    SessionClosed,
)
from ..transport.channel import Channel
from ..transport.connection import Connection
from ..transport.driver import Driver
from ..transport.options import ServerOptions
from ..transport.ws_server import Server, serve
from .application import AppBase
from .describe import describe_error, log_fault
from .handle import SessionHandle
from .planners import make_view

__all__ = ["CEM", "DEFAULT_PREFERENCE", "RMHandle"]

log = logging.getLogger("s2ws.app")

DEFAULT_PREFERENCE: tuple[ControlType, ...] = (
    ControlType.FILL_RATE_BASED_CONTROL,
    ControlType.OPERATION_MODE_BASED_CONTROL,
    ControlType.DEMAND_DRIVEN_BASED_CONTROL,
    ControlType.POWER_PROFILE_BASED_CONTROL,
    ControlType.POWER_ENVELOPE_BASED_CONTROL,
    ControlType.NOT_CONTROLABLE,
)
"""The richest flexibility first: FRBC describes a storage completely, NOT_CONTROLABLE nothing."""
_MAX_READY = 64


class RMHandle(SessionHandle):
    """One connected Resource Manager, as the CEM sees it.

    ``details`` is its latest ResourceManagerDetails, ``active_control_type`` what it switched to,
    ``last(cls)`` / ``latest`` its newest message of each type, ``instructions`` / ``outstanding``
    what we told it and how far it got. ``send``, ``select`` and ``revoke`` validate before
    anything goes out.
    """

    selecting: ControlType | None = None
    """A SelectControlType sent and not answered yet."""
    _view: Any = None

    @property
    def view(self) -> Any:
        """The CEM's picture of the RM under the active control type: an FRBCView, OMBCView,
        DDBCView, PEBCView or PPBCView (:mod:`s2ws.control`), fed with every message the RM sends
        that we accepted; a fresh one on every selection. None when no controlling type is active."""
        return self._view

    def _on_message(self, message: S2Message, now: datetime) -> None:
        view = self._view
        if view is not None:
            try:
                view.apply(message, now)
            except Exception as exc:
                kind = type(message).__name__
                log_fault(
                    log, f"view {kind} {type(exc).__name__}", exc, "%s: the view could not take %s", self.name, kind
                )
        super()._on_message(message, now)

    @property
    def details(self) -> ResourceManagerDetails | None:
        return self.engine.peer_details

    @property
    def name(self) -> str:
        """The RM's name (or model, or resource id) for logs; its session id before details came."""
        details = self.details
        if details is None:
            return self.id[:8]
        for value in (details.name, details.model, details.resource_id):
            if isinstance(value, str) and value:
                return value
        return self.id[:8]

    async def select(self, control_type: ControlType, *, wait: bool = True) -> ReceptionStatus | None:
        """Ask the RM to switch to ``control_type`` (one it offered, or NO_SELECTION).

        With ``wait`` (the default) returns the RM's answer; on OK the type is active on both sides.
        """
        self.selecting = control_type
        return await self.send(SelectControlType(message_id=new_id(), control_type=control_type), wait=wait)


class CEM(AppBase):
    """A CEM serving any number of RMs; see the module docstring.

    Hooks (all async, run on the RM's session worker, one at a time, after the triggering message
    was answered): :meth:`on_connect`, :meth:`on_select`, :meth:`on_disconnect`, :meth:`on_event`.
    """

    role: ClassVar[EnergyManagementRole] = EnergyManagementRole.CEM
    handle_class: ClassVar[type[SessionHandle]] = RMHandle

    def __init__(self, *, preference: Sequence[ControlType] | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.preference: tuple[ControlType, ...] = tuple(preference) if preference is not None else DEFAULT_PREFERENCE
        self.rms: dict[str, RMHandle] = {}
        """Live sessions by session id."""
        self._server: Server | None = None
        self._ready: deque[RMHandle] = deque(maxlen=_MAX_READY)
        self._ready_changed = asyncio.Event()

    # --- hooks and policy ------------------------------------------------------------------------

    def choose_control_type(self, rm: RMHandle, details: ResourceManagerDetails) -> ControlType | None:
        """Which offered control type to select (None: leave the RM as it is). Called synchronously
        when ResourceManagerDetails arrives, so the SelectControlType follows the details' OK at once."""
        offered = set(details.available_control_types)
        return next((ct for ct in self.preference if ct in offered), None)

    async def on_connect(self, rm: RMHandle) -> None:
        """The handshake completed."""

    async def on_select(self, rm: RMHandle, control_type: ControlType) -> None:
        """The RM confirmed (OK) a SelectControlType; ``control_type`` is now active on both sides."""

    async def on_disconnect(self, rm: RMHandle, reason: str) -> None:
        """The session ended."""

    async def on_event(self, rm: RMHandle, event: object) -> None:
        """Every session event (s2ws.session.events), in order; override to watch all of them."""

    # --- running ---------------------------------------------------------------------------------

    async def serve(
        self, host: str = "127.0.0.1", port: int = 0, options: ServerOptions | None = None, **overrides: Any
    ) -> Server:
        """Listen for RMs; returns the running server (its ``port``).

        ``options`` or the same names as keyword arguments (``ssl`` for ``wss``, ``token``, ``path``,
        ``heartbeat``, the limits): see :class:`~s2ws.transport.options.ServerOptions`."""
        if self._server is not None:
            raise RuntimeError("this CEM is already serving")
        self._server = await serve(
            self.session_factory,
            host,
            port,
            ServerOptions.build(options, overrides),
            on_event=self.on_transport_event,
            clock=self.clock,
        )
        return self._server

    async def run_channel(self, channel: Channel, *, remote: str = "memory") -> None:
        """Serve one RM over an already open channel (an in-memory pair, another transport)."""
        connection = Connection(side="server", url=f"{remote}://", remote=remote)
        engine = self.session_factory(connection)
        await Driver(
            engine,
            channel,
            lambda event: self.on_transport_event(connection, event),
            connection=connection,
            clock=self.clock,
        ).run()

    async def next_rm(self) -> RMHandle:
        """The next RM whose handshake completed, in order (the last 64 are kept for late callers)."""
        while not self._ready:
            self._ready_changed.clear()
            await self._ready_changed.wait()
        return self._ready.popleft()

    async def close(self, reason: str = "CEM shutting down") -> None:
        """End every session with SessionRequest TERMINATE, stop listening, let handlers finish."""
        handles = list(self.rms.values())
        await asyncio.gather(*(self._close_one(rm, reason) for rm in handles))
        if self._server is not None:
            await self._server.close()
            self._server = None
        await asyncio.gather(*(rm._worker.join(2.0) for rm in handles))
        self._close_observers()

    async def _close_one(self, rm: RMHandle, reason: str) -> None:
        try:
            async with asyncio.timeout(5.0):
                await rm.close(reason)
        except TimeoutError:
            log.warning("session %s did not close in time", rm.id[:8])

    # --- internals -------------------------------------------------------------------------------

    def _handler_context(self, handle: SessionHandle) -> tuple[Any, ...]:
        return (handle,)

    def _on_session_created(self, handle: SessionHandle) -> None:
        assert isinstance(handle, RMHandle)
        self.rms[handle.id] = handle

    def _on_session_event(self, handle: SessionHandle, event: object) -> None:
        super()._on_session_event(handle, event)
        assert isinstance(handle, RMHandle)
        rm = handle
        if isinstance(event, HandshakeCompleted):
            self._ready.append(rm)
            self._ready_changed.set()
            rm._worker.submit("on_connect", lambda: self.on_connect(rm))
        elif isinstance(event, MessageReceived) and isinstance(event.message, ResourceManagerDetails):
            self._apply_policy(rm, event.message)
        elif isinstance(event, ReceptionStatusReceived) and isinstance(event.message, SelectControlType):
            rm.selecting = None
        elif isinstance(event, ControlTypeSelected):
            selected = event.control_type
            rm._view = make_view(selected)
            rm._worker.submit("on_select", lambda: self.on_select(rm, selected))
        elif isinstance(event, SessionClosed):
            self.rms.pop(rm.id, None)
            rm._view = None
            reason = event.reason
            rm._worker.submit("on_disconnect", lambda: self.on_disconnect(rm, reason))
        if type(self).on_event is not CEM.on_event:
            rm._worker.submit("on_event", lambda: self.on_event(rm, event))

    def _apply_policy(self, rm: RMHandle, details: ResourceManagerDetails) -> None:
        """Select a control type as soon as the details are accepted (their OK is already queued)."""
        active = rm.active_control_type
        if active is not None and active in details.available_control_types:
            return  # still offered: nothing to change
        try:
            choice = self.choose_control_type(rm, details)
        except Exception:
            log.exception("choose_control_type failed for %s", rm.name)
            return
        if choice is None or choice == rm.selecting:
            return
        message = SelectControlType(message_id=new_id(), control_type=choice)
        try:
            rm.engine.send(message, self.clock())
        except Exception as exc:
            log.warning("%s: could not select %s: %s", rm.name, choice.value, describe_error(exc))
            return
        rm.selecting = choice
