"""Plugin performance: request metrics, roll-ups, slow queries, resources, scoring, dashboard,
and /metrics for Prometheus."""

from __future__ import annotations

from app.plugin import Job, NavItem, Plugin
from plugins.performance import models  # noqa: F401  (the tables must be known to the metadata)
from plugins.performance.api import api_bp, openapi
from plugins.performance.demo import demo_seed
from plugins.performance.hooks import setup
from plugins.performance.jobs import retention, rollup_hours
from plugins.performance.resources import sample_resources
from plugins.performance.settings import SETTINGS
from plugins.performance.views import bp


def nav_items(user):
    """The dashboard's entry in the admin navigation."""
    return [NavItem("Performance", "performance.index", admin=True, order=120)]


plugin = Plugin(
    name="performance",
    description="Request metrics, slow queries, resources and scoring",
    flag="PERFORMANCE_MONITORING_ENABLED",
    blueprints=(bp, api_bp),
    settings=SETTINGS,
    setup=setup,
    jobs=(
        Job(
            name="performance.sample_resources",
            func=sample_resources,
            trigger_args={"minutes": 1},
            description="Sample host and process CPU, memory and disk; raise threshold alerts",
        ),
        Job(
            name="performance.rollup_hours",
            func=rollup_hours,
            trigger_args={"minutes": 5},
            description="Build hour roll-ups from minute roll-ups for long trends",
        ),
        Job(
            name="performance.retention",
            func=retention,
            trigger_args={"hours": 6},
            description="Delete raw rows and roll-ups past their retention",
        ),
    ),
    hooks={"portal_nav_items": nav_items, "portal_openapi": openapi, "portal_demo_seed": demo_seed},
)
