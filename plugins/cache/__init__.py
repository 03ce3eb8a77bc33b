"""Plugin cache: a tagged, size-bounded, compressed cache on memory, Redis or database backends.

Other parts of the portal use it through ``app.caching`` (get_or_set, delete_by_tags) and
flask-caching (``app.extensions.cache``); models with ``__cache_tags__`` invalidate their tags
when a change to them is committed.
"""

from __future__ import annotations

from app.plugin import Plugin
from plugins.cache import hookimpls
from plugins.cache import models as models  # noqa: F401  (the tables must be known)
from plugins.cache.api import api_bp
from plugins.cache.cli import cli
from plugins.cache.hooks import setup
from plugins.cache.jobs import JOBS
from plugins.cache.settings import SETTINGS
from plugins.cache.views import bp

plugin = Plugin(
    name="cache",
    description="Tagged, size-bounded, compressed cache (memory, Redis or database)",
    blueprints=(bp, api_bp),
    settings=SETTINGS,
    jobs=JOBS,
    setup=setup,
    cli=cli,
    hooks={
        "portal_cache_provider": hookimpls.portal_cache_provider,
        "portal_cache_stats": hookimpls.portal_cache_stats,
        "portal_readiness": hookimpls.portal_readiness,
        "portal_nav_items": hookimpls.portal_nav_items,
        "portal_openapi": hookimpls.portal_openapi,
    },
)
