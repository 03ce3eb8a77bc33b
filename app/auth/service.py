"""Sign-in, sign-out and session lifetime: the functions plugins call (e.g. MFA's second step)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user

from app.auth import guesses, session_trust, sessions
from app.auth.passwords import verify_password
from app.auth.reauth import mark_authenticated
from app.events import EventType, Severity
from app.extensions import db, login_manager
from app.keys import derived_key
from app.models import User, utcnow
from app.signals import credentials_changed, emit_security_event

log = logging.getLogger(__name__)

LAST_SEEN_KEY = "_portal_last_seen"
# Refresh the idle clock at most this often, so that most responses do not rewrite the cookie.
LAST_SEEN_GRANULARITY_S = 30


def normalize_username(username: str) -> str:
    """The account a typed name means: "  CAROL " and "carol" are the same account."""
    return username.strip().lower()


def find_user(username: str) -> User | None:
    """The user a sign-in form names, by its normalized name (an exact match first, for names
    created with capitals). One indexed query."""
    exact, normal = username.strip(), normalize_username(username)
    users = db.session.scalars(db.select(User).where(User.username.in_({exact, normal}))).all()
    by_name = {user.username: user for user in users}
    return by_name.get(exact) or by_name.get(normal)


def find_account(username: str):
    """The id, password hash and active flag of the user a form names, read on a connection of
    its own that goes back to the pool at once: a request guard must not hold the session's
    connection while the rest of the request waits for others."""
    exact, normal = username.strip(), normalize_username(username)
    query = db.select(User.id, User.username, User.password_hash, User.active)
    with db.engine.connect() as conn:
        rows = conn.execute(query.where(User.username.in_({exact, normal}))).all()
    by_name = {row.username: row for row in rows}
    return by_name.get(exact) or by_name.get(normal)


def authenticate(username: str, password: str) -> User | None:
    """The active user with this username and password, or None (same work either way)."""
    user = find_user(username)
    if user is None or not user.active:
        verify_password(None, password)
        return None
    return user if verify_password(user.password_hash, password) else None


def attempted_username(username: str) -> str:
    """How a failed sign-in names the account: the username when such a user exists, otherwise
    a keyed digest. People paste passwords into the username field; those must not reach the
    audit log, while the digest still tells one unknown name from another."""
    user = find_user(username)
    if user is not None:
        return user.username
    return "unknown:" + keyed_digest(normalize_username(username), 12)


def keyed_digest(text: str, length: int = 16) -> str:
    """A digest of ``text`` under the key derived for digests: it tells one value from another
    in logs, events and limit keys without showing it (a password typed into the wrong field)."""
    key = derived_key(current_app, "digest")
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:length]


def emit_wrong_password(user: User, stage: str, description: str) -> None:
    """A wrong password given by a signed-in user (to change it, to turn MFA off): audited like
    a failed sign-in, since a stolen session would guess the password it needs this way."""
    emit_security_event(
        EventType.LOGIN_FAILURE,
        Severity.MEDIUM,
        user=user,
        description=description,
        metadata={"username": user.username, "stage": stage},
    )


def complete_login(user: User, method: str = "password") -> None:
    """Sign ``user`` in on a fresh session (nothing of the anonymous session survives).

    ``method`` names what completed the sign-in for the audit trail: "password", or a plugin's
    own second step or sign-in ("totp", "backup", "passkey")."""
    session.clear()
    login_user(user, fresh=True)
    session[LAST_SEEN_KEY] = int(time.time())
    mark_authenticated()  # a fresh sign-in counts as a recent authentication
    user.last_login_at = utcnow()
    db.session.commit()
    sessions.open_session(user.id)
    emit_security_event(
        EventType.LOGIN_SUCCESS, Severity.LOW, user=user, description="signed in", metadata={"method": method}
    )


def sign_out(reason: str = "signed out") -> None:
    """End the current session and record it."""
    user = current_user._get_current_object() if current_user.is_authenticated else None
    sessions.revoke_current()  # a copy of this cookie must not outlive the sign-out
    logout_user()
    session.clear()
    if user is not None:
        emit_security_event(EventType.LOGOUT, Severity.LOW, user=user, description=reason)


def end_other_sessions(user: User, reason: str) -> None:
    """Invalidate every session of ``user`` except the current request's own (if it is theirs)."""
    user.session_version = (user.session_version or 1) + 1
    db.session.commit()
    own = current_user.is_authenticated and current_user.id == user.id
    sessions.revoke_all(user.id, except_current=own)
    if own:
        login_user(user, fresh=True)  # re-issue this session under the new version
        session[LAST_SEEN_KEY] = int(time.time())
    credentials_changed.send(current_app._get_current_object(), user=user, reason=reason)


def end_all_sessions(user: User, reason: str) -> None:
    """Invalidate every session of ``user``, including the current one if it is theirs."""
    user.session_version = (user.session_version or 1) + 1
    db.session.commit()
    sessions.revoke_all(user.id, except_current=False)
    credentials_changed.send(current_app._get_current_object(), user=user, reason=reason)


@login_manager.user_loader
def load_user(identifier: str) -> User | None:
    """Load the session's user if its session version is still current."""
    user_id, _, version = identifier.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    # None when signed out elsewhere with this cookie, or the session is too old
    user = sessions.live_user(int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def enforce_idle_timeout():
    """before_request: sign out a session idle for longer than SESSION_IDLE_TIMEOUT_MINUTES."""
    if request.endpoint in (None, "static") or "_user_id" not in session:
        return None
    now = int(time.time())
    last_seen = session.get(LAST_SEEN_KEY, 0)
    limit = current_app.config["SESSION_IDLE_TIMEOUT_MINUTES"] * 60
    if now - last_seen > limit:
        if current_user.is_authenticated:
            sign_out("session idle timeout")
        else:
            session.clear()
        flash("You were signed out after a period of inactivity. Please sign in again.", "info")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if now - last_seen >= LAST_SEEN_GRANULARITY_S:
        session[LAST_SEEN_KEY] = now
    return None


def init_app(app: Flask) -> None:
    guesses.init_app(app)
    session_trust.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    # enforce_idle_timeout runs in app.request_pipeline, after the guards and CSRF
