"""The half-signed-in state between the password and the second factor, kept in the session.

The session cookie is signed, so the state is bound to this browser's session; it also names the
user's session version (a password change or an admin reset voids it) and expires after
MFA_PENDING_TTL_SECONDS. The user is not signed in until ``complete_login`` runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import current_app, session

from app.access import safe_next_url
from app.extensions import db
from app.models import User

PENDING_KEY = "mfa_pending"
# Tolerated clock difference between processes that created and check the state.
CLOCK_SKEW_S = 5


@dataclass(frozen=True)
class PendingSignIn:
    user: User
    next_url: str | None
    started_at: int


def begin(user: User, next_url: str | None, now: float | None = None) -> None:
    """Remember that ``user`` passed the password step and owes a second factor."""
    session[PENDING_KEY] = {
        "uid": user.id,
        "ver": user.session_version,
        "at": int(now if now is not None else time.time()),
        "next": safe_next_url(next_url),
    }


def pending_user_id() -> int | None:
    """The user id of the pending state, unchecked (for rate-limit keys only)."""
    state = session.get(PENDING_KEY)
    uid = state.get("uid") if isinstance(state, dict) else None
    return uid if isinstance(uid, int) else None


def load(now: float | None = None) -> PendingSignIn | None:
    """The pending sign-in if it is well-formed, fresh and still matches the user; else clear it."""
    state = session.get(PENDING_KEY)
    pending = _check(state, time.time() if now is None else now)
    if pending is None and state is not None:
        session.pop(PENDING_KEY, None)
    return pending


def _check(state: object, now: float) -> PendingSignIn | None:
    if not isinstance(state, dict):
        return None
    uid, version, started = state.get("uid"), state.get("ver"), state.get("at")
    if not all(isinstance(value, int) for value in (uid, version, started)):
        return None
    ttl = current_app.config["MFA_PENDING_TTL_SECONDS"]
    if now - started > ttl or started > now + CLOCK_SKEW_S:
        return None
    user = db.session.get(User, uid)
    if user is None or not user.active or user.session_version != version:
        return None
    next_url = state.get("next")
    return PendingSignIn(user, safe_next_url(next_url if isinstance(next_url, str) else None), started)


def clear() -> None:
    session.pop(PENDING_KEY, None)
