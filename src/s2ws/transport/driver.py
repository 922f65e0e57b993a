"""Runs one sans-I/O session engine over one channel until either of them ends.

The engine never sees a socket or a clock; this is the only place where frames, wall time and the
application's event handler meet. Two tasks share the engine (it is only touched from the loop's thread,
between awaits): a reader feeding frames in, and a timer serving ``next_wakeup``. Every step is followed
by a flush that writes queued frames in order and dispatches events in order.

An engine that ended the session itself may still be ``closing`` (an optional attribute: it sent
SessionRequest and waits, on its own timer, for the peer's ReceptionStatus). The driver keeps reading and
serving its timer until it is ``closed``, even after ``stop``, so that answer can still arrive.

Facing a network: a write that waits longer than ``write_timeout`` (the peer stopped reading) ends the
session and drops the socket; with ``rate_limit`` the reader takes frames no faster than the rate
(the rest wait in the socket, so a flooding peer is slowed by TCP, and each frame is still answered
in order), and a peer held back without a pause for ``rate_close_after`` seconds is sent
SessionRequest TERMINATE with the reason, then closed with 1008; and the reader lets the other
sessions run every few frames, so one busy peer cannot starve them. An engine that ends the
session because the handshake failed or timed out closes the socket with 1008 (policy violation).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from ..errors import ChannelClosed
from .channel import CLOSE_GOING_AWAY, CLOSE_INTERNAL_ERROR, CLOSE_NORMAL, CLOSE_POLICY_VIOLATION, Channel
from .connection import Connection, EngineLike
from .guard import LogLimiter, RateLimiter

__all__ = ["Clock", "Driver", "drive", "utc_now"]

log = logging.getLogger("s2ws.transport")

Clock = Callable[[], datetime]
OnEvent = Callable[[object], Awaitable[None] | None]

_faults = LogLimiter(log, interval=60.0)
"""One line a minute per kind of failure of an event handler, however many sessions hit it."""
_YIELD_EVERY = 8  # frames read back to back before the reader lets other sessions run
_RATE_EXCEEDED = "the peer kept sending above its message rate"
_POLICY_VIOLATIONS = ("the handshake did not complete", "handshake failed", _RATE_EXCEEDED)


def _close_code_for(reason: str) -> int:
    """1008 for a session ended because the handshake failed or timed out or the peer flooded, else 1000."""
    return CLOSE_POLICY_VIOLATION if reason.startswith(_POLICY_VIOLATIONS) else CLOSE_NORMAL


class _Flag:
    """``asyncio.Event`` without its deque: an idle session holds two, so their size counts."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if not self._set:
            waiter = asyncio.get_running_loop().create_future()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if self._waiters is not None and waiter in self._waiters:
                    self._waiters.remove(waiter)
        return True


def utc_now() -> datetime:
    """The default clock: aware UTC wall time, as the engine expects."""
    return datetime.now(UTC)


_REUSE_FOR = 0.001  # seconds during which frames received with the default clock share one reading
_last_reading: tuple[float, datetime] = (-1.0, datetime.min.replace(tzinfo=UTC))


def _received_at() -> datetime:
    """:func:`utc_now` for a received frame, read at most once a millisecond: frames read back to
    back get the same time (building an aware datetime costs more than handling a small frame)."""
    global _last_reading
    mono = time.monotonic()
    last = _last_reading
    if mono - last[0] < _REUSE_FOR:
        return last[1]
    now = datetime.now(UTC)
    _last_reading = (mono, now)
    return now


