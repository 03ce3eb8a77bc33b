"""Plugin performance: request metrics, roll-ups, slow queries, resources, scoring, dashboard,
and /metrics for Prometheus."""

from __future__ import annotations

from app.plugin import Plugin
from plugins.performance import hookimpls
from plugins.performance import models as models  # noqa: F401  (the tables must be known to the metadata)
from plugins.performance.api import api_bp
from plugins.performance.hooks import setup
from plugins.performance.jobs import JOBS
from plugins.performance.metrics import metrics_bp
from plugins.performance.settings import SETTINGS
from plugins.performance.views import bp

plugin = Plugin(
    name="performance",
    description="Request metrics, slow queries, resources and scoring",
    flag="PERFORMANCE_MONITORING_ENABLED",
    blueprints=(bp, api_bp, metrics_bp),
    root_paths=("/metrics",),
    settings=SETTINGS,
    jobs=JOBS,
    setup=setup,
    hooks={
        "portal_nav_items": hookimpls.portal_nav_items,
        "portal_openapi": hookimpls.portal_openapi,
        "portal_demo_seed": hookimpls.portal_demo_seed,
    },
)
