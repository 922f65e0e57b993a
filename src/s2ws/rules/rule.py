"""A rule of the catalogue, and the list the catalogue modules declare their rules into."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..findings import Severity

__all__ = ["RULES", "E", "Rule", "W", "declare"]


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: what it demands, how bad a breach is, and which fields it reads."""

    id: str
    severity: Severity
    needs_context: bool
    """True when judging it needs earlier messages of the session (a SessionContext)."""
    statement: str
    fields: tuple[str, ...]
    rejectable: bool = False
    """A flexibility rule: a receiver may answer OK and then report the instruction REJECTED
    instead of answering INVALID_CONTENT (both readings exist; replay accepts either)."""
    deep: bool = False
    """Judges every value of a long series, which costs more than decoding it: run by
    ``check_deep`` (validate, replay, SessionContext), not by the receive-path ``check_message``."""

    @property
    def area(self) -> str:
        return self.id.split("-")[1]


E: Final = "error"
W: Final = "warning"
RULES: list[Rule] = []
"""Every rule, in the order the catalogue declares them (the order of docs/rules.md)."""


def declare(
    rule_id: str,
    severity: Severity,
    ctx: bool,
    statement: str,
    *fields: str,
    rejectable: bool = False,
    deep: bool = False,
) -> None:
    RULES.append(Rule(rule_id, severity, ctx, statement, fields, rejectable, deep))
