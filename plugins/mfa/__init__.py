"""Plugin mfa: TOTP second factor with QR enrolment, backup codes, lockout and key rotation."""

from __future__ import annotations

from flask import Flask, redirect, url_for

from app.plugin import NavItem, Plugin
from plugins.mfa import account, admin_views, api, models, pending, policy, reauth, service, views  # noqa: F401
from plugins.mfa.blueprints import api_bp, bp
from plugins.mfa.cli import cli
from plugins.mfa.crypto import build_fernet
from plugins.mfa.settings import SETTINGS


def setup(app: Flask) -> None:
    """Build the secret cipher and add the required-roles policy."""
    app.extensions["mfa"] = {"fernet": build_fernet(app)}
    policy.init_app(app)


def after_password(user, next_url: str | None):
    """Hold back sign-in for a user with MFA on until the second step passes."""
    if not service.is_enabled(user.id):
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
    return api.OPENAPI


plugin = Plugin(
    name="mfa",
    description="TOTP second factor with QR enrolment, backup codes, lockout and key rotation",
    blueprints=(bp, api_bp),
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
    },
)
