"""Database connection settings the ORM does not make for us."""

from __future__ import annotations

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine


def _tune_sqlite(dbapi_connection, connection_record) -> None:
    """SQLite: write-ahead log, so readers never wait for the writer (request threads, the
    scheduler thread and the metrics flusher share one file), and a sync per checkpoint rather
    than per commit, which WAL makes safe against corruption."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def init_app(app) -> None:
    """Install the connection settings once per process (engines are created lazily)."""
    if not event.contains(Engine, "connect", _tune_sqlite):
        event.listen(Engine, "connect", _tune_sqlite)
