"""Plugin security: rate limiting, audit log, threat detection, alerts."""

from app.plugin import Plugin

plugin = Plugin(name="security", description="Rate limiting, audit log, detection and alerts")
