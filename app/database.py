"""Database connection settings the ORM does not make for us."""

from __future__ import annotations

import sqlite3

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url

SQLITE_BUSY_TIMEOUT_MS = 10_000  # how long a writer waits for SQLite's one write lock
# Threads of the process other than the request threads that check a connection out: the
# scheduler's job threads (app.scheduler.JOB_THREADS) and the performance plugin's flusher.
BACKGROUND_THREADS = 3 + 1


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
    from app import connection_hold

    if not event.contains(Engine, "connect", _tune_sqlite):
        event.listen(Engine, "connect", _tune_sqlite)
    connection_hold.init_app(app)


def engine_options(url: str, serve_threads: int) -> dict:
    """The engine's pool sized for ``serve_threads`` request threads, so that none can wait:

    pool_size = serve_threads + BACKGROUND_THREADS: every thread that can hold a connection has
    one kept open for it; max_overflow = the same again: each of them may hold a second, short
    one (a write that must commit apart from its request's transaction) and still not wait.
    Nothing in the portal holds more than two at once, so 2 x (threads + background) can never
    be exhausted. An in-memory SQLite database has one connection per thread and no queue.
    """
    options: dict = {"pool_pre_ping": True}
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        return options
    holders = serve_threads + BACKGROUND_THREADS
    return {**options, "pool_size": holders, "max_overflow": holders}


def upsert_insert(conn: Connection):
    """The ``insert`` of the connection's dialect, the one with ``on_conflict_do_update``
    (PostgreSQL, and SQLite 3.24+): the portal's two databases write upserts alike."""
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
