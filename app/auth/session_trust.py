"""Signed-in sessions checked against the database once, then trusted until anything changes.

Every signed-in request used to read its user and session row (one ORM SELECT, a connection
checkout and a transaction) to learn that nothing had changed. Now each process keeps what it
last read for a session, and trusts it while the *revocation token* it was read under is still
the current one and it is at most SESSION_RECHECK_SECONDS old.

The token is eight bytes in a file of the instance folder, mapped into memory by every process
that serves the portal (gunicorn's workers, the CLI): reading it costs a slice of memory, and a
write through one mapping is seen by all the others at once. Whatever can end or change a
session writes a new random token *after its commit*: a revoked session row, a changed or
deleted user (role, active, session version, password) or a deleted session row. So:

- on every process that shares the instance folder, a revocation, sign-out elsewhere, password
  change or deactivation takes effect on the very next request, as before;
- a change the portal did not make (SQL typed into the database by hand) or made by a host that
  does not share the instance folder takes effect within SESSION_RECHECK_SECONDS;
- SESSION_RECHECK_SECONDS=0, or an instance folder where the token cannot be kept, means every
  request reads the database, as before.

A process reads the token *before* it queries the database, so a change committed while it
queries leaves the entry under an old token: the next request checks again.
"""

from __future__ import annotations

import logging
import mmap
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, make_transient_to_detached, scoped_session
from sqlalchemy.orm.attributes import manager_of_class

from app.orm_session import attach_when_opened

log = logging.getLogger(__name__)

SIGNAL_FILE = "session-revocations"
TOKEN_SIZE = 8
# Bound on the sessions one process remembers; past it the old entries are dropped.
MAX_ENTRIES = 20_000
PENDING = "portal.sessions_changed"  # Session.info flag: announce after this commit
EXTENSION = "portal.session_trust"


class RevocationToken:
    """Eight bytes in a shared memory-mapped file: a new random value means "check again"."""

    def __init__(self, path: Path):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < TOKEN_SIZE:
                os.pwrite(fd, os.urandom(TOKEN_SIZE), 0)
            self._map = mmap.mmap(fd, TOKEN_SIZE)
        finally:
            os.close(fd)  # the mapping keeps the file

    def current(self) -> bytes:
        return self._map[:TOKEN_SIZE]

    def announce(self) -> None:
        self._map[:TOKEN_SIZE] = os.urandom(TOKEN_SIZE)


@dataclass
class Verified:
    """What the database said about one session, and under which token it said it."""

    token: bytes
    checked_at: float  # time.monotonic()
    user_columns: dict[str, Any]
    session_id: int
    created: datetime
    last_seen: datetime | None


class SessionTrust:
    """The process's verified sessions of one app, keyed by (user id, session key digest)."""

    def __init__(self, token: RevocationToken | None, recheck_seconds: float, clock=time.monotonic):
        self.token = token
        self.recheck_seconds = recheck_seconds
        self.clock = clock
        self._entries: dict[tuple[int, str], Verified] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.token is not None and self.recheck_seconds > 0

    def current_token(self) -> bytes | None:
        return self.token.current() if self.enabled else None

    def get(self, user_id: int, key_hash: str) -> Verified | None:
        """The entry of this session if it is still to be trusted."""
        if not self.enabled:
            return None
        entry = self._entries.get((user_id, key_hash))
        if entry is None:
            return None
        if entry.token != self.token.current() or self.clock() - entry.checked_at > self.recheck_seconds:
            self._entries.pop((user_id, key_hash), None)
            return None
        return entry

    def remember(
        self, user_id: int, key_hash: str, token: bytes, user, session_id: int, created, last_seen
    ) -> Verified:
        """Keep what the database just said about this session (read under ``token``)."""
        entry = Verified(token, self.clock(), user_columns(user), session_id, created, last_seen)
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                now = self.clock()
                for key, old in list(self._entries.items()):
                    if now - old.checked_at > self.recheck_seconds:
                        del self._entries[key]
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries.clear()
            self._entries[(user_id, key_hash)] = entry
        return entry

    def forget(self, user_id: int, key_hash: str) -> None:
        self._entries.pop((user_id, key_hash), None)

    def announce(self) -> None:
        """Something that can end a session was committed: every process checks again."""
        self._entries.clear()
        if self.token is not None:
            self.token.announce()


