"""Reconnect backoff: exact sequences with a seeded RNG, the cap, the reset, and option checks."""

from __future__ import annotations

import random

import pytest

from s2ws.errors import TransportConfigError
from s2ws.transport import S2_CONNECT_RECONNECT, Backoff, ReconnectPolicy


def test_without_jitter_the_sequence_doubles_up_to_the_cap() -> None:
    backoff = Backoff(ReconnectPolicy(initial=1, max=10, factor=2, jitter=0))
    assert [backoff.next_delay() for _ in range(7)] == [1, 2, 4, 8, 10, 10, 10]
    assert backoff.failures == 7


def test_jitter_scales_each_step_down_by_a_seeded_fraction() -> None:
    policy = ReconnectPolicy(initial=1, max=60, factor=2, jitter=0.1)
    backoff = Backoff(policy, random.Random(7))
    reference = random.Random(7)
    bases = [1, 2, 4, 8, 16, 32, 60, 60]
    got = [backoff.next_delay() for _ in bases]
    assert got == [b * (1 - 0.1 * reference.random()) for b in bases]
    assert all(0.9 * b < d <= b for b, d in zip(bases, got, strict=True))


def test_same_seed_same_sequence() -> None:
    policy = ReconnectPolicy(jitter=0.5)
    a = Backoff(policy, random.Random(3))
    b = Backoff(policy, random.Random(3))
    assert [a.next_delay() for _ in range(10)] == [b.next_delay() for _ in range(10)]


def test_full_jitter_stays_within_zero_and_the_capped_base() -> None:
    backoff = Backoff(S2_CONNECT_RECONNECT, random.Random(1))
    for n in range(40):
        base = min(600.0, 2.0 * 2.0**n)
        delay = backoff.next_delay()
        assert 0 < delay <= base


def test_cap_holds_for_ever_without_overflow() -> None:
    backoff = Backoff(ReconnectPolicy(initial=1, max=30, factor=10, jitter=0))
    delays = [backoff.next_delay() for _ in range(5000)]
    assert max(delays) == 30
    assert delays[-1] == 30


def test_reset_restarts_from_the_initial_delay() -> None:
    backoff = Backoff(ReconnectPolicy(initial=0.5, max=8, jitter=0))
    assert [backoff.next_delay() for _ in range(4)] == [0.5, 1, 2, 4]
    backoff.reset()
    assert backoff.failures == 0
    assert [backoff.next_delay() for _ in range(2)] == [0.5, 1]


@pytest.mark.parametrize(
    "options",
    [
        {"initial": 0},
        {"initial": -1},
        {"initial": 5, "max": 1},
        {"factor": 0.5},
        {"jitter": -0.1},
        {"jitter": 1.5},
        {"max_attempts": 0},
    ],
)
def test_bad_policies_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(TransportConfigError):
        ReconnectPolicy(**options)  # type: ignore[arg-type]
    with pytest.raises(ValueError):  # the error is a ValueError as well
        ReconnectPolicy(**options)  # type: ignore[arg-type]
