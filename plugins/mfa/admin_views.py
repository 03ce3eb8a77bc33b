"""Admin pages: every user's MFA state, lifting a lockout and resetting a user's MFA (audited)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from app.access import admin_only
from app.auth.reauth import reauth_required
from app.extensions import db
from app.models import User, utcnow
from app.pagination import page_arg
from app.signals import lockout_lifted
from plugins.mfa import service, throttle
from plugins.mfa.checks import active_lock
from plugins.mfa.forms import ConfirmForm
from plugins.mfa.models import MfaSecret
from plugins.mfa.views import bp

PAGE_SIZE = 25


def _target(user_id: int) -> User:
    return db.session.get(User, user_id) or abort(404, description="No such user.")


@bp.route("/admin/users")
@admin_only
def admin_users():
    listing = db.paginate(
        db.select(User).order_by(User.username), page=page_arg(), per_page=PAGE_SIZE, error_out=False
    )
    ids = [user.id for user in listing.items]
    records = {
        record.user_id: record
        for record in db.session.scalars(db.select(MfaSecret).where(MfaSecret.user_id.in_(ids)))
    }
    now = utcnow()
    locks = {user_id: active_lock(record, now) for user_id, record in records.items()}
    return render_template(
        "mfa/admin_users.html",
        users=listing,
        records=records,
        locks=locks,
        adoption=service.adoption(),
        form=ConfirmForm(),
    )


@bp.route("/admin/users/<int:user_id>/unlock", methods=["POST"])
@admin_only
def admin_unlock(user_id: int):
    target = _target(user_id)
    if ConfirmForm().validate_on_submit():
        locked = service.admin_unlock(target, current_user._get_current_object())
        throttle.clear_user_limit(target.id)
        # Sign-in lockouts too (the account's and every browser's of it), where a plugin keeps them.
        lockout_lifted.send(current_app._get_current_object(), user=target)
        if locked:
            flash(f"{target.username} can sign in and enter codes again.", "success")
        else:
            flash(f"{target.username} had no code lockout; sign-in lockouts were lifted.", "info")
    return redirect(url_for("mfa.admin_users"))


@bp.route("/admin/users/<int:user_id>/reset", methods=["POST"])
@admin_only
@reauth_required(return_to="mfa.admin_users")
def admin_reset(user_id: int):
    target = _target(user_id)
    if target.id == current_user.id:
        flash("Turn off your own two-factor sign-in from your security page.", "error")
        return redirect(url_for("mfa.admin_users"))
    if ConfirmForm().validate_on_submit():
        if service.admin_reset(target, current_user._get_current_object()):
            throttle.clear_user_limit(target.id)
            flash(f"Two-factor sign-in of {target.username} was reset; their sessions were ended.", "success")
        else:
            flash(f"{target.username} has no two-factor sign-in to reset.", "info")
    return redirect(url_for("mfa.admin_users"))
