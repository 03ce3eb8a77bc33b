"""The server-side record of signed-in sessions: opened at sign-in, checked when the user is
loaded, revoked at sign-out. The cookie carries a random key; the table holds its SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, has_request_context, request, session
from sqlalchemy import bindparam

from app.auth import session_trust
from app.extensions import db
from app.models import User, UserSession, as_utc, utcnow

SESSION_KEY = "_portal_sid"
# Last seen is kept to the minute: a write a minute a session at most, none on other requests.
LAST_SEEN_STEP = timedelta(minutes=1)
# Built once: it runs on every signed-in request, and building the expression costs more than
# SQLAlchemy's cached compilation of it.
LIVE_USER = (
    db.select(User, UserSession.id, UserSession.created_at, UserSession.last_seen_at)
    .join(UserSession, UserSession.user_id == User.id)
    .where(
        User.id == bindparam("user_id"),
        UserSession.key_hash == bindparam("key_hash"),
        UserSession.revoked_at.is_(None),
    )
)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _max_age() -> timedelta:
    return timedelta(hours=current_app.config["SESSION_MAX_AGE_HOURS"])


def open_session(user_id: int) -> None:
    """Record a new session for ``user_id`` and put its key in the cookie session; drop the
    user's records that can no longer be used (revoked, or older than the maximum age)."""
    cutoff = utcnow() - _max_age()
    db.session.execute(
        db.delete(UserSession).where(
            UserSession.user_id == user_id,
            (UserSession.revoked_at.is_not(None)) | (UserSession.created_at < cutoff),
        )
    )
    key = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        UserSession(
            key_hash=_digest(key),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            ip_address=(request.remote_addr or "")[:64],
            user_agent=request.user_agent.string[:200],
        )
    )
    db.session.commit()
    session[SESSION_KEY] = key


def live_user(user_id: int) -> User | None:
    """The user ``user_id`` if the cookie's session is a recorded, unrevoked one of theirs within
    its maximum age; else None. One statement for both, and none at all while the process's last
    reading of this session is still to be trusted (app.auth.session_trust says when)."""
    key = session.get(SESSION_KEY)
    if not isinstance(key, str):
        return None
    key_hash = _digest(key)
    trust = session_trust.trust()
    known = trust.get(user_id, key_hash)
    if known is None:
        token = trust.current_token()  # read before the query: a change during it is not missed
        row = db.session.execute(LIVE_USER, {"user_id": user_id, "key_hash": key_hash}).first()
        if row is None:
            return None
        user, session_id, created, last_seen = row
        if token is not None:
            known = trust.remember(user_id, key_hash, token, user, session_id, created, last_seen)
    else:
        user = session_trust.trusted_user(db.session, User, known.user_columns)
        session_id, created, last_seen = known.session_id, known.created, known.last_seen
    now = utcnow()
    if now - as_utc(created) > _max_age():
        trust.forget(user_id, key_hash)
        return None
    if last_seen is None or now - as_utc(last_seen) >= LAST_SEEN_STEP:
        _touch(session_id, now)
        if known is not None:
            known.last_seen = now
    return user


def _touch(session_id: int, now) -> None:
    """Move the session's last-seen time to ``now``; the condition makes a request racing another
    past the same minute match no row (a no-op rather than a second write). Marked as a touch:
    it ends no session, so it does not make other processes check theirs again."""
    stale = now - LAST_SEEN_STEP
    db.session.execute(
        db.update(UserSession)
        .where(
            UserSession.id == session_id,
            (UserSession.last_seen_at.is_(None)) | (UserSession.last_seen_at <= stale),
        )
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False, portal_session_touch=True)
    )
    db.session.commit()


def current_key_hash() -> str | None:
    """The stored digest of this request's session key (None without a session key)."""
    key = session.get(SESSION_KEY)
    return _digest(key) if isinstance(key, str) else None


def current_session_id() -> int | None:
    """The id of this request's session row (None without one)."""
    key_hash = current_key_hash()
    if key_hash is None:
        return None
    return db.session.scalar(db.select(UserSession.id).where(UserSession.key_hash == key_hash))


def live_sessions(user_id: int, limit: int, key_hash: str | None = None) -> tuple[list[UserSession], int]:
    """The user's unrevoked sessions within their maximum age (only the one of ``key_hash`` if
    given), the newest ``limit`` of them (most recently seen first), and how many in all."""
    live = [
        UserSession.user_id == user_id,
        UserSession.revoked_at.is_(None),
        UserSession.created_at >= utcnow() - _max_age(),
    ]
    if key_hash is not None:
        live.append(UserSession.key_hash == key_hash)
    total = db.session.scalar(db.select(db.func.count()).select_from(UserSession).where(*live))
    seen = db.func.coalesce(UserSession.last_seen_at, UserSession.created_at)
    rows = db.session.scalars(
        db.select(UserSession).where(*live).order_by(seen.desc(), UserSession.id.desc()).limit(limit)
    )
    return list(rows), int(total or 0)


def revoke_one(user_id: int, session_id: int) -> bool:
    """Revoke the session ``session_id`` if it is a live one of ``user_id`` (never another user's)."""
    result = db.session.execute(
        db.update(UserSession)
        .where(
            UserSession.id == session_id,
            UserSession.user_id == user_id,
            UserSession.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def revoke_current() -> None:
    key = session.get(SESSION_KEY)
    if isinstance(key, str):
        db.session.execute(
            db.update(UserSession)
            .where(UserSession.key_hash == _digest(key), UserSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        db.session.commit()


def revoke_all(user_id: int, except_current: bool) -> None:
    """Revoke the user's sessions (all, or all but the one of this request)."""
    statement = db.update(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
    key = session.get(SESSION_KEY) if has_request_context() else None  # the CLI has none
    if except_current and isinstance(key, str):
        statement = statement.where(UserSession.key_hash != _digest(key))
    db.session.execute(statement.values(revoked_at=utcnow()))
    db.session.commit()
