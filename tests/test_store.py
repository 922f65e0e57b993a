"""The SQLite history: what goes in comes out through the query API, across a reopen, with
migrations, retention and a writer that never takes the caller's thread."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from s2ws.errors import StoreError
from s2ws.store import SCHEMA_VERSION, History

T0 = datetime(2026, 3, 20, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_session_its_device_and_an_instruction_with_its_status_timeline(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    with History(db) as history:
        history.record_session_started("s1", "CEM", "127.0.0.1:5000", at(0))
        history.record_device("s1", "bat-1", "battery", '{"resource_id": "bat-1"}', at(0.1))
        history.record_control_type("s1", "bat-1", "FILL_RATE_BASED_CONTROL", at(0.2))
        plan = history.new_plan_id()
        history.record_plan(plan, at(0.3), "optimal", 1.25, 0.5, [{"constraint": "target", "amount": 1.0}], {"n": 1})
        history.record_instruction("i1", "s1", "bat-1", "FRBC.Instruction", '{"id": "i1"}', at(0.3), at(1), plan)
        history.record_instruction("i2", "s1", "bat-1", "FRBC.Instruction", '{"id": "i2"}', at(0.4), at(2), plan)
        for minute, status in ((0.31, "ACCEPTED"), (1, "STARTED"), (1.01, "SUCCEEDED")):
            history.record_status("i1", status, at(minute))
        history.record_refused("i2", "INVALID_CONTENT: no", at(0.41))
        history.record_session_ended("s1", "peer went away", at(5))
        assert history.flush()

    reopened = History(db)
    try:
        (session,) = reopened.sessions()
        assert (session.id, session.resource_id, session.control_type) == ("s1", "bat-1", "FILL_RATE_BASED_CONTROL")
        assert session.ended_at == at(5) and session.end_reason == "peer went away"
        (device,) = reopened.devices()
        assert device.resource_id == "bat-1" and device.control_type == "FILL_RATE_BASED_CONTROL"
        first, second = reopened.instructions(resource_id="bat-1")
        assert first.id == "i1" and first.status == "SUCCEEDED" and first.finished
        assert [c.status for c in first.timeline] == ["ACCEPTED", "STARTED", "SUCCEEDED"]
        assert first.execution_time == at(1) and first.plan_id == plan
        assert second.refused == "INVALID_CONTENT: no" and second.status is None and second.finished
        assert reopened.last_statuses() == {"i1": "SUCCEEDED", "i2": "refused"}
        (row,) = reopened.plans()
        assert row.id == plan and row.objective_value == 1.25 and row.relaxations[0]["constraint"] == "target"
        assert reopened.new_plan_id() == plan + 1  # ids continue after a restart
    finally:
        reopened.close()


def test_unfinished_instructions_are_found_and_survive_retention(tmp_path: Path) -> None:
    with History(tmp_path / "h.db", retention=timedelta(hours=1)) as history:
        history.record_instruction("old-done", "s", "r", "OMBC.Instruction", "{}", at(0), at(0))
        history.record_status("old-done", "SUCCEEDED", at(1))
        history.record_instruction("old-open", "s", "r", "OMBC.Instruction", "{}", at(0), at(0))
        history.record_status("old-open", "ACCEPTED", at(1))
        history.record_instruction("new", "s", "r", "OMBC.Instruction", "{}", at(170), at(170))
        history.record_measurement("r", "s", at(10), [("ELECTRIC.POWER.L1", 100.0)])
        history.record_measurement("r", "s", at(150), [("ELECTRIC.POWER.L1", 200.0), ("HEAT.TEMPERATURE", 50.0)])
        history.record_message("s", "r", at(5), "rm>cem", "OMBC.SystemDescription", "m1", "{}")
        history.prune(at(180))
        history.flush()
        assert [i.id for i in history.instructions(unfinished=True)] == ["old-open", "new"]
        assert set(history.last_statuses()) == {"old-open", "new"}
        kept = history.measurements("r", at(0), at(200))
        assert [(m.quantity, m.value) for m in kept] == [("ELECTRIC.POWER.L1", 200.0), ("HEAT.TEMPERATURE", 50.0)]
        assert history.measurements("r", at(0), at(200), quantity="HEAT.TEMPERATURE")[0].value == 50.0
        assert history.messages() == []


def test_a_status_recorded_before_its_instruction_is_not_lost(tmp_path: Path) -> None:
    """The status may be queued first (another caller, another order): the row still gets it."""
    with History(tmp_path / "h.db", retention=timedelta(hours=1)) as history:
        history.record_status("early", "ACCEPTED", at(170))
        history.record_status("early", "STARTED", at(171))
        history.record_status("gone", "SUCCEEDED", at(0))  # an old status of an instruction pruned long ago
        history.prune(at(180))  # between the statuses and their instruction row
        history.record_instruction("early", "s", "r", "OMBC.Instruction", "{}", at(169), at(175))
        history.record_instruction("plain", "s", "r", "OMBC.Instruction", "{}", at(172), at(175))
        history.flush()
        early, plain = history.instructions()
        assert early.id == "early" and early.status == "STARTED" and early.status_at == at(171)
        assert [c.status for c in early.timeline] == ["ACCEPTED", "STARTED"]
        assert plain.status is None and plain.timeline == ()
        history.record_status("early", "SUCCEEDED", at(176))
        history.record_instruction("early", "s", "r", "OMBC.Instruction", "{}", at(169), at(175))  # again: no change
        history.flush()
        assert history.last_statuses() == {"early": "SUCCEEDED", "plain": None}
        assert history._read("SELECT COUNT(*) FROM instruction_statuses WHERE instruction_id = 'gone'") == [(0,)]


def test_measurements_in_a_time_range_are_half_open(tmp_path: Path) -> None:
    with History(tmp_path / "h.db") as history:
        for minute in range(10):
            history.record_measurement("pv", None, at(minute), [("ELECTRIC.POWER.L1", float(minute))])
        history.flush()
        assert [m.value for m in history.measurements("pv", at(2), at(5))] == [2.0, 3.0, 4.0]
        assert history.measurements("other", at(0), at(10)) == []


def test_recording_does_not_wait_for_the_disk(tmp_path: Path) -> None:
    """A reader holding a write lock stalls the writer thread, never the caller."""
    db = tmp_path / "h.db"
    history = History(db)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the writer thread now waits for this lock
    try:
        done = threading.Event()

        def record() -> None:
            for minute in range(200):
                history.record_measurement("r", None, at(minute), [("ELECTRIC.POWER.L1", 1.0)])
            done.set()

        worker = threading.Thread(target=record)
        worker.start()
        worker.join(timeout=60)
        assert done.is_set()
        assert not history.flush(timeout=0.2)  # still queued behind the lock
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert history.flush()
    assert len(history.measurements("r", at(0), at(1000))) == 200
    history.close()


def test_the_schema_is_versioned_and_a_newer_file_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    History(db).close()
    connection = sqlite3.connect(db)
    assert connection.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.commit()
    connection.close()
    with pytest.raises(StoreError, match=r"h\.db: history schema version .* newer"):
        History(db)


def test_an_unopenable_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="nowhere"):
        History(tmp_path / "nowhere" / "h.db")


def test_a_failing_write_is_counted_and_the_rest_of_the_batch_lands(tmp_path: Path) -> None:
    with History(tmp_path / "h.db") as history:
        history.record_plan(1, at(0), "optimal", 1.0, 0.1, [], {})
        history._put("INSERT INTO no_such_table VALUES (?)", (1,))
        history.record_plan(2, at(1), "optimal", 2.0, 0.1, [], {})
        history.flush()
        assert history.failures == 1
        assert [p.id for p in history.plans()] == [2, 1]


def test_naive_times_are_refused(tmp_path: Path) -> None:
    with History(tmp_path / "h.db") as history, pytest.raises(ValueError, match="naive"):
        history.record_session_started("s", "CEM", None, datetime(2026, 1, 1))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.sampled_from(["ACCEPTED", "STARTED", "SUCCEEDED", "ABORTED", "REVOKED", "REJECTED"]), min_size=1, max_size=6
    )
)
def test_the_last_status_is_the_last_one_recorded(tmp_path: Path, statuses: list[str]) -> None:
    db = tmp_path / f"{uuid.uuid4()}.db"  # one file per example
    with History(db) as history:
        history.record_instruction("i", "s", "r", "PPBC.ScheduleInstruction", "{}", at(0), None)
        for n, status in enumerate(statuses):
            history.record_status("i", status, at(n + 1))
    with History(db) as history:
        (row,) = history.instructions()
        assert row.status == statuses[-1] and [c.status for c in row.timeline] == statuses
