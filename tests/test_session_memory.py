"""What an idle session keeps: the per-session objects have no instance dict, and what an idle
session does not use (the deadline queue, the timed-out memory, the instruction and object
memories) is not allocated. Structural, so it holds on any machine; the bytes are measured by
``python -m bench.memory``."""

from __future__ import annotations

from datetime import timedelta

import pytest

from builders import CEM, FRBC, Pair, frbc_instruction_om1
from s2ws.app.observe import AppSession
from s2ws.rules import SessionContext
from s2ws.rules.memory import _ControlState
from s2ws.session import Session
from s2ws.session.ledger import Ledger
from s2ws.session.tracking import InstructionTracker, ObjectRegistry


@pytest.mark.parametrize(
    "obj",
    [
        Session(CEM),
        AppSession(CEM, session_id="s", observers=(), clock=lambda: None),  # type: ignore[arg-type, return-value]
        Ledger(max_remembered=4),
        InstructionTracker(4),
        ObjectRegistry(4),
    ],
    ids=lambda obj: type(obj).__name__,
)
def test_per_session_objects_have_slots_not_a_dict(obj: object) -> None:
    assert not hasattr(obj, "__dict__")
    with pytest.raises(AttributeError):
        obj.unexpected = 1  # type: ignore[attr-defined]


def _idle_pair() -> Pair:
    pair = Pair.create()
    pair.initialize(FRBC)
    for side in (pair.cem, pair.rm):
        side.next_wakeup()  # what a transport asks after every frame
    return pair


def test_an_idle_session_keeps_no_deadline_queue_and_no_empty_memories() -> None:
    pair = _idle_pair()
    for side in (pair.cem, pair.rm):
        ledger = side._ledger
        assert len(ledger) == 0 and ledger.sizes()["deadline_heap"] == 0
        assert ledger._fifo is None and ledger._timed_out is None
        assert not isinstance(side._instructions._status, dict)
        assert not isinstance(side._ours._objects, dict) and not isinstance(side._theirs._objects, dict)


def test_the_lazy_memories_appear_when_used_and_the_queue_goes_when_drained() -> None:
    pair = _idle_pair()
    instruction = frbc_instruction_om1()
    pair.cem.send(instruction, pair.clock.now)
    assert pair.cem._ledger._fifo is not None  # a deadline is waiting
    pair.pump()
    assert instruction.id in pair.cem._instructions and instruction.id in pair.rm._instructions
    pair.cem.next_wakeup()
    assert pair.cem._ledger._fifo is None  # answered: the stale deadline was dropped with its queue


def test_the_timed_out_memory_appears_when_something_times_out() -> None:
    pair = _idle_pair()
    pair.cem.send(frbc_instruction_om1(), pair.clock.now)
    pair.cem.data_to_send()  # lost on the way
    pair.cem.handle_timeout(pair.clock.advance(timedelta(seconds=6).total_seconds()))
    assert pair.cem._ledger.sizes()["timed_out"] == 1


def _made(state: _ControlState, name: str) -> bool:
    try:
        object.__getattribute__(state, name)  # no __getattr__ fallback: does not make the table
    except AttributeError:
        return False
    return True


def test_the_rule_contexts_control_type_tables_are_made_on_first_use() -> None:
    pair = Pair.create(cem={"checker": SessionContext()})
    pair.initialize(FRBC)
    context = pair.cem.checker
    assert isinstance(context, SessionContext) and context.active is FRBC
    state = context._ct
    tables = [name for name in _ControlState.__slots__ if name != "fill_level"]
    assert not any(_made(state, name) for name in tables)
    assert state.fill_level is None and not hasattr(state, "__dict__")
    statuses = state.statuses
    assert statuses == {} and state.statuses is statuses and _made(state, "statuses")
    assert state.descriptions == [] and _made(state, "descriptions")
    with pytest.raises(AttributeError, match="no attribute 'unknown'"):
        getattr(state, "unknown")  # noqa: B009 - the name is not a table
