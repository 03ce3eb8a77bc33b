"""Views of the account blueprint: the security page and the actions on its sessions."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from app.account import bp
from app.account.browsers import describe
from app.account.sections import plugin_sections, render_section
from app.auth import sessions
from app.auth.reauth import reauth_required
from app.events import EventType, Severity
from app.models import as_utc, utcnow
from app.plugin import first_hook_result
from app.signals import emit_security_event

ACTIVITY_LIMIT = 20
# A user with very many sessions sees the most recent ones and "sign out everywhere else".
SESSIONS_LISTED = 50


def session_rows(user_id: int) -> tuple[list[dict], int]:
    """The user's live sessions for the page, this browser's marked, and how many in all."""
    own = sessions.current_key_hash()
    rows, total = sessions.live_sessions(user_id, SESSIONS_LISTED)
    return [
        {
            "id": row.id,
            "browser": describe(row.user_agent),
            "user_agent": row.user_agent,
            "address": row.ip_address or "unknown",
            "signed_in": as_utc(row.created_at),
            "last_seen": as_utc(row.last_seen_at or row.created_at),
            "current": row.key_hash == own,
        }
        for row in rows
    ], total


def recent_activity(user) -> list | None:
    """The account's newest security events, or None when no plugin records them."""
    events = first_hook_result("portal_account_activity", user, ACTIVITY_LIMIT)
    return None if events is None else list(events)[:ACTIVITY_LIMIT]


@bp.route("/security")
def security():
    user = current_user._get_current_object()
    rows, total = session_rows(user.id)
    changed = as_utc(user.password_changed_at or user.created_at)
    return render_template(
        "account/security.html",
        password_changed=changed,
        password_age_days=(utcnow() - changed).days if changed else None,
        sessions=rows,
        sessions_total=total,
        activity=recent_activity(user),
        sections=[(section, render_section(section)) for section in plugin_sections(user)],
    )


@bp.route("/sessions/<int:session_id>/revoke", methods=["POST"])
@reauth_required(return_to="account.security")
def revoke_session(session_id: int):
    """Sign out one other session of this user; another user's (or no) session is a 404."""
    user = current_user._get_current_object()
    if session_id == sessions.current_session_id():
        flash("This is the browser you are using: sign out with the Sign out button.", "info")
        return redirect(url_for("account.security"))
    if not sessions.revoke_one(user.id, session_id):
        abort(404)
    emit_security_event(
        EventType.LOGOUT,
        Severity.LOW,
        user=user,
        description="signed out another session",
        metadata={"username": user.username, "session_id": session_id, "by": "account page"},
    )
    flash("That session is signed out.", "success")
    return redirect(url_for("account.security"))


@bp.route("/sessions/revoke-others", methods=["POST"])
@reauth_required(return_to="account.security")
def revoke_other_sessions():
    """Sign out every session of this user but this browser's."""
    user = current_user._get_current_object()
    sessions.revoke_all(user.id, except_current=True)
    emit_security_event(
        EventType.LOGOUT,
        Severity.LOW,
        user=user,
        description="signed out everywhere else",
        metadata={"username": user.username, "by": "account page"},
    )
    flash("Every other session is signed out.", "success")
    return redirect(url_for("account.security"))
