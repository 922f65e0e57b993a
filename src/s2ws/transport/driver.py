"""Runs one sans-I/O session engine over one channel until either of them ends.

The engine never sees a socket or a clock; this is the only place where frames, wall time and the
application's event handler meet. One task per session reads frames and feeds them in; the engine's
``next_wakeup`` is served by a timer handle, and a timer or a ``wakeup`` with events to dispatch
flushes in a short-lived task (the engine is only touched from the loop's thread, between awaits), so
an idle session holds one task and no timer of its own. Every step is followed by a flush that writes
queued frames in order and dispatches events in order.

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
import inspect
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from ..errors import ChannelClosed
from .channel import CLOSE_GOING_AWAY, CLOSE_INTERNAL_ERROR, CLOSE_NORMAL, CLOSE_POLICY_VIOLATION, SKIP, Channel
from .connection import Connection, EngineLike
from .guard import LogLimiter, RateLimiter

__all__ = ["Clock", "Driver", "drive", "utc_now"]

log = logging.getLogger("s2ws.transport")

Clock = Callable[[], datetime]
_T = TypeVar("_T")
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

    # one per session, tens of thousands on a CEM: slots instead of an instance dict
    __slots__ = (
        "_clock",
        "_close_timeout",
        "_done",
        "_early_events",
        "_failure",
        "_flush_waiters",
        "_flushing",
        "_held",
        "_limiter",
        "_loop",
        "_lost",
        "_on_event",
        "_peer_closed",
        "_poked",
        "_rate_close_after",
        "_rate_limit",
        "_running",
        "_send_texts",
        "_service",
        "_stop",
        "_task",
        "_throttled_since",
        "_timer",
        "_timer_at",
        "_waiting",
        "_watch",
        "_write_now",
        "_write_timed_out",
        "_write_timeout",
        "channel",
        "engine",
    )

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
        self._flushing = False  # a flush is writing or dispatching (it drains until the engine is empty)
        self._flush_waiters: list[asyncio.Future[None]] | None = None
        send_texts = getattr(channel, "send_texts", None)
        self._send_texts: Callable[[Sequence[str]], Awaitable[None]] | None = (
            send_texts if callable(send_texts) else None
        )
        write_now = getattr(channel, "write_now", None)
        self._write_now: Callable[[Sequence[str]], bool] | None = write_now if callable(write_now) else None
        self._held: list[str] | None = (
            None  # drained by ``wakeup`` but not writable at once: the next flush writes them
        )
        self._early_events: list[object] | None = None  # drained by ``wakeup``: the next flush dispatches them first
        self._running = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None  # the task running ``run``, which reads
        self._waiting = False  # that task waits for the channel (or for its rate): ``_interrupt`` may cut it short
        self._poked = False  # ``_interrupt`` cancelled that wait
        self._service: asyncio.Task[None] | None = None  # a short task flushing after a timer or a wakeup
        self._failure: BaseException | None = None  # what that task failed with, for ``run`` to raise
        self._timer: asyncio.TimerHandle | None = None  # serves the engine's ``next_wakeup``
        self._timer_at: datetime | None = None
        self._stop: tuple[int, str] | None = None
        self._peer_closed = False
        self._done = _Flag()
        self._write_timeout = write_timeout
        self._watch: _WriteWatch | None = None
        self._write_timed_out = False
        self._lost: str | None = None  # why the socket was dropped, when the driver dropped it
        self._limiter = RateLimiter(rate_limit, rate_burst, time.monotonic()) if rate_limit is not None else None
        self._rate_limit = rate_limit or 0.0
        self._rate_close_after = rate_close_after
        self._throttled_since: float | None = None  # when the rate limiter began holding the peer back
        if connection is not None:
            connection._attach(self)

    def wakeup(self) -> None:
        """Flush what the engine queued outside the driver and re-read its timer.

        When no flush is running and the channel can write without waiting, the queued frames are
        written at once; events (and frames that could not be written at once) are left to a short
        task, made only when there is something for it to do."""
        if not self._running:
            return  # ``run`` flushes and reads the timer when it starts
        if not self._serving():
            self._interrupt()  # closed from outside: ``run`` finishes the session
            return
        if self._flushing:
            self._rearm(True)  # the running flush drains what was queued (it looks again after every wait)
            return
        kick = False
        frames = self.engine.data_to_send()
        if frames:
            if self._held:
                self._held.extend(frames)
            elif self._write_now is None or not self._write_now(frames):
                self._held = list(frames)
            kick = bool(self._held)
        events = self.engine.events()
        if events:
            if self._early_events:
                self._early_events.extend(events)
            else:
                self._early_events = list(events)
            kick = True
        self._rearm(True)
        if kick:
            self._kick()

    def stop(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        """Close the engine with ``reason`` (default "closed locally") and the channel with ``code``.

        An engine that is ``closing`` is left to finish first (its last answer or its own timer)."""
        if self._stop is None:
            self._stop = (code, reason or "closed locally")
        self.wakeup()  # a closing engine keeps being served (its frames written, its timer armed)

    async def abandon(self, reason: str) -> None:
        """End a session that never started because its socket failed before the upgrade completed.

        The engine is closed and its events (``SessionClosed`` with ``reason``) are dispatched, so that
        whoever registered the session on creation forgets it; nothing is written."""
        try:
            if not self.engine.closed:
                self.engine.close(reason, self._clock())
            self.engine.data_to_send()
            self._held = None
            await self._dispatch_events()
        finally:
            self._done.set()

    async def bounded(self, step: Awaitable[_T], timeout: float) -> _T:
        """Await ``step`` (the upgrade's answer going out), dropping the socket when it waits ``timeout``.

        Served by the loop-wide write watch like every write, so it leaves no timer behind (a cancelled
        timer stays in the loop's queue until enough of them pile up)."""
        watch = self._watch
        if watch is None:
            watch = self._watch = _WriteWatch.of(asyncio.get_running_loop())
        watch.start(self, timeout)
        try:
            return await step
        finally:
            watch.finish(self)

    async def wait_closed(self) -> None:
        """Return once ``run`` has finished, the channel included."""
        await self._done.wait()

    async def run(self) -> None:
        """Start the engine and serve it until it closes or the channel does; then close both.

        One task per session: this one reads, and the engine's timer is a timer handle whose
        callback (like ``wakeup`` from outside) flushes in a short task only when there is work."""
        code, reason = CLOSE_NORMAL, "peer closed"
        try:
            self.engine.start(self._clock())
            await self._flush()
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.current_task()
            self._running = True
            if not self.engine.closed and self._stop is None:
                self._rearm(True)
                # the read loop, inline: an idle session waits here, and every frame of a coroutine
                # waiting costs each idle session its bytes
                unwrap = getattr(self.channel, "unwrap", None)  # a channel that lends its socket's receive
                streak = 0
                while self._serving() and self._failure is None:
                    if self._limiter is not None and not await self._throttle():
                        continue
                    streak += 1
                    if streak >= _YIELD_EVERY:
                        streak = 0
                        await asyncio.sleep(0)  # frames already buffered would otherwise be read without a pause
                    self._waiting = True
                    try:
                        # looked up each time: a bound method kept in this frame would cost every idle session
                        data = await (self.channel.receive() if unwrap is None else self.channel.receive_message())  # type: ignore[attr-defined]
                    except asyncio.CancelledError:
                        if self._settle_poke():
                            continue  # cut short by ``_interrupt``: look at the engine again
                        raise
                    finally:
                        self._waiting = False
                    self._settle_poke()
                    if unwrap is not None:
                        data = unwrap(data)
                        if data is SKIP:
                            continue
                    if data is None:
                        self._peer_closed = True
                        break
                    clock = self._clock
                    self.engine.receive(data, _received_at() if clock is utc_now else clock())
                    del data, clock  # an idle session should not keep its last frame
                    await self._flush()
                    if self.engine.closed:
                        break
                    self._rearm(False)
            if self._failure is not None:
                raise self._failure
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
            self._task = None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._watch is not None:
                self._watch.finish(self)
            service = self._service
            if service is not None:
                service.cancel()
                await asyncio.gather(service, return_exceptions=True)
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
                    self._held = None
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
        self._rearm(True)

    async def _throttle(self) -> bool:
        """Hold the reader to ``rate_limit``; False when the loop should look at the engine again first."""
        limiter = self._limiter
        if limiter is None or getattr(self.engine, "closing", False):
            return True
        now = time.monotonic()
        wait = limiter.take(now)
        if wait <= 0.0:
            self._throttled_since = None
        elif self._throttled_since is None:
            self._throttled_since = now
        elif self._rate_close_after is not None and now - self._throttled_since >= self._rate_close_after:
            await self._end_flood(now - self._throttled_since)
            return False
        while wait > 0.0:
            if not await self._pause(wait):  # the peer's frames wait in the socket meanwhile
                return False  # cut short by ``_interrupt``
            wait = limiter.take(time.monotonic())
        return True

    async def _pause(self, seconds: float) -> bool:
        """Sleep for the rate limiter; False when ``_interrupt`` cut it short."""
        self._waiting = True
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            if self._settle_poke():
                return False
            raise
        finally:
            self._waiting = False
        self._settle_poke()
        return True

    def _settle_poke(self) -> bool:
        """After a wait that ``_interrupt`` may have cancelled: take that cancellation back.

        True when it was ours alone (the caller carries on); False when there was none, or when
        somebody else cancelled the task too (the caller lets the CancelledError through)."""
        if not self._poked:
            return False
        self._poked = False
        task = self._task
        return task is not None and task.uncancel() == 0

    def _interrupt(self) -> None:
        """Make ``run`` look at the engine now: cut short its wait for the channel, if it waits."""
        task = self._task
        if self._waiting and not self._poked and task is not None and not task.done():
            self._poked = True
            task.cancel()

    def _serving(self) -> bool:
        """Whether to keep serving the engine: it is open and not stopped, or stopped but closing."""
        if self.engine.closed:
            return False
        return self._stop is None or getattr(self.engine, "closing", False) is True

    def _rearm(self, force: bool) -> None:
        """Arm the timer for the engine's ``next_wakeup`` when it is earlier than the armed one.

        ``force`` re-reads the clock even for the same deadline (an injected clock may have moved).
        A later or vanished deadline leaves the armed timer: it fires, finds nothing due, re-arms."""
        wake = self.engine.next_wakeup()
        if wake is None:
            return
        timer = self._timer
        if timer is not None and not force and self._timer_at is not None and wake >= self._timer_at:
            return
        loop = self._loop
        if loop is None:
            return
        when = loop.time() + max((wake - self._clock()).total_seconds(), 0.0)
        if timer is not None:
            if timer.when() <= when:
                return
            timer.cancel()
        self._timer_at = wake
        self._timer = loop.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        if not self._running:
            return
        if self._serving():
            try:
                self.engine.handle_timeout(self._clock())
            except Exception as exc:  # ``run`` raises it, as if its own timer had failed
                self._failure = exc
                self._interrupt()
                return
        self.wakeup()  # a task only when the timer left something to write or dispatch

    def _kick(self) -> None:
        """Flush in a short task (one at a time), then re-read the timer or let ``run`` finish."""
        if self._service is None and self._running and self._loop is not None:
            self._service = self._loop.create_task(self._serve())

    async def _serve(self) -> None:
        try:
            await self._flush()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # ``run`` raises it, as if it had failed there
            self._failure = exc
        finally:
            self._service = None
        if self._failure is None and self._serving():
            self._rearm(True)
        else:
            self._interrupt()

    async def _flush(self) -> None:
        """Write every queued frame, then dispatch every event, until the engine has neither.

        One flush at a time (frames must go out in order): a second caller waits for the running
        one to end, then drains what is left, as with a lock but without one when uncontended."""
        while self._flushing:
            waiter = asyncio.get_running_loop().create_future()
            if self._flush_waiters is None:
                self._flush_waiters = []
            self._flush_waiters.append(waiter)
            await waiter
        self._flushing = True
        try:
            engine = self.engine
            while True:
                frames = engine.data_to_send()
                if self._held:
                    frames, self._held = [*self._held, *frames], None
                if frames:
                    await self._write(frames)
                events = self._take_events()
                if events:
                    await self._dispatch(events)
                elif not frames:
                    return
        finally:
            self._flushing = False
            waiters, self._flush_waiters = self._flush_waiters, None
            for waiter in waiters or ():
                if not waiter.done():
                    waiter.set_result(None)

    def _take_events(self) -> Sequence[object]:
        events = self.engine.events()
        early = self._early_events
        if early:
            self._early_events = None
            early.extend(events)
            return early
        return events

    async def _write(self, frames: Sequence[str]) -> None:
        """Write, bounded by ``write_timeout``: one loop-wide watch (not a timer per write, nor per
        session) drops a peer that has not read for that long."""
        if self._write_timeout is None:
            await self._write_frames(frames)
            return
        watch = self._watch
        if watch is None:
            watch = self._watch = _WriteWatch.of(asyncio.get_running_loop())
        watch.start(self, self._write_timeout)
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
            watch.finish(self)
        if self._write_timed_out:
            raise self._write_timeout_error()

    def _write_expired(self) -> None:
        """The write in progress waited ``write_timeout``: the peer does not read."""
        self._write_timed_out = True
        self._peer_closed = True  # it does not read: the close handshake would wait just the same
        waited = "in time" if self._write_timeout is None else f"for {self._write_timeout:g} s"  # None: ``bounded``
        self._lost = f"write timeout: the peer read nothing {waited}"
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
        events = self._take_events()
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


class _WriteWatch:
    """The write timeouts of every driver on one event loop, served by one timer.

    A driver registers each write that may wait and removes it when done (a dict insert and
    delete); the timer runs only while some write waits, at the earliest moment one can expire.
    An idle session therefore holds no timer for its write timeout."""

    __slots__ = ("_loop", "_timer", "_timer_when", "_writing")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._writing: dict[Driver, float] = {}  # driver -> when its write times out (loop time)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_when = 0.0

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop) -> _WriteWatch:
        """The loop's watch (a loop that takes no weak reference gets one per caller)."""
        try:
            watch = _WATCHES.get(loop)
            if watch is None:
                watch = _WATCHES[loop] = cls(loop)
        except TypeError:
            watch = cls(loop)
        return watch

    def start(self, driver: Driver, timeout: float) -> None:
        due = self._loop.time() + timeout
        self._writing[driver] = due
        if self._timer is None or due < self._timer_when:
            self._arm(due)

    def finish(self, driver: Driver) -> None:
        self._writing.pop(driver, None)  # the timer is left to run out: cheaper than cancelling it

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_when = when
        self._timer = self._loop.call_at(when, self._check)

    def _check(self) -> None:
        self._timer = None
        if not self._writing:
            return
        now = self._loop.time()
        expired = [driver for driver, due in self._writing.items() if due <= now]
        for driver in expired:
            del self._writing[driver]
            driver._write_expired()
        if self._writing:
            self._arm(min(self._writing.values()))


_WATCHES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _WriteWatch] = weakref.WeakKeyDictionary()


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
