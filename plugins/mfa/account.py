"""The plugin's sections of the account security page: TOTP status and backup codes left, passkeys."""

from __future__ import annotations

from app.account.sections import AccountSection
from plugins.mfa import backup, passkey_store, passkey_views, service


def account_sections(user) -> list[AccountSection]:
    """Two-factor sign-in (TOTP) for ``user``: on or off, backup codes left, where to manage it."""
    return [
        AccountSection(
            key="mfa-totp",
            title="Two-factor sign-in (authenticator app)",
            template="mfa/account_section.html",
            context={
                "status": service.status(user),
                "low_water_mark": backup.LOW_WATER_MARK,
                "has_passkey": passkey_store.has_passkey(user.id),
            },
            order=40,
        ),
        passkey_views.account_section(user),
    ]
