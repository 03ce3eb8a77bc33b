"""Plugin cache: a tagged, size-bounded, compressed cache on memory, Redis or database backends.

Other parts of the portal use it through ``app.caching`` (get_or_set, delete_by_tags) and
flask-caching (``app.extensions.cache``); models with ``__cache_tags__`` invalidate their tags
when a change to them is committed.
"""

from __future__ import annotations

from flask import Flask, current_app

from app.extensions import cache as flask_cache
from app.plugin import Job, NavItem, Plugin
from plugins.cache import invalidation
from plugins.cache import models as models  # noqa: F401  (the tables must be known)
from plugins.cache.cli import cleanup_job, cli
from plugins.cache.openapi import openapi
from plugins.cache.service import CacheService
from plugins.cache.settings import SETTINGS, build_service
from plugins.cache.views import api_bp, bp


def setup(app: Flask) -> None:
    """Build this app's cache service (no connection yet) and put flask-caching behind it."""
    service = build_service(app)
    app.extensions["portal.cache"] = service
    flask_cache.init_app(
        app,
        config={
            "CACHE_TYPE": "plugins.cache.flask_backend.PortalFlaskCache",
            "CACHE_DEFAULT_TIMEOUT": max(1, round(service.default_ttl)),
            "CACHE_NO_NULL_WARNING": True,
        },
    )
    invalidation.install()


def _provider() -> CacheService | None:
    return current_app.extensions.get("portal.cache")


def _stats():
    service = _provider()
    return service.stats() if service is not None else None


def _readiness() -> dict[str, bool] | None:
    """Whether the cache's Redis answers (the redis backend only: the others need no server)."""
    service = _provider()
    if service is None or service.backend.name != "redis":
        return None
    try:
        return {"cache": bool(service.backend.client.ping())}
    except Exception:  # any failure to answer is "not ready", never an error page
        return {"cache": False}


def _nav_items(user):
    return [NavItem("Cache", "cache.index", admin=True, order=240)]


plugin = Plugin(
    name="cache",
    description="Tagged, size-bounded, compressed cache (memory, Redis or database)",
    blueprints=(bp, api_bp),
    settings=SETTINGS,
    jobs=(
        Job(
            name="cache.cleanup",
            func=cleanup_job,
            trigger="interval",
            trigger_args={"minutes": 5},
            description="Remove expired cache entries and enforce the size bound",
        ),
    ),
    setup=setup,
    cli=cli,
    hooks={
        "portal_cache_provider": _provider,
        "portal_cache_stats": _stats,
        "portal_readiness": _readiness,
        "portal_nav_items": _nav_items,
        "portal_openapi": openapi,
    },
)
