"""Database connection settings the ORM does not make for us."""

from __future__ import annotations

import sqlite3

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

SQLITE_BUSY_TIMEOUT_MS = 10_000  # how long a writer waits for SQLite's one write lock


def _tune_sqlite(dbapi_connection, connection_record) -> None:
    """SQLite: write-ahead log, so readers never wait for the writer (request threads, the
    scheduler thread and the metrics flusher share one file), and a sync per checkpoint rather
    than per commit, which WAL makes safe against corruption."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()


def init_app(app) -> None:
    """Install the connection settings once per process (engines are created lazily)."""
    if not event.contains(Engine, "connect", _tune_sqlite):
        event.listen(Engine, "connect", _tune_sqlite)


def upsert_insert(conn: Connection):
    """The ``insert`` of the connection's dialect, the one with ``on_conflict_do_update``
    (PostgreSQL, and SQLite 3.24+): the portal's two databases write upserts alike."""
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
