"""Policy MFA_REQUIRED_ROLES: a signed-in user of such a role without MFA enrols before any other page."""

from __future__ import annotations

from flask import Flask, current_app, flash, redirect, request, url_for
from flask_login import current_user

from app.access import PUBLIC, access_level, wants_json
from app.api import json_error
from plugins.mfa import service
from plugins.mfa.views import bp

# What such a user may still reach besides public pages: enrolment (and the re-authentication
# it may ask for), their status, signing out. Enrolment is TOTP at /mfa/setup or, instead, a
# passkey: the account page (its passkey section; its other forms post to endpoints still held
# back) and the registration ceremony (the page's script, a static file, is public anyway).
TOTP_ENROLMENT = frozenset({"mfa.setup", "mfa.index", "mfa_api.status", "auth.reauth", "auth.logout"})
PASSKEY_ENROLMENT = frozenset(
    {"account.security", "mfa_passkeys_api.register_options", "mfa_passkeys_api.register_verify"}
)
ALLOWED_ENDPOINTS = TOTP_ENROLMENT | PASSKEY_ENROLMENT


def require_enrolment():
    """before_request: send a user whose role requires MFA, and who has none yet, to /mfa/setup."""
    user = current_user._get_current_object()  # one proxy lookup on every request
    required = current_app._get_current_object().config["MFA_REQUIRED_ROLES"]
    if not user.is_authenticated or user.role not in required:
        return None
    endpoint = request.endpoint
    if endpoint is None or endpoint in ALLOWED_ENDPOINTS:
        return None
    if access_level(current_app, endpoint) == PUBLIC:
        return None
    if service.has_second_factor(user.id):  # TOTP on, or a passkey
        return None
    if wants_json():
        return json_error("set up two-factor sign-in first at /mfa/setup", status=403)
    flash("Your role requires two-factor sign-in. Set it up to continue.", "warning")
    next_url = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("mfa.setup", next=next_url))


# Registered with the plugin's blueprint: it runs after the core's hooks (access control first).
bp.before_app_request(require_enrolment)


def init_app(app: Flask) -> None:
    """Nothing per app: the policy is registered with the blueprint above."""
