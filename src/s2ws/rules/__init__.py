"""Numbered semantic rules: what a message must satisfy alone and in the light of its session.

``check_message`` runs the single-message rules after every decode; ``SessionContext``
remembers a session and adds the rules that need it; ``ensure_valid_outgoing`` refuses a
message we must not send; ``CATALOGUE`` lists every rule with its id and severity.
"""

from __future__ import annotations

from .catalogue import CATALOGUE, Finding, Rule, RuleFinding, Severity
from .context import SessionContext, ensure_valid_outgoing
from .single import check_deep, check_message

__all__ = [
    "CATALOGUE",
    "Finding",
    "Rule",
    "RuleFinding",
    "SessionContext",
    "Severity",
    "check_deep",
    "check_message",
    "ensure_valid_outgoing",
]
