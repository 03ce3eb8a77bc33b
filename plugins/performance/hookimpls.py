"""The plugin's answers to the portal's hooks, each named like its hook (app/plugin/hookspecs.py)."""

from __future__ import annotations

from app.plugin import NavItem
from plugins.performance import demo, openapi


def portal_nav_items(user) -> list[NavItem]:
    """The dashboard's entry in the admin navigation."""
    return [NavItem("Performance", "performance.index", admin=True, order=120)]


def portal_openapi() -> dict:
    return openapi.openapi_fragment()


def portal_demo_seed(users) -> list[str]:
    return demo.demo_seed(users)
