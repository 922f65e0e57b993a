"""The history's schema, as an ordered list of migrations; ``PRAGMA user_version`` says how many ran.

A database written by an older s2ws is brought up to date when opened; one written by a newer
s2ws is refused (its tables may mean something this version does not know). Add a migration at
the end, never edit one that shipped. Times are stored as RFC 3339 UTC text with microseconds,
which sorts as the instants do, so range queries use plain string comparison.
"""

from __future__ import annotations

import sqlite3
from typing import Final

from ..errors import StoreError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate"]

MIGRATIONS: Final[tuple[str, ...]] = (
    # 1: the first schema
    """
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        peer TEXT,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        end_reason TEXT,
        resource_id TEXT,
        control_type TEXT
    );
    CREATE INDEX sessions_started ON sessions(started_at);
    CREATE INDEX sessions_resource ON sessions(resource_id);

    CREATE TABLE devices (
        resource_id TEXT PRIMARY KEY,
        name TEXT,
        details TEXT NOT NULL,
        session_id TEXT,
        control_type TEXT,
        updated_at TEXT NOT NULL
    );

    CREATE TABLE measurements (
        resource_id TEXT NOT NULL,
        session_id TEXT,
        at TEXT NOT NULL,
        quantity TEXT NOT NULL,
        value REAL NOT NULL
    );
    CREATE INDEX measurements_resource_at ON measurements(resource_id, at);
    CREATE INDEX measurements_at ON measurements(at);

    CREATE TABLE plans (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        status TEXT NOT NULL,
        objective_value REAL,
        solve_seconds REAL,
        relaxations TEXT NOT NULL,
        summary TEXT NOT NULL
    );
    CREATE INDEX plans_at ON plans(at);

    CREATE TABLE instructions (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL,
        resource_id TEXT,
        message_type TEXT NOT NULL,
        execution_time TEXT,
        sent_at TEXT NOT NULL,
        plan_id INTEGER,
        message TEXT NOT NULL,
        status TEXT,
        status_at TEXT,
        refused TEXT
    );
    CREATE INDEX instructions_resource ON instructions(resource_id, sent_at);
    CREATE INDEX instructions_sent ON instructions(sent_at);

    CREATE TABLE instruction_statuses (
        instruction_id TEXT NOT NULL,
        status TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX instruction_statuses_id ON instruction_statuses(instruction_id, at);

    CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL,
        resource_id TEXT,
        at TEXT NOT NULL,
        direction TEXT NOT NULL,
        message_type TEXT NOT NULL,
        message_id TEXT,
        message TEXT NOT NULL
    );
    CREATE INDEX messages_session ON messages(session_id, at);
    CREATE INDEX messages_at ON messages(at);
    """,
)
SCHEMA_VERSION: Final = len(MIGRATIONS)


def migrate(connection: sqlite3.Connection, path: str) -> int:
    """Run the migrations ``connection`` lacks; returns the version it had. Each runs in its own
    transaction together with the version bump, so a crash leaves a consistent earlier version."""
    (version,) = connection.execute("PRAGMA user_version").fetchone()
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path}: history schema version {version} is newer than this s2ws understands ({SCHEMA_VERSION})"
        )
    for number in range(version, SCHEMA_VERSION):
        statements = [s.strip() for s in MIGRATIONS[number].split(";") if s.strip()]
        try:
            connection.execute("BEGIN IMMEDIATE")
            for statement in statements:
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {number + 1}")
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            connection.execute("ROLLBACK")
            raise StoreError(f"{path}: migration to schema version {number + 1} failed: {exc}") from exc
    return int(version)
