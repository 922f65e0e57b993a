"""Which of several published objects is in force at a moment: one answer for system
descriptions and PowerConstraints, for the rule context and the control views alike.

The standard's reading (protocol §3.6): an object with ``valid_from`` in the future is scheduled;
from its ``valid_from`` it supersedes every older one; ``valid_until`` (PEBC only) ends it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TypeVar

__all__ = ["in_force"]

T = TypeVar("T")


def in_force(
    entries: Iterable[T],
    moment: datetime,
    valid_from: Callable[[T], datetime],
    valid_until: Callable[[T], datetime | None] | None = None,
) -> T | None:
    """The entry in force at ``moment``: of those valid then, the one with the latest
    ``valid_from``, the later one on a tie (``entries`` in the order they arrived)."""
    best: T | None = None
    best_from: datetime | None = None
    for entry in entries:
        start = valid_from(entry)
        if start > moment:
            continue
        if valid_until is not None:
            until = valid_until(entry)
            if until is not None and moment >= until:
                continue
        if best_from is None or start >= best_from:
            best, best_from = entry, start
    return best
