"""The user's MFA pages: status, enrolment, backup codes, turning off, and the second sign-in step."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from app.access import public, safe_next_url
from app.auth.passwords import verify_password
from app.auth.reauth import reauth_required
from app.auth.service import complete_login, emit_wrong_password, end_other_sessions
from app.events import EventType, Severity
from app.models import utcnow
from app.signals import emit_security_event
from plugins.mfa import backup, passkey_store, pending, service, throttle
from plugins.mfa.checks import active_lock, get_record, verify_code
from plugins.mfa.forms import ConfirmForm, DisableForm, RegenerateForm, SetupForm, VerifyForm
from plugins.mfa.totp import provisioning_uri, qr_svg

# The plugin's pages under /mfa; admin_views and passkey_views add theirs to it, and policy its
# app-wide enrolment check (each imported by the package, so that they are in place when it is
# registered).
bp = Blueprint(
    "mfa",
    __name__,
    url_prefix="/mfa",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

WRONG_CODE = "That code is not valid. Use the newest code from your app, or an unused backup code."
UNREADABLE = (
    "Codes from your authenticator app cannot be checked at the moment: the portal's encryption key "
    "has changed. Use one of your backup codes, or ask an administrator."
)


def _render_index(
    disable_form: DisableForm | None = None,
    status: int = 200,
    regenerate_form: RegenerateForm | None = None,
):
    user = current_user._get_current_object()
    return render_template(
        "mfa/index.html",
        status=service.status(user),
        disable_form=disable_form or DisableForm(),
        regenerate_form=regenerate_form or RegenerateForm(),
        confirm_form=ConfirmForm(),
        low_water_mark=backup.LOW_WATER_MARK,
    ), status


def _show_codes(codes: list[str], next_url: str | None, just_enabled: bool):
    text = "El-Mag Client Portal backup codes (each works once)\n" + "\n".join(codes) + "\n"
    return render_template(
        "mfa/backup_codes.html",
        codes=codes,
        download_href="data:text/plain;charset=utf-8," + quote(text),
        next_url=next_url,
        just_enabled=just_enabled,
    )


def _locked(until: datetime):
    seconds = max(1, int((until - utcnow()).total_seconds()))
    response = current_app.make_response(
        (render_template("mfa/locked.html", until=until, minutes=(seconds + 59) // 60), 429)
    )
    response.headers["Retry-After"] = str(seconds)
    return response


def _verify_page(form: VerifyForm, user, status: int = 200):
    """The second step: a passkey button for a user with a passkey, the code form unless the
    passkey is all the user has (a code cannot stand in for it)."""
    has_passkey = passkey_store.has_passkey(user.id)
    page = render_template(
        "mfa/verify.html",
        form=form,
        has_totp=service.is_enabled(user.id) or not has_passkey,
        has_passkey=has_passkey,
    )
    return page, status


@bp.route("/")
def index():
    return _render_index()


@bp.route("/setup", methods=["GET", "POST"])
@reauth_required  # the page shows the secret: a copied cookie must not enrol its own device
@throttle.limit_wrong_codes
def setup():
    user = current_user._get_current_object()
    if service.is_enabled(user.id):
        flash("Two-factor sign-in is already on. Turn it off first to move to a new device.", "info")
        return redirect(url_for("mfa.index"))
    next_url = safe_next_url(request.args.get("next"))
    form = SetupForm()
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            codes = service.confirm_enrolment(user, form.code.data)
            if codes is not None:
                end_other_sessions(user, reason="MFA turned on")
                flash("Two-factor sign-in is on. Your other sessions have been signed out.", "success")
                return _show_codes(codes, next_url, just_enabled=True)
            form.code.errors.append(
                "That code does not match. Check your phone's clock and try the newest code."
            )
            status = 401
    secret = service.start_enrolment(user)
    uri = provisioning_uri(secret, user.username, current_app.config["MFA_ISSUER"])
    # segno writes the SVG from the URI alone (attributes, no style= or script), so it is safe.
    qr = Markup(qr_svg(uri))  # noqa: S704
    return render_template(
        "mfa/setup.html", form=form, secret=secret, uri=uri, qr=qr, next_url=next_url
    ), status


@bp.route("/backup-codes", methods=["POST"])
@reauth_required(return_to="mfa.index")
@throttle.limit_wrong_codes
def backup_codes():
    user = current_user._get_current_object()
    form = RegenerateForm()
    if not form.validate_on_submit():
        return _render_index(status=400, regenerate_form=form)
    if not verify_password(user.password_hash, form.password.data):
        # A stolen session must not mint itself second factors: wrong passwords count as 401s.
        emit_security_event(
            EventType.MFA_FAILURE,
            Severity.MEDIUM,
            user=user,
            description="wrong password when regenerating backup codes",
            metadata={"stage": "regenerate"},
        )
        form.password.errors.append("The password is not correct.")
        return _render_index(status=401, regenerate_form=form)
    codes = service.regenerate_backup_codes(user)
    if codes is None:
        flash("Turn on two-factor sign-in first.", "error")
        return redirect(url_for("mfa.setup"))
    flash("New backup codes made. The old ones no longer work.", "success")
    return _show_codes(codes, None, just_enabled=False)


@bp.route("/disable", methods=["POST"])
@reauth_required(return_to="mfa.index")
@throttle.limit_wrong_codes
def disable():
    user = current_user._get_current_object()
    if not service.is_enabled(user.id):
        flash("Two-factor sign-in is already off.", "info")
        return redirect(url_for("mfa.index"))
    form = DisableForm()
    if not form.validate_on_submit():
        return _render_index(form, 400)
    if not verify_password(user.password_hash, form.password.data):
        emit_wrong_password(user, "mfa_disable", "wrong password on turning two-factor sign-in off")
        form.password.errors.append("The password is not correct.")
        return _render_index(form, 401)
    result = verify_code(user, form.code.data, stage="disable")
    if result.locked_until:
        form.code.errors.append(f"Too many wrong codes. Try again after {result.locked_until:%H:%M} UTC.")
        return _render_index(form, 429)
    if result.unreadable:
        form.code.errors.append(UNREADABLE)
        return _render_index(form, 503)
    if not result.ok:
        form.code.errors.append(WRONG_CODE)
        return _render_index(form, 401)
    service.turn_off(user)
    end_other_sessions(user, reason="MFA turned off")
    flash("Two-factor sign-in is off. Your other sessions have been signed out.", "success")
    return redirect(url_for("mfa.index"))


@bp.route("/verify", methods=["GET", "POST"])
@public
@throttle.limit_wrong_codes
def verify():
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    state = pending.load()
    if state is None:
        flash("Your sign-in expired or was not started. Please sign in again.", "info")
        return redirect(url_for("auth.login"))
    form = VerifyForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            return _verify_page(form, state.user, 400)
        result = verify_code(state.user, form.code.data, stage="sign-in")
        if result.ok:
            complete_login(state.user, method=result.method)  # "totp" or "backup"
            if result.method == "backup":
                left = result.backup_codes_left
                category = "warning" if left <= backup.LOW_WATER_MARK else "info"
                flash(f"You used a backup code; {left} left.", category)
            return redirect(state.next_url or url_for("core.home"))
        if result.locked_until:
            return _locked(result.locked_until)
        if result.unreadable:
            form.code.errors.append(UNREADABLE)
            return _verify_page(form, state.user, 503)
        form.code.errors.append(WRONG_CODE)
        return _verify_page(form, state.user, 401)
    locked = active_lock(get_record(state.user.id), utcnow())
    if locked:
        return _locked(locked)
    return _verify_page(form, state.user)
