"""Threat detection, alerts and responses, IP monitoring and the security console.

One of the two parts the security plugin is composed of; ``plugins/security/__init__.py``
declares both in its ``Plugin`` object: this part's blueprints, settings, jobs, nav items,
OpenAPI description and commands (the names below), its setup step, and its pipeline
(``pipeline.process``) as the audit log's next stage.
"""

from __future__ import annotations

from flask import Flask

from app.plugin import NavItem, RequestGuard
from plugins.security.threats import models as models  # noqa: F401  (registers the tables)
from plugins.security.threats.api import api_bp
from plugins.security.threats.blocking import refuse_blocked_ip
from plugins.security.threats.cli import COMMANDS as THREAT_COMMANDS
from plugins.security.threats.jobs import THREAT_JOBS
from plugins.security.threats.openapi import threat_openapi
from plugins.security.threats.settings import THREAT_SETTINGS, check_smtp_settings
from plugins.security.threats.signin import check_session_change
from plugins.security.threats.traffic import count_request, setup_traffic
from plugins.security.threats.views import bp

NAV_ITEMS = (
    NavItem("Security", "security_console.dashboard", admin=True, order=150),
    NavItem("Alerts", "security_console.alerts", admin=True, order=151),
)


# Declared by the security plugin with its own blueprints: the console pages and their API.
THREAT_BLUEPRINTS = (bp, api_bp)


def _early_guard():
    """Count the request, then refuse it if its IP is blocked (before any other work)."""
    count_request()
    return refuse_blocked_ip()


# Early among the plugin's request guards: a blocked client gets no further.
THREAT_GUARDS = (RequestGuard("security.threats", order=10, func=_early_guard),)
# After the core's hooks (the idle timeout and access control come first).
bp.before_app_request(check_session_change)


def setup_threats(app: Flask) -> None:
    """Connect the request hooks on ``app`` (events reach the pipeline from the audit log)."""
    check_smtp_settings(app.config)
    setup_traffic(app)


__all__ = [
    "NAV_ITEMS",
    "THREAT_BLUEPRINTS",
    "THREAT_COMMANDS",
    "THREAT_GUARDS",
    "THREAT_JOBS",
    "THREAT_SETTINGS",
    "setup_threats",
    "threat_openapi",
]
