"""flask-caching on top of the cache service: ``cache.cached`` and ``cache.memoize`` (from
``app.extensions``) store through the same backend, tags and stats as everything else.

Privacy: while a user is signed in, every key is scoped by that user's id (tag ``user:<id>``),
so a page rendered for one user is never served to another; anonymous requests share entries.
Memoize version keys stay global, so ``delete_memoized`` still reaches every user's entries.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, has_request_context
from flask_caching.backends.base import BaseCache
from flask_login import current_user

from plugins.cache.state import state

VIEW_TAG = "flask-caching"
FOREVER_SECONDS = 365 * 24 * 3600  # flask-caching's timeout 0 means "no expiry"


def scope() -> str | None:
    """The current signed-in user's scope (``user:<id>``), or None for anonymous or no request."""
    if has_request_context() and current_user and current_user.is_authenticated:
        return f"user:{current_user.id}"
    return None


class PortalFlaskCache(BaseCache):
    """A cachelib-style backend that delegates to the current app's CacheService."""

    def __init__(self, default_timeout: int = 300, ignore_delete_many_errors: bool = False):
        super().__init__(default_timeout=default_timeout, ignore_delete_many_errors=ignore_delete_many_errors)

    @classmethod
    def factory(cls, app: Flask, config: dict[str, Any], args: list[Any], kwargs: dict[str, Any]):
        return cls(**kwargs)

    @property
    def service(self):
        return state()

    @staticmethod
    def _key(key: str) -> tuple[str, tuple[str, ...]]:
        user_scope = None if key.endswith("_memver") else scope()
        if user_scope is None:
            return key, (VIEW_TAG,)
        return f"{user_scope}:{key}", (VIEW_TAG, user_scope)

    def _ttl(self, timeout: int | None) -> float:
        timeout = self._normalize_timeout(timeout)
        return float(timeout) if timeout > 0 else float(FOREVER_SECONDS)

    def get(self, key: str) -> Any:
        return self.service.get(self._key(key)[0])

    def has(self, key: str) -> bool:
        return self.service.contains(self._key(key)[0])

    def set(self, key: str, value: Any, timeout: int | None = None) -> bool:
        scoped, tags = self._key(key)
        return self.service.set(scoped, value, ttl=self._ttl(timeout), tags=tags)

    def add(self, key: str, value: Any, timeout: int | None = None) -> bool:
        if self.has(key):
            return False
        return self.set(key, value, timeout)

    def delete(self, key: str) -> bool:
        return self.service.delete(self._key(key)[0])

    def clear(self) -> bool:
        self.service.delete_by_tags((VIEW_TAG,))
        return True
