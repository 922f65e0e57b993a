"""Any simulator of :data:`s2ws.sim.DEVICES`, or a resource built from the control devices of
:mod:`s2ws.control` (:class:`~s2ws.control.Resource`), as a Resource Manager over a real transport.

:class:`DeviceRM` does for a socket what :class:`~s2ws.sim.RMLink` does in memory: the device's
ResourceManagerDetails go out after the handshake; a received SelectControlType goes to the
simulator's ``on_select`` and every other message to its ``handle`` *inside* the engine's receive
(so an :class:`~s2ws.errors.InvalidContent` it raises becomes the INVALID_CONTENT answer), after
the synchronous ``@on`` handlers of a subclass, which may refuse a message first; and what
the simulator answers is sent right after the ReceptionStatus; between messages the simulator is
ticked at its ``next_wakeup``.

Time: every call gets ``self.clock()``. With a :class:`~s2ws.app.clock.SimClock` of speed N the
device lives N times faster and every timestamp on the wire is simulated time; the CEM must run
on the same simulated clock (``s2ws cem --speed N``), see :mod:`s2ws.app.clock`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from ..errors import S2Error
from ..messages.base import S2Message, message_type_of
from ..messages.common import ResourceManagerDetails, SelectControlType
from ..messages.enums import ControlType
from ..session.events import MessageReceived, RejectedIncoming, SessionClosed
from ..sim import DEVICES, DeviceSim
from .clock import clock_speed, scaled_timeouts
from .describe import describe_error
from .handle import SessionHandle
from .rm import ResourceManager

__all__ = ["DeviceRM"]

log = logging.getLogger("s2ws.app.device")

_MAX_SLEEP = 1.0
"""Longest wall-clock nap of the ticker (it also wakes on every message the device handled)."""


class DeviceRM(ResourceManager):
    """A :class:`~s2ws.sim.DeviceSim` behind the async RM; see the module docstring.

    ``device`` is a simulator, a name of :data:`s2ws.sim.DEVICES` (built at ``clock()`` with
    ``interval`` between measurements, simulated time), or a :class:`~s2ws.control.Resource`:
    a real device's details and control devices, so that a device maker writes only the
    device part (``DeviceRM(Resource(details, FRBCDevice(...)))``). ``refused`` lists what the
    device produced that our own session refused to send (a bug of the device if not empty).
    Between sessions the device is deselected, so every session starts from scratch.
    """

    def __init__(
        self,
        device: DeviceSim | str,
        *,
        interval: timedelta | None = None,
        **options: Any,
    ) -> None:
        clock = options.get("clock")
        super().__init__(**scaled_timeouts(clock, options))
        if isinstance(device, str):
            factory = DEVICES.get(device)
            if factory is None:
                raise ValueError(f"unknown device {device!r}; one of {', '.join(DEVICES)}")
            kwargs: dict[str, Any] = {"now": self.clock()}
            if interval is not None:
                kwargs["interval"] = interval
            device = factory(**kwargs)
        self.sim: DeviceSim = device
        self.speed = clock_speed(self.clock)
        self.refused: list[tuple[S2Message, str]] = []
        self._outbox: list[S2Message] = []
        self._wake = asyncio.Event()
        self._ticker: asyncio.Task[None] | None = None

    def details(self) -> ResourceManagerDetails:
        return self.sim.details()

    # --- inside the engine's receive: the simulator decides the answer --------------------------

    def _judge_incoming(self, handle: SessionHandle, message: S2Message) -> None:
        """The application's own synchronous handlers first (a subclass may refuse a message before
        the device sees it), then the device, whose InvalidContent is the answer too."""
        super()._judge_incoming(handle, message)
        now = self.clock()
        if isinstance(message, SelectControlType):
            self._outbox.extend(self.sim.on_select(message.control_type, now))
        else:
            self._outbox.extend(self.sim.handle(message, now))

    # --- after the answer: send what it said, tick at its wakeups --------------------------------

    def _on_session_event(self, handle: SessionHandle, event: object) -> None:
        super()._on_session_event(handle, event)
        if isinstance(event, MessageReceived):
            self._flush(handle)
        elif isinstance(event, RejectedIncoming):
            self._outbox.clear()
        elif isinstance(event, SessionClosed):
            self._outbox.clear()
            self._wake.set()

    async def on_connect(self) -> None:
        self._ticker = self.spawn(self._tick_loop(), name=f"tick {self.sim.details().name}")

    async def on_disconnect(self, reason: str) -> None:
        try:  # the next session starts unselected
            self.sim.on_select(ControlType.NO_SELECTION, self.clock())
        except S2Error as exc:
            log.debug("resetting the simulator: %s", exc)

    def _flush(self, handle: SessionHandle) -> None:
        if not self._outbox:
            return
        out, self._outbox = self._outbox, []
        self._send_now(handle, out)
        self._wake.set()

    def _send_now(self, handle: SessionHandle, messages: list[S2Message]) -> None:
        now = self.clock()
        for message in messages:
            if handle.engine.closed or getattr(handle.engine, "closing", False):
                return  # the session is ending: what the device says now has no listener
            try:
                handle.engine.send(message, now)
            except Exception as exc:
                reason = describe_error(exc)
                self.refused.append((message, reason))
                log.warning("not sending %s: %s", message_type_of(type(message)), reason)
        handle.connection.wakeup()

    async def _tick_loop(self) -> None:
        handle = self._live()
        while not handle.closed:
            self._wake.clear()
            self._send_now(handle, self.sim.tick(self.clock()))
            wake = self.sim.next_wakeup()
            delay = _MAX_SLEEP if wake is None else (wake - self.clock()).total_seconds() / self.speed
            if delay > 0:
                try:
                    async with asyncio.timeout(min(delay, _MAX_SLEEP)):
                        await self._wake.wait()
                except TimeoutError:
                    pass
            else:
                await asyncio.sleep(0)

    def publish(self, messages: list[S2Message]) -> None:
        """Send what the device produced outside tick and handle (``reconfigure``, ``load``,
        ``set_fill_level``). Without a session they are dropped, not raised: the device keeps its
        state, and the next selection publishes it again."""
        session = self.session
        if session is None or session.closed:
            if messages:
                log.debug("no session: %d message(s) not sent", len(messages))
            return
        self._send_now(session, messages)
        self._wake.set()
