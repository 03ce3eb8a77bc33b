"""Passkeys on the portal's pages: the account page's section (list, rename, remove), the sign-in
button on /auth/login, and the rename and remove actions (each after a recent sign-in)."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_login import current_user

from app.account.sections import AccountSection
from app.auth.reauth import reauth_required
from app.events import EventType, Severity
from app.signals import emit_security_event
from plugins.mfa import passkey_store as store
from plugins.mfa.forms import PasskeyRemoveForm, PasskeyRenameForm
from plugins.mfa.views import bp

LOGIN_OPTION_TEMPLATE = "mfa/passkey_signin.html"


def account_section(user) -> AccountSection:
    """The passkeys section of /account/security."""
    return AccountSection(
        key="passkeys",
        title="Passkeys",
        template="mfa/passkeys_section.html",
        context={
            "passkeys": store.rows(user.id),
            "rename_form": PasskeyRenameForm(formdata=None),
            "remove_form": PasskeyRemoveForm(formdata=None),
            "limit": store.MAX_PASSKEYS_PER_USER,
        },
        order=35,
    )


def login_options() -> list[str]:
    """The sign-in page's passkey button (``portal_login_options``)."""
    return [LOGIN_OPTION_TEMPLATE]


def _own_passkey(passkey_id: int):
    passkey = store.get_own(current_user.id, passkey_id)
    if passkey is None:
        abort(404)  # another user's passkey is no different from none
    return passkey


@bp.route("/passkeys/<int:passkey_id>/rename", methods=["POST"])
@reauth_required(return_to="account.security")
def rename_passkey(passkey_id: int):
    passkey = _own_passkey(passkey_id)
    form = PasskeyRenameForm()
    if not form.validate_on_submit():
        for error in form.name.errors or ["The form expired: try again."]:
            flash(error, "error")
        return redirect(url_for("account.security", _anchor="passkeys"))
    old = passkey.name
    store.rename(passkey, form.name.data)
    emit_security_event(
        EventType.DATA_MODIFIED,
        Severity.LOW,
        user=current_user._get_current_object(),
        description=f"passkey renamed: {old} -> {passkey.name}",
        metadata={"method": "passkey", "passkey_id": passkey.id, "field": "name"},
    )
    flash(f"The passkey is now called {passkey.name}.", "success")
    return redirect(url_for("account.security", _anchor="passkeys"))


@bp.route("/passkeys/<int:passkey_id>/remove", methods=["POST"])
@reauth_required(return_to="account.security")
def remove_passkey(passkey_id: int):
    passkey = _own_passkey(passkey_id)
    if not PasskeyRemoveForm().validate_on_submit():
        flash("The form expired: try again.", "error")
        return redirect(url_for("account.security", _anchor="passkeys"))
    name, removed_id = passkey.name, passkey.id
    store.remove(passkey)
    emit_security_event(
        EventType.MFA_DISABLED,
        Severity.HIGH,
        user=current_user._get_current_object(),
        description=f"passkey removed: {name}",
        metadata={"method": "passkey", "passkey_id": removed_id},
    )
    flash(f"The passkey {name} was removed. It can no longer sign in to your account.", "success")
    return redirect(url_for("account.security", _anchor="passkeys"))
