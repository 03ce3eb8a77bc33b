"""Views of the account blueprint: the security page and the actions on its sessions."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from app.account import notices
from app.account.blueprint import bp
from app.account.browsers import describe
from app.account.forms import EmailForm
from app.account.sections import plugin_sections, render_section
from app.auth import sessions
from app.auth.reauth import reauth_required
from app.events import EventType, Severity
from app.extensions import db
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
    if own and not any(row.key_hash == own for row in rows):  # more than the bound seen this minute
        current = sessions.live_sessions(user_id, 1, key_hash=own)[0]
        rows = current + rows[: SESSIONS_LISTED - len(current)]
    rows.sort(key=lambda row: row.key_hash != own)  # this browser first, the rest as they were
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
    events = first_hook_result("portal_account_activity", user=user, limit=ACTIVITY_LIMIT)
    return None if events is None else list(events)[:ACTIVITY_LIMIT]


def _page(email_form: EmailForm | None = None, status: int = 200):
    user = current_user._get_current_object()
    rows, total = session_rows(user.id)
    changed = as_utc(user.password_changed_at or user.created_at)
    if email_form is None:
        email_form = EmailForm(formdata=None, data={"email": user.email or ""})
    return render_template(
        "account/security.html",
        email_form=email_form,
        password_changed=changed,
        password_age_days=(utcnow() - changed).days if changed else None,
        sessions=rows,
        sessions_total=total,
        activity=recent_activity(user),
        sections=[(section, render_section(section)) for section in plugin_sections(user)],
    ), status


@bp.route("/security")
def security():
    return _page()


@bp.route("/email", methods=["POST"])
@reauth_required(return_to="account.security")
def change_email():
    """Set or remove the address security notices go to (the old address is told)."""
    form = EmailForm()
    if not form.validate_on_submit():
        return _page(email_form=form, status=400)
    user = current_user._get_current_object()
    old, new = user.email, form.email.data
    if old == new:
        flash("That is the address already set.", "info")
        return redirect(url_for("account.security"))
    user.email = new
    db.session.commit()
    emit_security_event(
        EventType.DATA_MODIFIED,
        Severity.MEDIUM,
        user=user,
        description="notice e-mail " + ("changed" if new else "removed"),
        metadata={"username": user.username, "field": "email", "set": bool(new)},
    )
    if old:
        notices.send_notice(user, "email_changed", address=old)
    flash("Security notices now go to " + new + "." if new else "No e-mail notices will be sent.", "success")
    return redirect(url_for("account.security"))


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
