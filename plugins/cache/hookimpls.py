"""The plugin's answers to the portal's hooks, each named like its hook (app/plugin/hookspecs.py)."""

from __future__ import annotations

from typing import Any

from app.plugin import NavItem
from plugins.cache import openapi
from plugins.cache.service import CacheService
from plugins.cache.state import state_or_none


def portal_cache_provider() -> CacheService | None:
    return state_or_none()


def portal_cache_stats() -> dict[str, Any] | None:
    service = state_or_none()
    return service.stats() if service is not None else None


def portal_readiness() -> dict[str, bool] | None:
    """Whether the cache's Redis answers (the redis backend only: the others need no server)."""
    service = state_or_none()
    if service is None or service.backend.name != "redis":
        return None
    try:
        return {"cache": bool(service.backend.client.ping())}
    except Exception:  # any failure to answer is "not ready", never an error page
        return {"cache": False}


def portal_nav_items(user) -> list[NavItem]:
    return [NavItem("Cache", "cache.index", admin=True, order=240)]


def portal_openapi() -> dict[str, Any]:
    return openapi.openapi_fragment()
