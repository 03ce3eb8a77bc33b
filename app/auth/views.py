"""Views of the auth blueprint."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.access import public, safe_next_url
from app.auth.blueprint import bp
from app.auth.forms import LoginForm, PasswordChangeForm, ReauthForm
from app.auth.passwords import hash_password, verify_password
from app.auth.reauth import mark_authenticated, reauth_next, reauth_required, second_factor
from app.auth.service import (
    attempted_username,
    authenticate,
    complete_login,
    emit_wrong_password,
    end_other_sessions,
    sign_out,
)
from app.events import EventType, Severity
from app.extensions import db
from app.models import utcnow
from app.plugin import call_hook, first_hook_result
from app.signals import emit_security_event

GENERIC_FAILURE = "Invalid username or password."


def _login_page(form: LoginForm, status: int = 200, **context):
    """The sign-in page with what plugins add to it (``portal_login_options``: templates)."""
    options = [template for answer in call_hook("portal_login_options") for template in answer]
    return render_template("auth/login.html", form=form, login_options=options, **context), status


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    next_url = safe_next_url(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or url_for("core.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.username.data.strip(), form.password.data)
        if user is None:
            named = attempted_username(form.username.data.strip()[:80])
            # Hand the session's connection back before the audit write takes one of its own:
            # concurrent failures must not each hold one while waiting for another.
            db.session.rollback()
            emit_security_event(
                EventType.LOGIN_FAILURE,
                Severity.MEDIUM,
                description="wrong username or password",
                metadata={"username": named},
            )
            form.password.errors.append(GENERIC_FAILURE)
            # 401 lets the rate limiter count failed sign-ins only.
            return _login_page(form, 401, failed=True)
        takeover = first_hook_result("portal_after_password", user=user, next_url=next_url)
        if takeover is not None:
            return takeover
        complete_login(user)
        return redirect(next_url or url_for("core.home"))
    return _login_page(form, 400 if request.method == "POST" else 200)


@bp.route("/logout", methods=["POST"])
@public
def logout():
    if current_user.is_authenticated:
        sign_out()
        flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@reauth_required
def password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        if not verify_password(current_user.password_hash, form.current_password.data):
            # Counted like a failed sign-in (401): a stolen session must not be able to guess
            # the password it would need to take the account over.
            emit_wrong_password(current_user, "password_change", "wrong current password on password change")
            form.current_password.errors.append("The current password is not correct.")
            return render_template("auth/password.html", form=form), 401
        user = current_user._get_current_object()
        user.password_hash = hash_password(form.new_password.data)
        user.password_changed_at = utcnow()
        db.session.commit()
        end_other_sessions(user, reason="password changed")
        emit_security_event(
            EventType.PASSWORD_CHANGE, Severity.MEDIUM, user=user, description="password changed"
        )
        flash("Your password was changed. Your other sessions have been signed out.", "success")
        return redirect(url_for("core.home"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/password.html", form=form), status


def _reauth_page(form: ReauthForm, factor, next_url: str | None, status: int, retry_after: int | None):
    response = current_app.make_response(
        (render_template("auth/reauth.html", form=form, factor=factor, next_url=next_url), status)
    )
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


@bp.route("/reauth", methods=["GET", "POST"])
def reauth():
    """Confirm it is you before a sensitive change: the password, and the second factor if any.

    Limited and audited like sign-in: a wrong answer is a 401 (the AUTH policy counts it per
    address and per account) and a LOGIN_FAILURE (or MFA_FAILURE) with stage "reauth"."""
    next_url = reauth_next(request.args.get("next"))
    user = current_user._get_current_object()
    factor = second_factor(user)
    form = ReauthForm()
    if factor is not None:
        form.code.label.text = factor.label

    def page(status: int, retry_after: int | None = None):
        return _reauth_page(form, factor, next_url, status, retry_after)

    if not form.validate_on_submit():
        return page(400 if request.method == "POST" else 200)
    if factor is not None and not (form.code.data or "").strip():
        form.code.errors.append(factor.missing)
        return page(400)
    if not verify_password(user.password_hash, form.password.data):
        emit_wrong_password(user, "reauth", "wrong password on re-authentication")
        form.password.errors.append("The password is not correct.")
        return page(401)
    if factor is not None:
        result = factor.check(form.code.data)
        if not result.ok:
            form.code.errors.append(result.error)
            return page(result.status, result.retry_after)
    mark_authenticated()
    emit_security_event(
        EventType.LOGIN_SUCCESS,
        Severity.LOW,
        user=user,
        description="re-authenticated",
        metadata={"username": user.username, "stage": "reauth", "second_factor": factor is not None},
    )
    return redirect(next_url or url_for("core.home"))
