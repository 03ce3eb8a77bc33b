"""The plugin's answers to the portal's hooks, each named like its hook (app/plugin/hookspecs.py)."""

from __future__ import annotations

from typing import Any

from flask import redirect, url_for

from app.account.sections import AccountSection
from app.auth.reauth import SecondFactor
from app.models import User
from app.plugin import NavItem
from plugins.mfa import account, openapi, passkey_views, pending, reauth, service


def portal_after_password(user: User, next_url: str | None):
    """Hold back sign-in for a user with a second factor (TOTP or a passkey) until it is given."""
    if not service.has_second_factor(user.id):
        return None
    pending.begin(user, next_url)
    return redirect(url_for("mfa.verify"))


def portal_second_factor(user: User) -> SecondFactor | None:
    return reauth.second_factor(user)


def portal_nav_items(user) -> list[NavItem]:
    return [
        NavItem("Security (MFA)", "mfa.index", order=80),
        NavItem("MFA users", "mfa.admin_users", admin=True, order=230),
    ]


def portal_mfa_adoption() -> dict[str, Any]:
    """The adoption figures the security console shows."""
    return service.adoption()


def portal_openapi() -> dict[str, Any]:
    return openapi.openapi_fragment()


def portal_account_sections(user: User) -> list[AccountSection]:
    return account.account_sections(user)


def portal_login_options() -> list[str]:
    return passkey_views.login_options()
