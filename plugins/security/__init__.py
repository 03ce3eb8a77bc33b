"""Plugin security: rate limiting, tamper-evident audit log, request inspection.

The plugin object is assembled from the lists below so that a new part (detection rules,
alerts, the dashboard) adds its settings, setup step, jobs, nav items or API description by
appending to a list, without rewriting the others.
"""

from __future__ import annotations

from flask import Blueprint, Flask

from app.access import ADMIN, protect_blueprint
from app.plugin import NavItem, Plugin
from plugins.security import account, api, audit, inspection, limiting, rejection, views
from plugins.security import models as models  # noqa: F401  (registers the tables)
from plugins.security.cli import cli
from plugins.security.guard import GUARDS
from plugins.security.jobs import JOBS
from plugins.security.settings import SETTINGS
from plugins.security.threats import NAV_ITEMS as THREAT_NAV_ITEMS
from plugins.security.threats import (
    THREAT_BLUEPRINTS,
    THREAT_JOBS,
    THREAT_SETTINGS,
    add_threat_commands,
    setup_threats,
    threat_openapi,
)

bp = Blueprint("security", __name__, url_prefix="/security", template_folder="templates")
protect_blueprint(bp, ADMIN)

views.register(bp)
# The limits' headers, and a sign-in attempt charged only once the view has answered.
bp.after_app_request(limiting.finish_limits)

SETUP_STEPS = [audit.setup, rejection.setup, limiting.setup, inspection.setup]
NAV_ITEMS: list[NavItem] = [NavItem("IP bans", "security.bans", admin=True, order=330)]
OPENAPI_PARTS = [api.openapi]

# Detection, alerts, responses and the security console (plugins/security/threats).
SETUP_STEPS.append(setup_threats)
NAV_ITEMS.extend(THREAT_NAV_ITEMS)
OPENAPI_PARTS.append(threat_openapi)
add_threat_commands(cli)


def setup(app: Flask) -> None:
    """Wire each part of the plugin into ``app`` (receivers, request hooks)."""
    app.extensions["security"] = {}
    for step in SETUP_STEPS:
        step(app)


def nav_items(user):
    return list(NAV_ITEMS)


def openapi() -> dict:
    document: dict = {"paths": {}, "components": {"schemas": {}}, "tags": []}
    for part in OPENAPI_PARTS:
        answer = part()
        document["paths"].update(answer.get("paths", {}))
        document["components"]["schemas"].update(answer.get("components", {}).get("schemas", {}))
        document["tags"].extend(answer.get("tags", []))
    return document


HOOKS = {
    "portal_nav_items": nav_items,
    "portal_openapi": openapi,
    "portal_account_activity": account.account_activity,
}

plugin = Plugin(
    name="security",
    description="Rate limiting, tamper-evident audit log, request inspection",
    blueprints=(bp, api.bp, *THREAT_BLUEPRINTS),
    settings=SETTINGS + THREAT_SETTINGS,
    jobs=tuple(JOBS) + THREAT_JOBS,
    setup=setup,
    cli=cli,
    hooks=HOOKS,
    # Limits, bans and inspection see a request before the access guard turns an anonymous
    # flood of protected URLs into cheap-looking redirects, and before the CSRF check.
    guards=GUARDS,
)