class Driver:
    """Drives ``engine`` over ``channel``; see :func:`drive`. Keep it to call ``wakeup`` or ``stop``."""

    def __init__(
        self,
        engine: EngineLike,
        channel: Channel,
        on_event: OnEvent | None = None,
        *,
        clock: Clock = utc_now,
        close_timeout: float = 5.0,
        connection: Connection | None = None,
        write_timeout: float | None = None,
        rate_limit: float | None = None,
        rate_burst: int = 1,
        rate_close_after: float | None = None,
    ) -> None:
        self.engine = engine
        self.channel = channel
        self._on_event = on_event
        self._clock = clock
        self._close_timeout = close_timeout
        self._wake = _Flag()
        self._flushing = False  # a flush is writing or dispatching (it drains until the engine is empty)
        self._flush_waiters: list[asyncio.Future[None]] = []
        send_texts = getattr(channel, "send_texts", None)
        self._send_texts: Callable[[Sequence[str]], Awaitable[None]] | None = (
            send_texts if callable(send_texts) else None
        )
        write_now = getattr(channel, "write_now", None)
        self._write_now: Callable[[Sequence[str]], bool] | None = write_now if callable(write_now) else None
        self._held: list[str] = []  # drained by ``wakeup`` but not writable at once: the next flush writes them
        self._running = False
        self._deadline: datetime | None = None
        self._stop: tuple[int, str] | None = None
        self._peer_closed = False
        self._done = _Flag()
        self._reader: asyncio.Task[None] | None = None
        self._write_timeout = write_timeout
        self._writing_since: float | None = None  # monotonic start of the write in progress
        self._write_watch: asyncio.TimerHandle | None = None  # armed once per timeout period, not per write
        self._write_timed_out = False
        self._lost: str | None = None  # why the socket was dropped, when the driver dropped it
        self._limiter = RateLimiter(rate_limit, rate_burst, time.monotonic()) if rate_limit is not None else None
        self._rate_limit = rate_limit or 0.0
        self._rate_close_after = rate_close_after
        if connection is not None:
            connection._attach(self)

    def wakeup(self) -> None:
        """Flush what the engine queued outside the driver and re-read its timer.

        When no flush is running and the channel can write without waiting, the queued frames are
        written at once (saving the timer task's turn on the way out); events and the timer are still
        left to the timer task."""
        if self._running and not self._flushing and self._write_now is not None and self._serving():
            frames = self.engine.data_to_send()
            if frames:
                if self._held:
                    self._held.extend(frames)
                elif not self._write_now(frames):
                    self._held = list(frames)
        self._wake.set()

    def stop(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        """Close the engine with ``reason`` (default "closed locally") and the channel with ``code``.

        An engine that is ``closing`` is left to finish first (its last answer or its own timer)."""
        if self._stop is None:
            self._stop = (code, reason or "closed locally")
        self._wake.set()

    async def abandon(self, reason: str) -> None:
        """End a session that never started because its socket failed before the upgrade completed.

        The engine is closed and its events (``SessionClosed`` with ``reason``) are dispatched, so that
        whoever registered the session on creation forgets it; nothing is written."""
        try:
            if not self.engine.closed:
                self.engine.close(reason, self._clock())
            self.engine.data_to_send()
            self._held = []
            await self._dispatch_events()
        finally:
            self._done.set()

    async def wait_closed(self) -> None:
        """Return once ``run`` has finished, the channel included."""
        await self._done.wait()

    async def run(self) -> None:
        """Start the engine and serve it until it closes or the channel does; then close both."""
        reader: asyncio.Task[None] | None = None
        code, reason = CLOSE_NORMAL, "peer closed"
        try:
            self.engine.start(self._clock())
            await self._flush()
            self._running = True
            if not self.engine.closed and self._stop is None:
                # the reader is a task of its own; the timer runs here, in the caller's task (one task
                # fewer per session), and ends when the engine is done or the reader is
                reader = self._reader = asyncio.create_task(self._read_loop())
                await self._timer_loop()
                if reader.done():
                    reader.result()
        except ChannelClosed:
            self._peer_closed = True
            if self._lost is not None:
                reason = self._lost
        except asyncio.CancelledError:
            code, reason = CLOSE_GOING_AWAY, "transport cancelled"
            raise
        except BaseException as exc:
            code, reason = CLOSE_INTERNAL_ERROR, f"transport error: {exc!r}"
            raise
        finally:
            self._running = False
            if self._write_watch is not None:
                self._write_watch.cancel()
                self._write_watch = None
            if reader is not None:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
            if self._stop is not None and code == CLOSE_NORMAL:
                code, reason = self._stop
            elif code == CLOSE_NORMAL and self.engine.closed and not self._peer_closed:
                code = _close_code_for(self.engine.close_reason or "")
            await self._finish(code, reason)

    async def _finish(self, code: int, reason: str) -> None:
        """Close the engine if nobody did, send its last frames if the peer still listens, close the channel."""
        try:
            if not self.engine.closed:
                self.engine.close(reason, self._clock())
            reason = self.engine.close_reason or reason
            async with asyncio.timeout(self._close_timeout):
                if self._peer_closed:
                    self.engine.data_to_send()  # nobody to read them
                    self._held = []
                    await self._dispatch_events()
                else:
                    await self._flush()
        except (ChannelClosed, TimeoutError):
            pass
        except Exception:
            log.exception("error while closing the session")
        finally:
            try:
                async with asyncio.timeout(self._close_timeout):
                    await self.channel.close(code, reason)
            except TimeoutError:
                self._abort()
            except Exception:
                log.debug("channel close failed", exc_info=True)
                self._abort()
            self._done.set()

    def _abort(self) -> None:
        abort = getattr(self.channel, "abort", None)
        if callable(abort):
            abort()

    async def _end_flood(self, seconds: float) -> None:
        """The peer stayed above its message rate: end the session with a reason (SessionRequest TERMINATE)."""
        reason = f"{_RATE_EXCEEDED} ({self._rate_limit:g} messages/s) for {seconds:.0f} s"
        log.warning("closing a session: %s", reason)
        self.engine.close(reason, self._clock(), terminate=True)
        await self._flush()
        self._wake.set()

    async def _read_loop(self) -> None:
        # no done callback (each costs an allocation per session): the finally wakes the timer loop,
        # which finds the reader done when it runs, since the task ends in this same step
        try:
            limiter = self._limiter
            throttled_since: float | None = None
            streak = 0
            clock = _received_at if self._clock is utc_now else self._clock
            while True:
                if limiter is not None and not getattr(self.engine, "closing", False):
                    now = time.monotonic()
                    wait = limiter.take(now)
                    if wait <= 0.0:
                        throttled_since = None
                    elif throttled_since is None:
                        throttled_since = now
                    elif self._rate_close_after is not None and now - throttled_since >= self._rate_close_after:
                        await self._end_flood(now - throttled_since)
                        continue
                    while wait > 0.0:
                        await asyncio.sleep(wait)  # the peer's frames wait in the socket meanwhile
                        wait = limiter.take(time.monotonic())
                streak += 1
                if streak >= _YIELD_EVERY:
                    streak = 0
                    await asyncio.sleep(0)  # frames already buffered would otherwise be read without a pause
                data = await self.channel.receive()
                if data is None:
                    self._peer_closed = True
                    return
                self.engine.receive(data, clock())
                await self._flush()
                if self.engine.closed:
                    return
                wakeup = self.engine.next_wakeup()
                if wakeup is not None and (self._deadline is None or wakeup < self._deadline):
                    self._wake.set()
        finally:
            self._wake.set()

    def _serving(self) -> bool:
        """Whether to keep serving the engine: it is open and not stopped, or stopped but closing."""
        if self.engine.closed:
            return False
        return self._stop is None or getattr(self.engine, "closing", False) is True

    async def _timer_loop(self) -> None:
        reader = self._reader
        while self._serving() and not (reader is not None and reader.done()):
            self._deadline = wakeup = self.engine.next_wakeup()
            woken = False
            if wakeup is None:
                woken = await self._wake.wait()
            else:
                delay = (wakeup - self._clock()).total_seconds()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(delay):
                            woken = await self._wake.wait()
                else:
                    await asyncio.sleep(0)  # a due timer must not starve the reader
            self._wake.clear()  # after the wait, so a wakeup given while busy is not lost
            if reader is not None and reader.done():
                return
            if not woken and self._serving():
                self.engine.handle_timeout(self._clock())
            await self._flush()

    async def _flush(self) -> None:
        """Write every queued frame, then dispatch every event, until the engine has neither.

        One flush at a time (frames must go out in order): a second caller waits for the running
        one to end, then drains what is left, as with a lock but without one when uncontended."""
        while self._flushing:
            waiter = asyncio.get_running_loop().create_future()
            self._flush_waiters.append(waiter)
            await waiter
        self._flushing = True
        try:
            engine = self.engine
            while True:
                frames = engine.data_to_send()
                if self._held:
                    frames, self._held = [*self._held, *frames], []
                if frames:
                    await self._write(frames)
                events = engine.events()
                if events:
                    await self._dispatch(events)
                elif not frames:
                    return
        finally:
            self._flushing = False
            if self._flush_waiters:
                waiters, self._flush_waiters = self._flush_waiters, []
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)

    async def _write(self, frames: Sequence[str]) -> None:
        """Write, bounded by ``write_timeout``: a watchdog armed at most once per period (a timer
        per frame would cost more than the frame) drops a peer that has not read for that long."""
        if self._write_timeout is None:
            await self._write_frames(frames)
            return
        self._writing_since = time.monotonic()
        if self._write_watch is None:
            self._write_watch = asyncio.get_running_loop().call_later(self._write_timeout, self._watch_write)
        try:
            if len(frames) == 1:  # the usual case: one answer, one coroutine fewer
                await self.channel.send_text(frames[0])
            else:
                await self._write_frames(frames)
        except Exception:
            if self._write_timed_out:
                raise self._write_timeout_error() from None
            raise
        finally:
            self._writing_since = None
        if self._write_timed_out:
            raise self._write_timeout_error()

    def _watch_write(self) -> None:
        self._write_watch = None
        since = self._writing_since
        if since is None or self._write_timeout is None:
            return  # no write waits: the next one arms the watchdog again
        waited = time.monotonic() - since
        if waited < self._write_timeout:
            self._write_watch = asyncio.get_running_loop().call_later(self._write_timeout - waited, self._watch_write)
            return
        self._write_timed_out = True
        self._peer_closed = True  # it does not read: the close handshake would wait just the same
        self._lost = f"write timeout: the peer read nothing for {self._write_timeout:g} s"
        self._abort()

    def _write_timeout_error(self) -> ChannelClosed:
        return ChannelClosed(f"the peer read nothing for {self._write_timeout:g} s (write timeout)")

    async def _write_frames(self, frames: Sequence[str]) -> None:
        if self._send_texts is not None and len(frames) > 1:
            await self._send_texts(frames)
            return
        send_text = self.channel.send_text
        for frame in frames:
            await send_text(frame)

    async def _dispatch_events(self) -> bool:
        events = self.engine.events()
        if events:
            await self._dispatch(events)
        return bool(events)

    async def _dispatch(self, events: Sequence[object]) -> None:
        """Each event to ``on_event``, in order; one that raises is logged (rate-limited) and the
        rest still go out, so a bug in a handler neither ends the session nor loses later events."""
        on_event = self._on_event
        if on_event is None:
            return
        for event in events:
            try:
                result = on_event(event)
                if result is not None and inspect.isawaitable(result):
                    await result
            except Exception as exc:
                kind = f"{type(event).__name__}: {type(exc).__name__}"
                _faults.log(logging.ERROR, kind, time.monotonic(), "the event handler failed on %s", kind, exc_info=exc)


async def drive(
    engine: EngineLike,
    channel: Channel,
    on_event: OnEvent | None = None,
    *,
    clock: Clock = utc_now,
    close_timeout: float = 5.0,
) -> None:
    """Run ``engine`` over ``channel`` until the engine closes or the channel does.

    Calls ``engine.start``; feeds each received frame (text as ``str``, binary as ``bytes``, which the
    engine answers as undecodable) to ``engine.receive``; calls ``handle_timeout`` when ``next_wakeup`` is
    due; after every step writes ``data_to_send()`` and awaits ``on_event`` for each drained event (one
    that raises is logged, rate-limited, and the session goes on). When
    the channel closes first the engine is closed with "peer closed"; on cancellation with "transport
    cancelled" (close code 1001). The channel is always closed gracefully before this returns or raises.
    """
    await Driver(engine, channel, on_event, clock=clock, close_timeout=close_timeout).run()
