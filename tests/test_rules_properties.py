"""Totality: no schema-valid message or sequence of messages makes a rule raise."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from s2ws.errors import InvalidContent
from s2ws.messages.base import S2Message
from s2ws.rules import SessionContext, check_deep, check_message, ensure_valid_outgoing
from strategies import messages

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
T0 = datetime(2024, 8, 24, 14, 0, tzinfo=UTC)
DIRECTIONS = st.sampled_from(["cem>rm", "rm>cem"])


@SETTINGS
@given(messages("0.0.2-beta") | messages("1.0.0"))
def test_single_message_rules_never_raise(message: S2Message) -> None:
    for found in check_message(message) + check_deep(message):
        assert found.diagnostic.startswith(found.rule + " at /")


@SETTINGS
@given(st.lists(st.tuples(messages(), DIRECTIONS), max_size=12))
def test_a_context_takes_any_sequence(sequence: list[tuple[S2Message, str]]) -> None:
    context = SessionContext()
    for message, direction in sequence:
        context.check(message, direction, T0)
        context.apply(message, direction, T0)
    for message, _direction in sequence:
        try:
            ensure_valid_outgoing(message, context, T0)
        except InvalidContent as refused:
            assert refused.diagnostic.startswith(refused.rule)
