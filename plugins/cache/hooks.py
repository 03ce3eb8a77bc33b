"""Wiring into one app: the cache service, flask-caching behind it, and commit-time invalidation."""

from __future__ import annotations

from flask import Flask

from app.extensions import cache as flask_cache
from plugins.cache import invalidation
from plugins.cache.settings import build_service
from plugins.cache.state import EXTENSION


def setup(app: Flask) -> None:
    """Build this app's cache service (no connection yet) and put flask-caching behind it."""
    service = build_service(app)
    app.extensions[EXTENSION] = service
    flask_cache.init_app(
        app,
        config={
            "CACHE_TYPE": "plugins.cache.flask_backend.PortalFlaskCache",
            "CACHE_DEFAULT_TIMEOUT": max(1, round(service.default_ttl)),
            "CACHE_NO_NULL_WARNING": True,
        },
    )
    invalidation.install()
