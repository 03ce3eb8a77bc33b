"""The plugin's answers to the portal's hooks, each named like its hook (app/plugin/hookspecs.py)."""

from __future__ import annotations

from typing import Any

from app.plugin import NavItem
from plugins.security import account, openapi

NAV_ITEMS = (
    NavItem("IP bans", "security.bans", admin=True, order=330),
    # The threat part's console.
    NavItem("Security", "security_console.dashboard", admin=True, order=150),
    NavItem("Alerts", "security_console.alerts", admin=True, order=151),
)


def portal_nav_items(user) -> list[NavItem]:
    return list(NAV_ITEMS)


def portal_openapi() -> dict[str, Any]:
    return openapi.openapi_fragment()


def portal_account_activity(user, limit: int) -> list[dict[str, Any]]:
    return account.account_activity(user, limit)
