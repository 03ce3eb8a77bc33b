"""Plugin security: rate limiting, tamper-evident audit log, request inspection, and (its second
part, ``plugins/security/threats``) threat detection, alerts, responses and the console.

Both parts are declared here, once, through the modules the plugin template names: each of
them takes in the threat part's share (``threats/__init__.py`` lists what goes where).
"""

from __future__ import annotations

from app.plugin import Plugin
from plugins.security import hookimpls
from plugins.security import models as models  # noqa: F401  (the tables must be known to create_all and Alembic)
from plugins.security.api import api_bp
from plugins.security.cli import cli
from plugins.security.console import console_bp
from plugins.security.guard import GUARDS
from plugins.security.hooks import setup
from plugins.security.jobs import JOBS
from plugins.security.settings import SETTINGS
from plugins.security.threats import models as threat_models  # noqa: F401  (the threat part's tables)
from plugins.security.threats_api import threats_api_bp
from plugins.security.views import bp

plugin = Plugin(
    name="security",
    description="Rate limiting, tamper-evident audit log, request inspection",
    # Pages under /security (bans; the console), JSON under /api/v1/security (events; alerts, IPs).
    blueprints=(bp, api_bp, console_bp, threats_api_bp),
    settings=SETTINGS,
    jobs=JOBS,
    setup=setup,
    cli=cli,
    hooks={
        "portal_nav_items": hookimpls.portal_nav_items,
        "portal_openapi": hookimpls.portal_openapi,
        "portal_account_activity": hookimpls.portal_account_activity,
    },
    # Limits, bans and inspection see a request before the access guard turns an anonymous
    # flood of protected URLs into cheap-looking redirects, and before the CSRF check.
    guards=GUARDS,
)
