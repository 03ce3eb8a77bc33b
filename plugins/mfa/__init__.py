"""Plugin mfa: TOTP second factor with QR enrolment, backup codes, lockout and key rotation;
passkeys (WebAuthn) as a second factor or as both factors at once."""

from __future__ import annotations

from app.plugin import Plugin
from plugins.mfa import admin_views as admin_views  # noqa: F401  (adds its pages to bp before it is registered)
from plugins.mfa import hookimpls
from plugins.mfa import models as models  # noqa: F401  (the tables must be known to create_all and Alembic)
from plugins.mfa import passkey_views as passkey_views  # noqa: F401  (adds its actions to bp)
from plugins.mfa import policy as policy  # noqa: F401  (adds the app-wide enrolment check to bp)
from plugins.mfa.api import api_bp
from plugins.mfa.cli import cli
from plugins.mfa.hooks import setup
from plugins.mfa.passkeys_api import passkeys_api_bp
from plugins.mfa.settings import SETTINGS
from plugins.mfa.views import bp

plugin = Plugin(
    name="mfa",
    description="TOTP second factor with QR enrolment, backup codes, lockout and key rotation; passkeys",
    blueprints=(bp, api_bp, passkeys_api_bp),  # pages under /mfa, JSON under /api/v1/mfa and /api/v1/passkeys
    root_paths=("/api/v1/passkeys",),  # the passkey ceremonies, where the API names them
    settings=SETTINGS,
    setup=setup,
    cli=cli,
    hooks={
        "portal_after_password": hookimpls.portal_after_password,
        "portal_second_factor": hookimpls.portal_second_factor,
        "portal_nav_items": hookimpls.portal_nav_items,
        "portal_mfa_adoption": hookimpls.portal_mfa_adoption,
        "portal_openapi": hookimpls.portal_openapi,
        "portal_account_sections": hookimpls.portal_account_sections,
        "portal_login_options": hookimpls.portal_login_options,
    },
)
