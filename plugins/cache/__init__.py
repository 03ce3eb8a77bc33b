"""Plugin cache: tagged, size-bounded, compressed cache."""

from app.plugin import Plugin

plugin = Plugin(name="cache", description="Tagged, size-bounded, compressed cache")
