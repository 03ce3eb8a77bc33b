"""Plugin mfa: TOTP second factor with QR enrolment, backup codes, lockout and key rotation;
passkeys (WebAuthn) as a second factor or as both factors at once."""

from __future__ import annotations

from flask import Flask, redirect, url_for

from app.plugin import NavItem, Plugin
from plugins.mfa import (  # noqa: F401 (the modules that add routes)
    account,
    admin_views,
    api,
    models,
    passkey_api,
    passkey_openapi,
    passkey_signin,
    passkey_views,
    pending,
    policy,
    reauth,
    service,
    views,
)
from plugins.mfa.blueprints import api_bp, bp, passkeys_api_bp
from plugins.mfa.cli import cli
from plugins.mfa.crypto import build_fernet
from plugins.mfa.settings import SETTINGS, check_relying_party


def setup(app: Flask) -> None:
    """Build the secret cipher, check the passkey settings and add the required-roles policy."""
    app.extensions["mfa"] = {"fernet": build_fernet(app)}
    check_relying_party(app.config["WEBAUTHN_RP_ID"], app.config["WEBAUTHN_ORIGINS"])
    policy.init_app(app)


def after_password(user, next_url: str | None):
    """Hold back sign-in for a user with a second factor (TOTP or a passkey) until it is given."""
    if not service.has_second_factor(user.id):
        return None
    pending.begin(user, next_url)
    return redirect(url_for("mfa.verify"))


def nav_items(user) -> list[NavItem]:
    return [
        NavItem("Security (MFA)", "mfa.index", order=80),
        NavItem("MFA users", "mfa.admin_users", admin=True, order=230),
    ]


def mfa_adoption() -> dict:
    """The adoption figures the security console shows."""
    return service.adoption()


def openapi():
    return {
        "tags": [*api.OPENAPI["tags"], passkey_openapi.TAG],
        "paths": {**api.OPENAPI["paths"], **passkey_openapi.PATHS},
        "components": {"schemas": {**api.OPENAPI["components"]["schemas"], **passkey_openapi.SCHEMAS}},
    }


plugin = Plugin(
    name="mfa",
    description="TOTP second factor with QR enrolment, backup codes, lockout and key rotation; passkeys",
    blueprints=(bp, api_bp, passkeys_api_bp),
    root_paths=("/api/v1/passkeys",),  # the passkey ceremonies, where the API names them
    settings=SETTINGS,
    setup=setup,
    cli=cli,
    hooks={
        "portal_after_password": after_password,
        "portal_second_factor": reauth.second_factor,
        "portal_nav_items": nav_items,
        "portal_mfa_adoption": mfa_adoption,
        "portal_openapi": openapi,
        "portal_account_sections": account.account_sections,
        "portal_login_options": passkey_views.login_options,
    },
)
