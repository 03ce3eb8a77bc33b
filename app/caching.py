"""A tagged cache for any part of the portal, served by whichever plugin answers
``portal_cache_provider`` (the cache plugin). Without one, every call computes directly."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable

from flask import current_app

from app.plugin import first_hook_result


@runtime_checkable
class CacheProvider(Protocol):
    """What ``portal_cache_provider`` answers: a tagged cache, as this module uses it."""

    def get_or_set(
        self, key: str, compute: Callable[[], Any], ttl: float | None = None, tags: tuple[str, ...] = ()
    ) -> Any:
        """Return the cached value for ``key``, computing and storing it (with ``tags``) on a miss."""
        ...

    def delete_by_tags(self, tags: tuple[str, ...]) -> int:
        """Invalidate every entry carrying any of ``tags``; return how many were invalidated."""
        ...


PROVIDER = "portal.cache_provider"
_NONE = object()  # remembered: no plugin provides a cache


def _provider() -> CacheProvider | None:
    """The app's cache provider, asked of the plugins once per app (the answer is fixed at
    start-up, and a hook call per cached read cost a tenth of a cached answer)."""
    extensions = current_app.extensions
    provider = extensions.get(PROVIDER)
    if provider is None:
        provider = extensions[PROVIDER] = first_hook_result("portal_cache_provider") or _NONE
    return None if provider is _NONE else provider


def get_or_set(
    key: str, compute: Callable[[], Any], ttl: float | None = None, tags: Iterable[str] = ()
) -> Any:
    """The cached value for ``key``, computing and storing it (with ``tags``) on a miss."""
    provider = _provider()
    if provider is None:
        return compute()
    return provider.get_or_set(key, compute, ttl=ttl, tags=tuple(tags))


def delete_by_tags(tags: Iterable[str]) -> int:
    """Invalidate every entry carrying any of ``tags``; the number invalidated (0 without cache)."""
    provider = _provider()
    if provider is None:
        return 0
    return provider.delete_by_tags(tuple(tags)) or 0
