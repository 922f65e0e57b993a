"""Reconnect delays: exponential backoff with jitter, pure and seedable so its maths is tested exactly.

S2 Connect asks for exponential backoff and recommends ``random(0, min(600 s, 2 s·2^n))``, that is
``ReconnectPolicy(initial=2, max=600, jitter=1.0)`` (:data:`S2_CONNECT_RECONNECT`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..errors import TransportConfigError

__all__ = ["S2_CONNECT_RECONNECT", "Backoff", "ReconnectPolicy"]


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """When and whether a client connects again.

    The n-th delay after a failure (n from 0) is ``min(max, initial·factor^n)`` scaled down by a random
    fraction of at most ``jitter``: 0 is no jitter, 1 is "full jitter" (anywhere in ``(0, base]``), which
    spreads a fleet of devices reconnecting after a CEM restart. The delay restarts from ``initial``
    after every session that started.
    """

    initial: float = 1.0
    max: float = 60.0
    factor: float = 2.0
    jitter: float = 0.1
    max_attempts: int | None = None
    """Consecutive failed connection attempts before giving up; ``None`` retries for ever."""
    stop_on_terminate: bool = True
    """Do not reconnect after a session that ended with a SessionRequest TERMINATE."""
    stop_on_refusal: bool = True
    """Give up at once on a refused token (401/403) or a certificate failure; retrying would not help."""

    def __post_init__(self) -> None:
        if not self.initial > 0:
            raise TransportConfigError(f"initial delay must be > 0, got {self.initial!r}")
        if not self.max >= self.initial:
            raise TransportConfigError(f"max delay {self.max!r} is below the initial delay {self.initial!r}")
        if not self.factor >= 1:
            raise TransportConfigError(f"factor must be >= 1, got {self.factor!r}")
        if not 0 <= self.jitter <= 1:
            raise TransportConfigError(f"jitter must be within [0, 1], got {self.jitter!r}")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise TransportConfigError(f"max_attempts must be None or >= 1, got {self.max_attempts!r}")


S2_CONNECT_RECONNECT = ReconnectPolicy(initial=2.0, max=600.0, factor=2.0, jitter=1.0)
"""The schedule S2 Connect recommends."""


class Backoff:
    """The delay sequence of one :class:`ReconnectPolicy`; pass a seeded ``random.Random`` in tests."""

    def __init__(self, policy: ReconnectPolicy, rng: random.Random | None = None) -> None:
        self.policy = policy
        self._rng = rng if rng is not None else random.Random()
        self._base = policy.initial
        self.failures = 0

    def next_delay(self) -> float:
        """The delay before the next attempt, in seconds; each call moves one step up the curve."""
        base = self._base
        # grow step by step: no float overflow however long the outage lasts
        self._base = min(self.policy.max, base * self.policy.factor)
        self.failures += 1
        return base * (1.0 - self.policy.jitter * self._rng.random())

    def reset(self) -> None:
        """Back to the initial delay (after a session started)."""
        self._base = self.policy.initial
        self.failures = 0
