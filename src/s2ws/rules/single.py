"""Context-free rules: what one decoded message must satisfy on its own.

``check_message`` runs after every decode, so each checker first asks a cheap question in
C-level passes (``map``, ``set``, slices) that only says "something may be wrong"; valid
traffic stops there. Only then does a second, slower walk find what is wrong and where. The
few warnings that must visit every element of a long series or description to say little of
consequence are ``deep`` rules: :func:`check_deep` runs them (validate, replay, context).

The checkers live by message family: :mod:`.single_common`, :mod:`.single_pebc`,
:mod:`.single_ppbc`, :mod:`.single_om` (OMBC, FRBC, DDBC), the deep rules in
:mod:`.single_deep` and what they share in :mod:`.single_base`. This module joins their tables
and keeps every public name importable from here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from ..messages.base import S2Message
from .catalogue import Finding
from .single_base import CQ_COMMODITY, QUANTITY_UNITS, Out, fmt_num, sequence_duration_ms
from .single_common import COMMON_CHECKS
from .single_deep import check_deep
from .single_om import OM_CHECKS, judge_factor
from .single_pebc import PEBC_CHECKS
from .single_ppbc import PPBC_CHECKS

__all__ = [
    "CQ_COMMODITY",
    "QUANTITY_UNITS",
    "check_deep",
    "check_message",
    "fmt_num",
    "judge_factor",
    "sequence_duration_ms",
    "single_rules",
]

_CHECKS: Final[dict[type[S2Message], Callable[[Any], Out]]] = {
    **COMMON_CHECKS,
    **PEBC_CHECKS,
    **PPBC_CHECKS,
    **OM_CHECKS,
}


def single_rules(cls: type[S2Message]) -> Callable[[Any], list[Finding]] | None:
    """What :func:`check_message` runs for messages of ``cls`` (None: no single-message rule)."""
    return _CHECKS.get(cls)


def check_message(message: S2Message) -> list[Finding]:
    """Findings of the context-free rules for one decoded message (empty when it passes).

    Fast enough to run after every decode; the ``deep`` rules are in :func:`check_deep`.
    """
    check = _CHECKS.get(type(message))
    if check is None:
        return []
    return check(message)
