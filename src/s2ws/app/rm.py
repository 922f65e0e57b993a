"""The async Resource Manager: describe a device, take instructions, report what happened.

Subclass :class:`ResourceManager`, give it its ResourceManagerDetails, publish descriptions when
the CEM selects a control type, and handle instructions with ``@on``::

    class Heater(ResourceManager):
        async def on_select(self, control_type: ControlType) -> None:
            if control_type is ControlType.FILL_RATE_BASED_CONTROL:
                await self.send(self.system_description())

        @on(FRBCInstruction)
        async def instruction(self, instruction: FRBCInstruction) -> None:
            await self.report(instruction.id, InstructionStatus.ACCEPTED)

    await Heater(details=...).run("wss://cem.local/s2")

An RM has one session at a time; :meth:`ResourceManager.run` reconnects with back-off (the transport's policy)
and every new session starts from the handshake: details are sent again (with a fresh
message_id) and the CEM selects again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ClassVar, TypeVar

import msgspec

from ..errors import SessionClosedError
from ..messages.base import S2Message, new_id
from ..messages.common import InstructionStatusUpdate, ReceptionStatus, ResourceManagerDetails
from ..messages.enums import ControlType, EnergyManagementRole, InstructionStatus
from ..session.events import ControlTypeSelected, HandshakeCompleted, SessionClosed
from ..transport.channel import Channel
from ..transport.connection import Connection
from ..transport.driver import Driver
from ..transport.options import ClientOptions
from ..transport.ws_client import Client, EndpointProvider
from .application import AppBase
from .describe import describe_error
from .handle import SessionHandle

__all__ = ["ResourceManager"]

log = logging.getLogger("s2ws.app")

T = TypeVar("T")


class ResourceManager(AppBase):
    """One device's RM; see the module docstring.

    Hooks (async, run on the session's worker one at a time, after the triggering message was
    answered): :meth:`on_connect` (handshake done, details sent), :meth:`on_select` (publish the
    control type's descriptions here), :meth:`on_disconnect`, :meth:`on_event`.
    """

    role: ClassVar[EnergyManagementRole] = EnergyManagementRole.RM

    def __init__(self, details: ResourceManagerDetails | None = None, **options: Any) -> None:
        super().__init__(**options)
        self._details = details
        self.session: SessionHandle | None = None
        """The current (or last) session."""
        self._client: Client | None = None
        self._connected = asyncio.Event()
        self._closing = False

    # --- what a subclass provides ----------------------------------------------------------------

    def details(self) -> ResourceManagerDetails:
        """The ResourceManagerDetails to send after each handshake (a fresh message_id is stamped)."""
        if self._details is None:
            raise NotImplementedError("pass details= or override details()")
        return self._details

    async def on_connect(self) -> None:
        """The handshake completed and the details went out."""

    async def on_select(self, control_type: ControlType) -> None:
        """The CEM selected ``control_type`` (we answered OK): publish its descriptions now."""

    async def on_disconnect(self, reason: str) -> None:
        """The session ended."""

    async def on_event(self, event: object) -> None:
        """Every session event (s2ws.session.events), in order; override to watch all of them."""

    # --- what a subclass uses --------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self.session is not None and not self.session.closed and self._connected.is_set()

    @property
    def active_control_type(self) -> ControlType | None:
        return self.session.active_control_type if self.session is not None else None

    def _live(self) -> SessionHandle:
        session = self.session
        if session is None or session.closed:
            raise SessionClosedError("no session with a CEM is open")
        return session

    async def send(self, message: S2Message, *, wait: bool = False) -> ReceptionStatus | None:
        """Validate and send on the current session (see :meth:`SessionHandle.send`)."""
        return await self._live().send(message, wait=wait)

    async def report(
        self, instruction_id: str, status: InstructionStatus, *, wait: bool = False
    ) -> ReceptionStatus | None:
        """Send an InstructionStatusUpdate for an instruction the CEM sent in this session."""
        update = InstructionStatusUpdate(
            message_id=new_id(), instruction_id=instruction_id, status_type=status, timestamp=self.clock()
        )
        return await self.send(update, wait=wait)

    def every(
        self, interval: float, func: Callable[[], Awaitable[object]], *, name: str | None = None
    ) -> asyncio.Task[None]:
        """Run ``func`` now and every ``interval`` seconds until the current session ends."""
        return self._live().every(interval, func, name=name)

    def spawn(self, coro: Coroutine[Any, Any, T], *, name: str | None = None) -> asyncio.Task[T]:
        """Run ``coro`` until the current session ends (then it is cancelled)."""
        try:
            session = self._live()
        except SessionClosedError:
            coro.close()
            raise
        return session.spawn(coro, name=name)

    async def wait_connected(self) -> SessionHandle:
        """Wait until a session is up (handshake done, details sent) and return it."""
        while True:
            await self._connected.wait()
            if self.session is not None and not self.session.closed:
                return self.session
            self._connected.clear()

    # --- running ---------------------------------------------------------------------------------

    async def run(self, url: str | EndpointProvider, options: ClientOptions | None = None, **overrides: Any) -> None:
        """Connect to the CEM and serve it until :meth:`close`, a TERMINATE (per ``reconnect``), or
        the policy gives up (ConnectError and its subclasses). ``reconnect=None``: one session only.

        ``options`` or the same names as keyword arguments (``token``, ``ca_file``, ``pinned_sha256``,
        ``ssl``, ``reconnect``, ``heartbeat``, ``connect_timeout``...): see
        :class:`~s2ws.transport.options.ClientOptions`."""
        self._client = Client(
            url,
            self.session_factory,
            ClientOptions.build(options, overrides),
            on_event=self.on_transport_event,
            clock=self.clock,
        )
        if self._closing:
            self._client.close()
        try:
            await self._client.run()
        finally:
            self._close_observers()

    async def run_channel(self, channel: Channel, *, remote: str = "memory") -> None:
        """Serve one session over an already open channel (an in-memory pair, another transport)."""
        connection = Connection(side="client", url=f"{remote}://", remote=remote)
        engine = self.session_factory(connection)
        await Driver(
            engine,
            channel,
            lambda event: self.on_transport_event(connection, event),
            connection=connection,
            clock=self.clock,
        ).run()

    async def close(self, reason: str = "RM shutting down") -> None:
        """End the session with SessionRequest TERMINATE and stop reconnecting."""
        self._closing = True
        session = self.session
        if session is not None and not session.closed:
            try:
                async with asyncio.timeout(5.0):
                    await session.close(reason)
            except TimeoutError:
                log.warning("session %s did not close in time", session.id[:8])
        if self._client is not None:
            self._client.close()
        if session is not None:
            await session._worker.join(2.0)

    # --- internals -------------------------------------------------------------------------------

    def _on_session_created(self, handle: SessionHandle) -> None:
        self.session = handle
        self._connected.clear()

    def _on_session_event(self, handle: SessionHandle, event: object) -> None:
        super()._on_session_event(handle, event)
        if isinstance(event, HandshakeCompleted):
            try:
                details = msgspec.structs.replace(self.details(), message_id=new_id())
                handle.engine.send(details, self.clock())
            except Exception as exc:
                log.error("cannot send ResourceManagerDetails (%s); ending the session", describe_error(exc))
                handle.engine.close(f"invalid ResourceManagerDetails: {exc}", self.clock(), terminate=True)
                handle.connection.wakeup()
                return
            self._connected.set()
            handle._worker.submit("on_connect", self.on_connect)
        elif isinstance(event, ControlTypeSelected):
            selected = event.control_type
            handle._worker.submit("on_select", lambda: self.on_select(selected))
        elif isinstance(event, SessionClosed):
            self._connected.clear()
            reason = event.reason
            handle._worker.submit("on_disconnect", lambda: self.on_disconnect(reason))
        if type(self).on_event is not ResourceManager.on_event:
            handle._worker.submit("on_event", lambda: self.on_event(event))
