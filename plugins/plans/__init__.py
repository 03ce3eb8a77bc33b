"""Plugin plans: Medicare plan search (page and JSON API) and the signed-in client's policies.

The reference example of a plugin: models, a shared search validation, views, an API route with
its OpenAPI description, demo data and navigation, each in its own small module.
"""

from __future__ import annotations

from app.config import Setting, as_int
from app.plugin import NavItem, Plugin
from plugins.plans import models  # noqa: F401  (the tables must be known to create_all and Alembic)
from plugins.plans.api import api_bp
from plugins.plans.demo import seed_demo
from plugins.plans.forms import MAX_PER_PAGE
from plugins.plans.openapi import openapi_fragment
from plugins.plans.views import bp


def nav_items(user) -> list[NavItem]:
    """Plans for everyone; the policy pages for clients (admins hold no policies)."""
    items = [NavItem("Plans", "plans.search", order=10)]
    if not user.is_admin:
        items.append(NavItem("My policies", "plans.policies", order=20))
    return items


plugin = Plugin(
    name="plans",
    description="Medicare plan search and client policies",
    blueprints=(bp, api_bp),
    settings=(
        Setting("PLANS_PAGE_SIZE", 20, as_int(1, MAX_PER_PAGE), "Plans per page when per_page is not given"),
    ),
    hooks={
        "portal_nav_items": nav_items,
        "portal_demo_seed": seed_demo,
        "portal_openapi": openapi_fragment,
    },
)
