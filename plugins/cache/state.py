"""What the plugin keeps per app: its ``CacheService`` at ``app.extensions["plugin.cache"]``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:
    from plugins.cache.service import CacheService

EXTENSION = "plugin.cache"


def state() -> CacheService:
    """The running app's cache service (set by ``setup``; the cache plugin must be enabled)."""
    return current_app._get_current_object().extensions[EXTENSION]  # one proxy lookup


def state_or_none() -> CacheService | None:
    """The running app's cache service, or None when the cache plugin is not wired into it."""
    return current_app.extensions.get(EXTENSION)
