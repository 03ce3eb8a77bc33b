"""Give the request's pooled connection back before a side transaction asks for another.

A request's ORM session keeps its connection from its first query to its commit or its end. Work
that must commit apart from the request (the threat rules, the alerts, the cache's reads) opens a
connection of its own; asked for while the session still holds one, that is one thread holding a
connection while it waits for a second. With more threads than connections every connection can
end up held by a thread waiting for another, until the pool gives up: the 500s of a busy portal.

``release_if_read_only`` ends the session's transaction when it has written nothing (a commit
with nothing to write: no statement is sent but COMMIT), so the thread holds no connection when
it asks for the next one. A transaction that wrote, or locked rows, is left alone: ending it
early would commit the view's work half-done or drop its locks.

Whether a transaction wrote is tracked per connection from the statements it sent: anything but
a plain read marks it, until the next transaction begins. Side work that cannot wait for a
transaction that wrote is put off with ``after_commit_released``: it runs once that transaction
has committed and given its connection back (and never, if it rolls back).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
WROTE = "portal_transaction_wrote"
AFTER_COMMIT, COMMITTED = "portal_after_commit", "portal_after_commit_committed"
READS = ("SELECT", "PRAGMA", "SHOW", "EXPLAIN")
LOCKING = ("FOR UPDATE", "FOR SHARE", "FOR NO KEY UPDATE", "FOR KEY SHARE", "ADVISORY")


def statement_writes(statement: str) -> bool:
    """Whether ``statement`` may write or take a lock the transaction must keep (when unsure:
    yes)."""
    text = statement.lstrip().upper()
    if not text.startswith(READS):
        return True
    return any(clause in text for clause in LOCKING)


def _note_statement(conn, cursor, statement, parameters, context, executemany) -> None:
    if not conn.info.get(WROTE) and statement_writes(statement):
        conn.info[WROTE] = True


def _forget_writes(conn) -> None:
    conn.info.pop(WROTE, None)


def _committed(session: Session) -> None:
    work = session.info.pop(AFTER_COMMIT, None)
    if work:
        session.info.setdefault(COMMITTED, []).extend(work)


def _run_committed(session: Session, transaction) -> None:
    if transaction.parent is not None:
        return
    session.info.pop(AFTER_COMMIT, None)  # ended without a commit: that work is dropped
    for work in session.info.pop(COMMITTED, ()):
        try:
            work()
        except Exception:  # side work must not break the request that committed
            log.exception("work put off until the commit failed")


def init_app(app) -> None:
    """Track writes on every engine and run put-off work after commits (once per process)."""
    for name, listener in (("before_cursor_execute", _note_statement), ("begin", _forget_writes)):
        if not event.contains(Engine, name, listener):
            event.listen(Engine, name, listener)
    for name, listener in (("after_commit", _committed), ("after_transaction_end", _run_committed)):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


def after_commit_released(session: Session, work: Callable[[], object]) -> None:
    """Run ``work`` once ``session``'s transaction has committed and released its connection."""
    session.info.setdefault(AFTER_COMMIT, []).append(work)


def transaction_wrote(session: Session) -> bool:
    """Whether ``session``'s open transaction has pending changes or sent a write."""
    if session.new or session.dirty or session.deleted:
        return True
    return bool(session.connection().info.get(WROTE))


def release_if_read_only(session: Session) -> bool:
    """End ``session``'s transaction (its connection back to the pool) unless it wrote; return
    whether the session now holds no connection."""
    transaction = session.get_transaction()
    if transaction is None:
        return True
    if not transaction.is_active or transaction_wrote(session):  # (committing: its listeners)
        return False
    session.commit()
    return True


def release_request_connection() -> bool:
    """``release_if_read_only`` for the current app's request session, if it has one open."""
    from flask import has_app_context

    from app.extensions import db

    if not has_app_context() or not db.session.registry.has():
        return True
    return release_if_read_only(db.session())
