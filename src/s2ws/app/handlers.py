"""Typed, per-instance message handlers: ``@on(FRBCInstruction)`` on a method.

The table of handlers is built from the class (once per class, cached), and bound per instance,
so two CEMs in one process never share routes (unlike a module-level router).

A **synchronous** handler runs inside the session engine's ``receive``, before the answer is
chosen: returning means OK; raising :class:`~s2ws.errors.InvalidContent` (``rule, pointer, reason``),
:class:`~s2ws.errors.TemporaryError` or :class:`~s2ws.errors.PermanentError` answers that status;
any other exception is a bug on our side and is answered TEMPORARY_ERROR. It must be quick and
must not send (the message is not accepted yet); reply from an async handler.

An **async** handler runs after the message was answered OK, on the session's worker: one at a
time per session, in arrival order. Its exceptions are logged and never end the session. It may
``await`` anything, including the peer's answer to a message it sends, because ReceptionStatuses
are chosen by the engine and never wait for a handler.

Handlers match by class: ``@on(S2Message)`` sees every message. Handshake, HandshakeResponse and
SessionRequest belong to the engine: handlers of those are called after acceptance, as observers.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from ..messages.base import S2Message
from ..messages.common import ReceptionStatus

__all__ = ["Dispatcher", "HandlerSpec", "handler_specs", "on"]

F = TypeVar("F", bound=Callable[..., Any])

_MARK: Final = "__s2ws_on__"


def on(*message_types: type[S2Message]) -> Callable[[F], F]:
    """Mark a method as the handler of ``message_types`` (and their subclasses).

    Stacking ``@on`` adds types. ReceptionStatus cannot be handled: the engine matches it to the
    message it answers (see ``send(..., wait=True)`` and the ``on_event`` hook).
    """
    if not message_types:
        raise TypeError("@on() needs at least one message class")
    for kind in message_types:
        if not (isinstance(kind, type) and issubclass(kind, S2Message)):
            raise TypeError(f"@on() takes S2 message classes, got {kind!r}")
        if kind is ReceptionStatus:
            raise TypeError("ReceptionStatus is matched by the session engine; use send(wait=True) or on_event")

    def mark(func: F) -> F:
        if not callable(func):
            raise TypeError(f"@on() decorates methods, got {func!r}")
        previous: tuple[type[S2Message], ...] = getattr(func, _MARK, ())
        setattr(func, _MARK, previous + tuple(k for k in message_types if k not in previous))
        return func

    return mark


@dataclass(frozen=True, slots=True)
class HandlerSpec:
    """One decorated method of a class: its attribute name, the classes it handles, sync or async."""

    name: str
    types: tuple[type[S2Message], ...]
    is_async: bool


_SPECS: dict[type, tuple[HandlerSpec, ...]] = {}


def handler_specs(cls: type) -> tuple[HandlerSpec, ...]:
    """The handlers of ``cls`` in definition order, base classes first.

    A subclass that redefines a handler's name replaces it (undecorated: removes it), as with any
    method override.
    """
    cached = _SPECS.get(cls)
    if cached is not None:
        return cached
    found: dict[str, HandlerSpec] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            target = value.__func__ if isinstance(value, staticmethod | classmethod) else value
            types: tuple[type[S2Message], ...] | None = getattr(target, _MARK, None)
            if types:
                found[name] = HandlerSpec(name, types, inspect.iscoroutinefunction(target))
            elif name in found:
                del found[name]
    specs = tuple(found.values())
    _SPECS[cls] = specs
    return specs


class Dispatcher:
    """The handlers of one object, resolved per message class (cached)."""

    def __init__(self, owner: object) -> None:
        self._owner = owner
        self._specs = handler_specs(type(owner))
        self._cache: dict[type, tuple[list[Callable[..., Any]], list[Callable[..., Any]]]] = {}

    def __bool__(self) -> bool:
        return bool(self._specs)

    def handlers(self, message_type: type[S2Message]) -> tuple[list[Callable[..., Any]], list[Callable[..., Any]]]:
        """(sync, async) bound handlers for a message class, in definition order."""
        cached = self._cache.get(message_type)
        if cached is not None:
            return cached
        mro = message_type.__mro__
        sync: list[Callable[..., Any]] = []
        run_async: list[Callable[..., Any]] = []
        for spec in self._specs:
            if any(kind in mro for kind in spec.types):
                (run_async if spec.is_async else sync).append(getattr(self._owner, spec.name))
        cached = self._cache[message_type] = (sync, run_async)
        return cached

    def call_sync(self, message: S2Message, *context: Any) -> None:
        """Run the synchronous handlers; the first exception propagates (it decides the answer)."""
        for handler in self.handlers(type(message))[0]:
            handler(*context, message)
