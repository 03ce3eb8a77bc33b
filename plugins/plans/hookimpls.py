"""The plugin's answers to the portal's hooks, each named like its hook (app/plugin/hookspecs.py)."""

from __future__ import annotations

from typing import Any

from app.plugin import NavItem
from plugins.plans import demo, openapi


def portal_nav_items(user) -> list[NavItem]:
    """Plans for everyone; the policy pages for clients (admins hold no policies)."""
    items = [NavItem("Plans", "plans.search", order=10)]
    if not user.is_admin:
        items.append(NavItem("My policies", "plans.policies", order=20))
    return items


def portal_demo_seed(users) -> list[str]:
    return demo.seed_demo(users)


def portal_openapi() -> dict[str, Any]:
    return openapi.openapi_fragment()