def trust() -> SessionTrust:
    return current_app.extensions[EXTENSION]


def user_columns(user) -> dict[str, Any]:
    """The loaded column values of ``user`` (read before anything can expire them)."""
    return {attr.key: getattr(user, attr.key) for attr in user.__mapper__.column_attrs}


def attached_user(session: Session, model, columns: dict[str, Any]):
    """A persistent ``model`` instance in ``session`` built from ``columns`` without a query:
    the same object as a SELECT would give (changes to it are flushed and committed as usual)."""
    identity = session.identity_map.get(session.identity_key(model, columns["id"]))
    if identity is not None:
        return identity
    user = _detached(model, columns)
    session.add(user)
    return user


def trusted_user(scoped: scoped_session, model, columns: dict[str, Any]):
    """The trusted user for this request, attached to the request's ORM session when the request
    has one, else when it opens one (``AttachingSession``): a request that never touches the
    database (a cached answer) builds no session, transaction or identity map for it. Either way
    the object is the one a SELECT would give, and a change made to it before the session opens
    is flushed when the session is (the session picks up its modified state)."""
    if scoped.registry.has():
        return attached_user(scoped(), model, columns)
    user = _detached(model, columns)
    attach_when_opened(user)
    return user


def _detached(model, columns: dict[str, Any]):
    # Built as a query's loader builds it (state first, then the column values), without the
    # attribute events a constructor fires: half the cost of model(**columns).
    user = manager_of_class(model).new_instance()
    user.__dict__.update(columns)
    make_transient_to_detached(user)
    return user


# --- what announces: commits that changed users or session rows ---------------------------


WATCHED_TABLES = frozenset({"users", "user_sessions"})


def _table_name(instance) -> str | None:
    return getattr(getattr(instance, "__table__", None), "name", None)


def _mark_flush(session: Session, flush_context) -> None:
    """after_flush: a user or session row changed or deleted (any column: the entries hold them
    all); a new session row ends nothing."""
    if any(_table_name(instance) in WATCHED_TABLES for instance in (*session.dirty, *session.deleted)):
        session.info[PENDING] = True


def _mark_statement(orm_execute_state) -> None:
    """do_orm_execute: an UPDATE or DELETE of users or session rows (revocations are these),
    except the last-seen time moving on, which ends nothing."""
    if not (orm_execute_state.is_update or orm_execute_state.is_delete):
        return
    if orm_execute_state.execution_options.get("portal_session_touch"):
        return
    table = getattr(orm_execute_state.statement, "table", None)
    if getattr(table, "name", None) in WATCHED_TABLES:
        orm_execute_state.session.info[PENDING] = True


def _announce_after_commit(session: Session) -> None:
    if session.info.pop(PENDING, False):
        _announce_all()


def _forget_pending(session: Session, *_: Any) -> None:
    session.info.pop(PENDING, None)


_APPS: list[SessionTrust] = []  # every app of this process (tests build many)


def _announce_all() -> None:
    """Announce through the running app's trust, or through every one when there is no app
    context (a background thread's own Session)."""
    try:
        app_trust = current_app.extensions.get(EXTENSION)
    except RuntimeError:
        app_trust = None
    for one in [app_trust] if app_trust is not None else list(_APPS):
        one.announce()


def _install_listeners() -> None:
    if event.contains(Session, "after_commit", _announce_after_commit):
        return
    event.listen(Session, "after_flush", _mark_flush)
    event.listen(Session, "do_orm_execute", _mark_statement)
    event.listen(Session, "after_commit", _announce_after_commit)
    event.listen(Session, "after_soft_rollback", _forget_pending)


def init_app(app: Flask) -> None:
    seconds = app.config["SESSION_RECHECK_SECONDS"]
    token = None
    if seconds > 0:
        try:
            os.makedirs(app.instance_path, exist_ok=True)
            token = RevocationToken(Path(app.instance_path) / SIGNAL_FILE)
        except OSError as error:
            log.warning("sessions are checked in the database on every request: %s", error)
    state = SessionTrust(token, seconds)
    app.extensions[EXTENSION] = state
    _APPS.append(state)
    del _APPS[:-32]  # keep the recent apps only (a test run builds hundreds)
    _install_listeners()
