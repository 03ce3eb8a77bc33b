"""Plugin plans: Medicare plan search and client policies."""

from app.plugin import Plugin

plugin = Plugin(name="plans", description="Medicare plan search and client policies")
