"""Plugin security: rate limiting, tamper-evident audit log, request inspection, and (its second
part, ``plugins/security/threats``) threat detection, alerts, responses and the console.

Both parts are declared here, once, in the ``Plugin`` object and its setup: their blueprints,
settings, jobs, nav items, OpenAPI description and commands, and the security-event pipeline,
in which the audit log (this part) hands each event it stores to the threat part's stages
(``threats/pipeline.py``).
"""

from __future__ import annotations

from flask import Blueprint, Flask

from app.access import ADMIN, protect_blueprint
from app.plugin import NavItem, Plugin
from plugins.security import account, api, audit, guard, inspection, limiting, rejection, threats, views
from plugins.security import models as models  # noqa: F401  (registers the tables)
from plugins.security.cli import command_group
from plugins.security.jobs import JOBS
from plugins.security.settings import SETTINGS
from plugins.security.threats import pipeline

bp = Blueprint("security", __name__, url_prefix="/security", template_folder="templates")
protect_blueprint(bp, ADMIN)

views.register(bp)
# The limits' headers, and a sign-in attempt charged only once the view has answered.
bp.after_app_request(limiting.finish_limits)

NAV_ITEMS = (NavItem("IP bans", "security.bans", admin=True, order=330), *threats.NAV_ITEMS)
OPENAPI_PARTS = (api.openapi, threats.threat_openapi)


def setup(app: Flask) -> None:
    """Wire each part of the plugin into ``app`` (the pipeline, receivers, request hooks)."""
    app.extensions["security"] = {}
    # The security-event pipeline: the audit log's events go on to detection, alerts, responses.
    audit.setup(app, next_stage=pipeline.process)
    rejection.setup(app)
    limiting.setup(app)
    inspection.setup(app)
    threats.setup_threats(app)


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
    blueprints=(bp, api.bp, *threats.THREAT_BLUEPRINTS),
    settings=SETTINGS + threats.THREAT_SETTINGS,
    jobs=(*JOBS, *threats.THREAT_JOBS),
    setup=setup,
    cli=command_group(threats.THREAT_COMMANDS),
    hooks=HOOKS,
    # Limits, bans and inspection see a request before the access guard turns an anonymous
    # flood of protected URLs into cheap-looking redirects, and before the CSRF check.
    guards=guard.GUARDS,
)
