"""What an idle session keeps: the per-session objects have no instance dict, and what an idle
session does not use (the deadline queue, the timed-out memory, the instruction and object
memories) is not allocated. Structural, so it holds on any machine; the bytes are measured by
``python -m bench.memory``."""

from __future__ import annotations

import sys
from collections import OrderedDict
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builders import CEM, FRBC, Pair, frbc_instruction_om1
from s2ws.app.observe import AppSession
from s2ws.rules import SessionContext
from s2ws.rules.context import _NO_PENDING
from s2ws.rules.memory import _ControlState
from s2ws.session import Session
from s2ws.session.ledger import _SMALL, Ledger, remember
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


def test_an_idle_contexts_emptied_tables_are_let_go() -> None:
    pair = Pair.create(cem={"checker": SessionContext()})
    pair.initialize(FRBC)
    context = pair.cem.checker
    assert isinstance(context, SessionContext)
    for side in (context._cem_side, context._rm_side):
        assert side.early is None  # every early answer was matched with its message
        assert not side.pending and sys.getsizeof(side.pending) == sys.getsizeof({})  # no table kept
    assert sys.getsizeof(pair.cem._ledger._outstanding) == sys.getsizeof({})
    assert _NO_PENDING == {}  # the shared empty table was never written to


def test_sessions_whose_peers_offer_the_same_versions_share_the_list() -> None:
    first, second = _idle_pair(), _idle_pair()
    assert first.cem.peer_versions == second.cem.peer_versions
    assert first.cem.peer_versions is second.cem.peer_versions


class _Lru:
    """The reference: an OrderedDict LRU of ``cap`` ids, as the ledger kept them before."""

    def __init__(self, cap: int) -> None:
        self.cap, self.items = cap, OrderedDict[str, None]()

    def put(self, key: str) -> None:
        if key in self.items:
            self.items.move_to_end(key)
        self.items[key] = None
        while len(self.items) > self.cap:
            self.items.popitem(last=False)


@settings(max_examples=200, deadline=None)
@given(cap=st.integers(1, 80), keys=st.lists(st.integers(0, 120), max_size=300))
def test_the_answered_memory_is_the_same_lru_small_or_large(cap: int, keys: list[int]) -> None:
    """A plain dict while small, an OrderedDict past _SMALL entries: the same ids in the same order."""
    ledger, reference = Ledger(max_remembered=cap), _Lru(cap)
    for key in keys:
        ledger.finish(str(key))
        reference.put(str(key))
        assert list(ledger._answered) == list(reference.items)
    assert ledger.sizes()["answered"] == min(cap, len(set(map(str, keys))))
    if cap < _SMALL:
        assert not isinstance(ledger._answered, OrderedDict)  # a few ids need no LRU order


def test_remember_on_a_plain_dict_moves_and_evicts_like_an_ordered_one() -> None:
    plain: dict[str, int] = {}
    ordered: OrderedDict[str, int] = OrderedDict()
    for key, value in [("a", 1), ("b", 2), ("a", 3), ("c", 4), ("d", 5)]:
        remember(plain, key, value, 3)
        remember(ordered, key, value, 3)
    assert list(plain.items()) == list(ordered.items()) == [("a", 3), ("c", 4), ("d", 5)]
