"""A blocking facade for RM code that is not async: the RM runs on an event loop in its own thread.

::

    rm = BlockingRM(MyRM(details=...), "ws://cem.local:8080/")
    rm.start()                            # returns once the session is up (or raises)
    rm.send(PowerMeasurement(...))        # validated; raises on refusal, like the async send
    message = rm.next_message(timeout=1)  # what the CEM sent and we accepted, in order
    rm.stop()                             # TERMINATE, close, join the thread

Which thread runs what:

- the RM's handlers and hooks (``@on`` methods, ``on_select``, ...) run on the **loop thread**,
  exactly as in an async program; synchronous handlers decide the ReceptionStatus there, so they
  must be quick and must not call this facade's ``send`` (it would wait for the very thread it
  blocks; it raises RuntimeError instead);
- ``send``, ``next_message``, ``start`` and ``stop`` are for **your threads**; each is thread-safe
  (``asyncio.run_coroutine_threadsafe`` into the loop) and bounded by a timeout.

``next_message`` is how blocking code reacts to the CEM: every accepted message is queued for
it (after its OK went out), so a plain loop can take an instruction and ``send`` the statuses.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from ..messages.base import S2Message
from ..messages.common import ReceptionStatus
from ..messages.enums import InstructionStatus
from ..session.events import MessageReceived
from .handle import SessionHandle
from .rm import ResourceManager

__all__ = ["BlockingRM", "LoopThread"]

T = TypeVar("T")


class LoopThread:
    """An asyncio event loop running in a daemon thread, for code that cannot await."""

    def __init__(self, name: str = "s2ws-loop") -> None:
        self.name = name
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    def start(self) -> asyncio.AbstractEventLoop:
        if self._thread is not None:
            raise RuntimeError("the loop thread was started already")
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)
        self._thread.start()
        self._ready.wait()
        return self.loop

    def _main(self) -> None:
        assert self.loop is not None
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        try:
            self.loop.run_forever()
        finally:
            pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    @property
    def in_loop_thread(self) -> bool:
        return self._thread is not None and threading.current_thread() is self._thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        """Schedule ``coro`` on the loop; the returned future is safe to wait on from any other thread."""
        if self.loop is None or not self._thread or not self._thread.is_alive():
            coro.close()
            raise RuntimeError("the loop thread is not running")
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None) -> T:
        """Run ``coro`` on the loop and wait for its result (TimeoutError after ``timeout`` s)."""
        if self.in_loop_thread:
            coro.close()
            raise RuntimeError("called from the loop thread itself: this would wait for ever; await it instead")
        return self.submit(coro).result(timeout)

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop the loop (pending tasks are cancelled) and join the thread."""
        if self.loop is None or self._thread is None:
            return
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)


class BlockingRM:
    """Runs ``rm.run(url, **options)`` in a :class:`LoopThread`; see the module docstring."""

    def __init__(self, rm: ResourceManager, url: str, **options: Any) -> None:
        self.rm = rm
        self.url = url
        self.options = options
        self.messages: queue.Queue[S2Message] = queue.Queue()
        self._loop_thread = LoopThread(f"s2ws-rm-{id(self):x}")
        self._run: Future[None] | None = None
        rm.add_listener(self._listen)

    def start(self, timeout: float = 30.0) -> None:
        """Start the loop, connect, and return once the session is up (details sent).

        Raises what connecting raised (ConnectError, AuthenticationError, ...) or TimeoutError.
        """
        self._loop_thread.start()
        self._run = self._loop_thread.submit(self.rm.run(self.url, **self.options))
        ready = self._loop_thread.submit(self._wait_ready())
        try:
            ready.result(timeout)
        except BaseException:
            ready.cancel()
            self.stop()
            raise

    async def _wait_ready(self) -> SessionHandle:
        """Whichever comes first: the session is up, or ``run`` ended (its error is raised)."""
        assert self._run is not None
        run: asyncio.Future[None] = asyncio.wrap_future(self._run)
        connected: asyncio.Future[SessionHandle] = asyncio.ensure_future(self.rm.wait_connected())
        waiting: list[asyncio.Future[Any]] = [run, connected]
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if connected.done():
            return connected.result()
        connected.cancel()
        run.result()  # raises the connection error
        raise ConnectionError("the RM stopped before a session was up")

    def _listen(self, handle: SessionHandle, event: object) -> None:
        if isinstance(event, MessageReceived):
            self.messages.put(event.message)

    @property
    def connected(self) -> bool:
        return self.rm.connected

    def send(self, message: S2Message, *, wait: bool = False, timeout: float = 30.0) -> ReceptionStatus | None:
        """Validate and send from any thread but the loop's; raises the async ``send``'s errors."""
        return self._loop_thread.run(self.rm.send(message, wait=wait), timeout)

    def report(self, instruction_id: str, status: InstructionStatus, *, timeout: float = 30.0) -> None:
        """Send an InstructionStatusUpdate (see :meth:`ResourceManager.report`)."""
        self._loop_thread.run(self.rm.report(instruction_id, status), timeout)

    def next_message(self, timeout: float | None = None) -> S2Message | None:
        """The next message the CEM sent and we accepted; None after ``timeout`` seconds."""
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            return None

    def stop(self, timeout: float = 10.0) -> None:
        """End the session with TERMINATE, stop reconnecting, stop the loop and join its thread."""
        if self._loop_thread.loop is None:
            return
        try:
            if self._run is not None and not self._run.done():
                self._loop_thread.run(self.rm.close("stopped"), timeout)
                with contextlib.suppress(Exception):  # its error was reported by start() or is moot now
                    self._run.result(timeout)
        finally:
            self._loop_thread.stop(timeout)

    def __enter__(self) -> BlockingRM:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
