"""Plugin plans: Medicare plan search (page and JSON API) and the signed-in client's policies.

The reference example of a plugin (README, "Write a plugin"): this module is the table of
contents, and every other part lives in the module the template names for it.
"""

from __future__ import annotations

from app.plugin import Plugin
from plugins.plans import hookimpls
from plugins.plans import models as models  # noqa: F401  (the tables must be known to create_all and Alembic)
from plugins.plans.api import api_bp
from plugins.plans.settings import SETTINGS
from plugins.plans.views import bp

plugin = Plugin(
    name="plans",
    description="Medicare plan search and client policies",
    blueprints=(bp, api_bp),  # pages under /plans, the JSON API under /api/v1/plans
    settings=SETTINGS,
    hooks={
        "portal_nav_items": hookimpls.portal_nav_items,
        "portal_demo_seed": hookimpls.portal_demo_seed,
        "portal_openapi": hookimpls.portal_openapi,
    },
)
