"""Navigation: the core's entries plus those plugins contribute through ``portal_nav_items``."""

from __future__ import annotations

from flask import Flask, current_app
from flask_login import current_user

from app.plugin import NavItem, call_hook

CORE_ITEMS = (
    NavItem("Home", "core.home", order=0),
    NavItem("Account", "account.security", order=85),
    NavItem("Password", "auth.password", order=90),
    NavItem("Admin", "admin.index", admin=True, order=200),
    NavItem("Jobs", "admin.jobs", admin=True, order=210),
    NavItem("Users", "admin.users", admin=True, order=220),
)


def nav_items() -> list[NavItem]:
    """The entries the current user may see, in order; endpoints that do not exist are dropped."""
    if not current_user.is_authenticated:
        return []
    items = list(CORE_ITEMS)
    for contributed in call_hook("portal_nav_items", user=current_user):
        items.extend(contributed)
    view_functions = current_app.view_functions
    visible = [
        item
        for item in items
        if item.endpoint in view_functions and (current_user.is_admin or not item.admin)
    ]
    return sorted(visible, key=lambda item: (item.order, item.label))


def init_app(app: Flask) -> None:
    app.context_processor(lambda: {"nav_items": nav_items})
