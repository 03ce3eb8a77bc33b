"""Plugin performance: request metrics, slow queries, resources, dashboard."""

from app.plugin import Plugin

plugin = Plugin(
    name="performance",
    description="Request metrics, slow queries, resources and scoring",
    flag="PERFORMANCE_MONITORING_ENABLED",
)
