"""The history: one SQLite file in WAL mode, written by one thread, read by anyone.

Every ``record_*`` call only puts a row on a queue and returns, so the event loop never waits for
the disk; the writer thread takes what has queued up, writes it in one transaction and commits
(a burst of measurements costs one fsync, not one each). Readers open their own connection: WAL
lets them read while the writer writes. :meth:`History.flush` waits until everything queued so far
is on disk (call it off the loop, e.g. ``await asyncio.to_thread(history.flush)``).

Retention: :meth:`History.prune` drops measurements, kept messages, plans and finished
instructions older than ``retention`` before the given instant (time is a parameter, so a CEM on
a simulated clock prunes by simulated time). Instructions that have not finished are never pruned:
after a restart the CEM must still know them.
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..errors import StoreError
from .rows import (
    DeviceRow,
    InstructionRow,
    MeasurementRow,
    MessageRow,
    PlanRow,
    SessionRow,
    StatusChange,
    from_text,
    maybe,
    to_text,
)
from .schema import migrate

__all__ = ["History"]

log = logging.getLogger("s2ws.store")

_Op = tuple[str, tuple[Any, ...]] | tuple[str, list[tuple[Any, ...]]]
_STOP = object()
_BATCH = 500
_FINISHED = ("REJECTED", "REVOKED", "SUCCEEDED", "ABORTED")


def _connect(path: str, *, writer: bool) -> sqlite3.Connection:
    try:
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
        if writer:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA busy_timeout=30000")
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot open the history database: {exc}") from exc
    return connection


class History:
    """The CEM's history in the SQLite file ``path`` (created and migrated when opened).

    ``retention``: how long :meth:`prune` keeps measurements, messages, plans and finished
    instructions (None keeps everything).
    """

    def __init__(self, path: str | Path, *, retention: timedelta | None = None) -> None:
        if retention is not None and retention <= timedelta(0):
            raise ValueError("retention must be positive")
        self.path = str(path)
        self.retention = retention
        self._db = _connect(self.path, writer=True)
        try:
            migrate(self._db, self.path)
            (last,) = self._db.execute("SELECT COALESCE(MAX(id), 0) FROM plans").fetchone()
        except (sqlite3.Error, StoreError) as exc:
            self._db.close()
            raise exc if isinstance(exc, StoreError) else StoreError(f"{self.path}: {exc}") from exc
        self._plan_ids = int(last)
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._done = threading.Condition()
        self._queued = 0
        self._written = 0
        self._failures = 0
        self._closed = False
        self._reader_lock = threading.Lock()
        self._reader: sqlite3.Connection | None = None
        self._thread = threading.Thread(target=self._write_loop, name=f"s2ws history {Path(self.path).name}")
        self._thread.daemon = True
        self._thread.start()

    # --- writing (never blocks) --------------------------------------------------------------------

    def _put(self, sql: str, params: tuple[Any, ...] | list[tuple[Any, ...]]) -> None:
        if self._closed:
            raise StoreError(f"{self.path}: the history is closed")
        with self._done:
            self._queued += 1
        self._queue.put((sql, params))

    def record_session_started(self, session_id: str, role: str, peer: str | None, at: datetime) -> None:
        self._put(
            "INSERT OR IGNORE INTO sessions (id, role, peer, started_at) VALUES (?, ?, ?, ?)",
            (session_id, role, peer, to_text(at)),
        )

    def record_session_ended(self, session_id: str, reason: str, at: datetime) -> None:
        self._put("UPDATE sessions SET ended_at = ?, end_reason = ? WHERE id = ?", (to_text(at), reason, session_id))

    def record_device(self, session_id: str, resource_id: str, name: str | None, details: str, at: datetime) -> None:
        """The RM's ResourceManagerDetails (JSON text) arrived in ``session_id``."""
        self._put("UPDATE sessions SET resource_id = ? WHERE id = ?", (resource_id, session_id))
        self._put(
            "INSERT INTO devices (resource_id, name, details, session_id, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(resource_id) DO UPDATE SET name = excluded.name, details = excluded.details, "
            "session_id = excluded.session_id, updated_at = excluded.updated_at, control_type = NULL",
            (resource_id, name, details, session_id, to_text(at)),
        )

    def record_control_type(self, session_id: str, resource_id: str | None, control_type: str, at: datetime) -> None:
        self._put("UPDATE sessions SET control_type = ? WHERE id = ?", (control_type, session_id))
        if resource_id is not None:
            self._put(
                "UPDATE devices SET control_type = ?, updated_at = ? WHERE resource_id = ?",
                (control_type, to_text(at), resource_id),
            )

    def record_measurement(
        self, resource_id: str, session_id: str | None, at: datetime, values: Iterable[tuple[str, float]]
    ) -> None:
        stamp = to_text(at)
        rows = [(resource_id, session_id, stamp, quantity, float(value)) for quantity, value in values]
        if rows:
            self._put(
                "INSERT INTO measurements (resource_id, session_id, at, quantity, value) VALUES (?, ?, ?, ?, ?)", rows
            )

    def new_plan_id(self) -> int:
        """An id for the next plan (assigned here, so instructions can name their plan at once)."""
        with self._done:
            self._plan_ids += 1
            return self._plan_ids

    def record_plan(
        self,
        plan_id: int,
        at: datetime,
        status: str,
        objective_value: float | None,
        solve_seconds: float | None,
        relaxations: Sequence[dict[str, Any]],
        summary: dict[str, Any],
    ) -> None:
        self._put(
            "INSERT OR REPLACE INTO plans (id, at, status, objective_value, solve_seconds, relaxations, summary) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                plan_id,
                to_text(at),
                status,
                objective_value,
                solve_seconds,
                json.dumps(list(relaxations)),
                json.dumps(summary),
            ),
        )

    def record_instruction(
        self,
        instruction_id: str,
        session_id: str,
        resource_id: str | None,
        message_type: str,
        message: str,
        sent_at: datetime,
        execution_time: datetime | None,
        plan_id: int | None = None,
    ) -> None:
        """An instruction went out (its JSON ``message``); statuses follow with :meth:`record_status`.

        A status recorded before this row (the calls come from different places) is not lost: the
        row takes the last one recorded."""
        self._put(
            "INSERT OR IGNORE INTO instructions (id, session_id, resource_id, message_type, execution_time, "
            "sent_at, plan_id, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                instruction_id,
                session_id,
                resource_id,
                message_type,
                None if execution_time is None else to_text(execution_time),
                to_text(sent_at),
                plan_id,
                message,
            ),
        )
        self._put(
            "UPDATE instructions SET (status, status_at) = (SELECT status, at FROM instruction_statuses "
            "WHERE instruction_id = ?1 ORDER BY rowid DESC LIMIT 1) WHERE id = ?1 AND status IS NULL "
            "AND EXISTS (SELECT 1 FROM instruction_statuses WHERE instruction_id = ?1)",
            (instruction_id,),
        )

    def record_status(self, instruction_id: str, status: str, at: datetime) -> None:
        stamp = to_text(at)
        self._put(
            "INSERT INTO instruction_statuses (instruction_id, status, at) VALUES (?, ?, ?)",
            (instruction_id, status, stamp),
        )
        self._put("UPDATE instructions SET status = ?, status_at = ? WHERE id = ?", (status, stamp, instruction_id))

    def record_refused(self, instruction_id: str, diagnostic: str, at: datetime) -> None:
        """The RM refused the instruction message itself (a non-OK ReceptionStatus)."""
        stamp = to_text(at)
        self._put(
            "UPDATE instructions SET refused = ?, status_at = ? WHERE id = ?", (diagnostic, stamp, instruction_id)
        )

    def record_message(
        self,
        session_id: str,
        resource_id: str | None,
        at: datetime,
        direction: str,
        message_type: str,
        message_id: str | None,
        message: str,
    ) -> None:
        self._put(
            "INSERT INTO messages (session_id, resource_id, at, direction, message_type, message_id, message) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (session_id, resource_id, to_text(at), direction, message_type, message_id, message),
        )

    def prune(self, now: datetime) -> None:
        """Queue the deletion of what ``retention`` no longer keeps (nothing without a retention)."""
        if self.retention is None:
            return
        cut = (to_text(now - self.retention),)
        self._put("DELETE FROM measurements WHERE at < ?", cut)
        self._put("DELETE FROM messages WHERE at < ?", cut)
        self._put("DELETE FROM plans WHERE at < ?", cut)
        finished = ", ".join(f"'{s}'" for s in _FINISHED)
        self._put(
            f"DELETE FROM instructions WHERE sent_at < ? AND (status IN ({finished}) OR refused IS NOT NULL)", cut
        )
        # statuses of pruned instructions; a recent one whose instruction row is still to come stays
        self._put(
            "DELETE FROM instruction_statuses WHERE at < ? AND instruction_id NOT IN (SELECT id FROM instructions)", cut
        )
        self._put("DELETE FROM sessions WHERE ended_at IS NOT NULL AND ended_at < ?", cut)

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until everything queued so far is written (blocking: not on the event loop)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._done:
            target = self._queued
            while self._written < target and self._thread.is_alive():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._done.wait(left)
            return self._written >= target

    def close(self) -> None:
        """Write what is queued, stop the writer and close the file (blocking)."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()
        with self._reader_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    @property
    def failures(self) -> int:
        """Writes that failed (each logged, the first few in full); 0 on a healthy disk."""
        return self._failures

    def _write_loop(self) -> None:
        db = self._db
        stop = False
        while not stop:
            batch: list[tuple[str, Any]] = []
            item = self._queue.get()
            while True:
                if item is _STOP:
                    stop = True
                    break
                assert isinstance(item, tuple)
                batch.append(item)
                if len(batch) >= _BATCH:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._write(db, batch)
            with self._done:
                self._written += len(batch)
                self._done.notify_all()
        db.close()

    def _write(self, db: sqlite3.Connection, batch: list[tuple[str, Any]]) -> None:
        try:
            db.execute("BEGIN")
            for sql, params in batch:
                if isinstance(params, list):
                    db.executemany(sql, params)
                else:
                    db.execute(sql, params)
            db.execute("COMMIT")
            return
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            first = exc
        # one bad row must not lose the batch: write the rest one by one
        for sql, params in batch:
            try:
                if isinstance(params, list):
                    db.executemany(sql, params)
                else:
                    db.execute(sql, params)
            except sqlite3.Error as exc:
                self._failures += 1
                if self._failures <= 5 or self._failures % 1000 == 0:
                    log.error("%s: a history write failed (%d so far): %s", self.path, self._failures, exc)
        log.debug("%s: batch written row by row after: %s", self.path, first)

    # --- reading (blocking; any thread) ------------------------------------------------------------

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._reader_lock:
            if self._reader is None:
                self._reader = _connect(self.path, writer=False)
            try:
                return list(self._reader.execute(sql, params).fetchall())
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: query failed: {exc}") from exc

    def sessions(self, *, limit: int = 100, resource_id: str | None = None) -> list[SessionRow]:
        """The newest sessions first."""
        where, params = ("WHERE resource_id = ?", (resource_id,)) if resource_id is not None else ("", ())
        rows = self._read(
            "SELECT id, role, peer, started_at, ended_at, end_reason, resource_id, control_type FROM sessions "
            f"{where} ORDER BY started_at DESC LIMIT ?",
            (*params, limit),
        )
        return [SessionRow(r[0], r[1], r[2], from_text(r[3]), maybe(r[4]), r[5], r[6], r[7]) for r in rows]

    def devices(self) -> list[DeviceRow]:
        rows = self._read(
            "SELECT resource_id, name, details, session_id, control_type, updated_at FROM devices ORDER BY resource_id"
        )
        return [DeviceRow(r[0], r[1], r[2], r[3], r[4], from_text(r[5])) for r in rows]

    def instructions(
        self,
        *,
        resource_id: str | None = None,
        session_id: str | None = None,
        since: datetime | None = None,
        unfinished: bool = False,
        limit: int = 1000,
    ) -> list[InstructionRow]:
        """Instructions oldest first, each with its status timeline."""
        clauses: list[str] = []
        params: list[Any] = []
        if resource_id is not None:
            clauses.append("resource_id = ?")
            params.append(resource_id)
        if session_id is not None:
            clauses.append("session_id = ?")
            params.append(session_id)
        if since is not None:
            clauses.append("sent_at >= ?")
            params.append(to_text(since))
        if unfinished:
            finished = ", ".join(f"'{s}'" for s in _FINISHED)
            clauses.append(f"refused IS NULL AND (status IS NULL OR status NOT IN ({finished}))")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._read(
            "SELECT id, session_id, resource_id, message_type, execution_time, sent_at, plan_id, message, status, "
            f"status_at, refused FROM instructions {where} ORDER BY sent_at DESC, rowid DESC LIMIT ?",
            (*params, limit),
        )
        rows.reverse()
        timelines: dict[str, list[StatusChange]] = {r[0]: [] for r in rows}
        ids = list(timelines)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            for ident, status, at in self._read(
                f"SELECT instruction_id, status, at FROM instruction_statuses WHERE instruction_id IN ({marks}) "
                "ORDER BY at, rowid",
                tuple(chunk),
            ):
                timelines[ident].append(StatusChange(status, from_text(at)))
        return [
            InstructionRow(
                r[0],
                r[1],
                r[2],
                r[3],
                maybe(r[4]),
                from_text(r[5]),
                r[6],
                r[7],
                r[8],
                maybe(r[9]),
                r[10],
                tuple(timelines[r[0]]),
            )
            for r in rows
        ]

    def last_statuses(self) -> dict[str, str | None]:
        """Every kept instruction id with its last status ("refused" when the message was refused)."""
        rows = self._read("SELECT id, status, refused FROM instructions")
        return {r[0]: ("refused" if r[2] is not None else r[1]) for r in rows}

    def measurements(
        self, resource_id: str, start: datetime, end: datetime, *, quantity: str | None = None
    ) -> list[MeasurementRow]:
        """Measurements of ``resource_id`` in [start, end), oldest first."""
        sql = "SELECT resource_id, at, quantity, value FROM measurements WHERE resource_id = ? AND at >= ? AND at < ?"
        params: tuple[Any, ...] = (resource_id, to_text(start), to_text(end))
        if quantity is not None:
            sql += " AND quantity = ?"
            params += (quantity,)
        rows = self._read(sql + " ORDER BY at, rowid", params)
        return [MeasurementRow(r[0], from_text(r[1]), r[2], r[3]) for r in rows]

    def plans(self, *, limit: int = 20, since: datetime | None = None) -> list[PlanRow]:
        """The newest plans first."""
        where, params = ("WHERE at >= ?", (to_text(since),)) if since is not None else ("", ())
        rows = self._read(
            "SELECT id, at, status, objective_value, solve_seconds, relaxations, summary FROM plans "
            f"{where} ORDER BY id DESC LIMIT ?",
            (*params, limit),
        )
        return [PlanRow(r[0], from_text(r[1]), r[2], r[3], r[4], json.loads(r[5]), json.loads(r[6])) for r in rows]

    def messages(
        self, *, session_id: str | None = None, resource_id: str | None = None, limit: int = 1000
    ) -> list[MessageRow]:
        """Kept messages oldest first (the newest ``limit``)."""
        clauses, params = [], []
        if session_id is not None:
            clauses.append("session_id = ?")
            params.append(session_id)
        if resource_id is not None:
            clauses.append("resource_id = ?")
            params.append(resource_id)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._read(
            "SELECT session_id, resource_id, at, direction, message_type, message_id, message FROM messages "
            f"{where} ORDER BY id DESC LIMIT ?",
            (*params, limit),
        )
        rows.reverse()
        return [MessageRow(r[0], r[1], from_text(r[2]), r[3], r[4], r[5], r[6]) for r in rows]

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
