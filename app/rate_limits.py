"""The portal's one rate limiter: a `limits` strategy on the configured storage, per app.

It counts the security plugin's limits (its request guard), the account notices, the reported
events, and views that declare a limit of their own with ``@limiter.limit("2 per minute")``.

Why `limits` directly and not flask-limiter's ``Limiter``: no view needs flask-limiter's
per-request machinery, yet its before-request pass ran for every request (resolving its
default, application and decorated limits to find none, building its request context, then an
after-request and a teardown hook): under callgrind 385,000 instructions, 13 % of a cached
signed-in request without plugins, with no public switch to leave it out. Here a decorated view
counts when it is called, and nothing runs for the others.

Configuration keeps flask-limiter's names: ``RATELIMIT_ENABLED``, ``RATELIMIT_STORAGE_URI``,
``RATELIMIT_STORAGE_OPTIONS``, ``RATELIMIT_STRATEGY`` (``fixed-window``, ``moving-window``,
``sliding-window-counter``). A storage that fails to answer (a Redis that went away) is replaced
by one of the same kind in memory for ``RETRY_STORAGE_AFTER_S``, as flask-limiter's in-memory
fallback did.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Any

from flask import Flask, current_app, request
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import STRATEGIES, MovingWindowRateLimiter, RateLimiter
from limits.util import WindowStats
from werkzeug.exceptions import TooManyRequests

from app.limit_storage import MEMORY_STORAGE_URI, SweptMemoryStorage

EXTENSION = "portal.rate_limits"
RETRY_STORAGE_AFTER_S = 10.0
VIEW_SCOPE = "view"  # the first part of a decorated view's key
# The headers flask-limiter names, which a refusal carries (admitted answers: the IETF fields).
HEADER_LIMIT = "X-RateLimit-Limit"
HEADER_REMAINING = "X-RateLimit-Remaining"
HEADER_RESET = "X-RateLimit-Reset"
HEADER_RETRY_AFTER = "Retry-After"
log = logging.getLogger(__name__)


class LimitExceeded(TooManyRequests):
    """A view's own limit refused the request: a plain 429 from the core; the security plugin,
    when enabled, records it like its own rejections and answers with its 429 page."""

    def __init__(self, item: RateLimitItem, identifier: str, retry_after: int | None) -> None:
        super().__init__(f"Rate limit exceeded: {item}", retry_after=retry_after)
        self.item = item
        self.identifier = identifier


class Counting:
    """One app's strategy: on the configured storage, or on memory for RETRY_STORAGE_AFTER_S
    after the storage failed to answer."""

    def __init__(self, primary: RateLimiter) -> None:
        self.primary = primary
        self.fallback = type(primary)(SweptMemoryStorage())
        self.down_until = 0.0
        # Which of the two counts and reads a moving window in one pass, found once.
        self.one_pass = {strategy: _one_pass(strategy) for strategy in (primary, self.fallback)}

    def strategy(self) -> RateLimiter:
        return self.fallback if time.monotonic() < self.down_until else self.primary

    def failed(self, strategy: RateLimiter) -> None:
        if strategy is self.primary:
            log.warning("rate-limit storage unreachable; counting in memory for a while", exc_info=True)
            self.down_until = time.monotonic() + RETRY_STORAGE_AFTER_S

    def hit(self, item: RateLimitItem, *identifiers: str) -> tuple[RateLimiter, bool] | None:
        """Count one hit on the storage, or on memory if the storage just failed: (the
        strategy that counted, admitted); None when neither answered."""
        return self._on_a_storage(lambda strategy: (strategy.hit(item, *identifiers),))

    def hit_with_window(
        self, item: RateLimitItem, *identifiers: str, key: str | None = None
    ) -> tuple[RateLimiter, bool, WindowStats | None] | None:
        """``hit``, with the window's stats after the hit when the storage counts and reads a
        moving window in one pass (memory: see ``SweptMemoryStorage.acquire_entry_with_window``);
        otherwise the stats are None and the caller reads them with ``get_window_stats``.
        ``key``: ``item.key_for(*identifiers)``, when the caller has it already."""

        def count(strategy: RateLimiter) -> tuple[bool, WindowStats | None]:
            one_pass = self.one_pass[strategy]
            if one_pass is None:
                return strategy.hit(item, *identifiers), None
            expiry = item.get_expiry()
            admitted, start, entries = one_pass(key or item.key_for(*identifiers), item.amount, expiry)
            return admitted, WindowStats(start + expiry, item.amount - entries)

        return self._on_a_storage(count)

    def _on_a_storage(self, count: Callable[[RateLimiter], tuple]) -> tuple | None:
        """(the strategy that counted, *what ``count`` answered) on the storage, or on memory if
        the storage just failed; None when neither answered."""
        for _ in range(2):
            strategy = self.strategy()
            try:
                return strategy, *count(strategy)
            except Exception:
                self.failed(strategy)
        return None

    def reset(self) -> None:
        """Forget every count (the CLI's and the tests' clean slate)."""
        for strategy in (self.primary, self.fallback):
            strategy.storage.reset()


def _one_pass(strategy: RateLimiter) -> Callable | None:
    """The storage's one-pass moving-window count, when ``strategy`` is a moving window on a
    storage that has one (memory); None otherwise."""
    if not isinstance(strategy, MovingWindowRateLimiter):
        return None
    return getattr(strategy.storage, "acquire_entry_with_window", None)


@lru_cache(maxsize=256)
def parsed(limit: str) -> RateLimitItem:
    """The limit string ("5 per minute") as `limits` counts it, parsed once."""
    return parse(limit)


def build_counting(config: dict[str, Any]) -> Counting:
    """The strategy and storage ``config`` names (app/config.py refuses an unknown strategy)."""
    uri = config.get("RATELIMIT_STORAGE_URI") or MEMORY_STORAGE_URI
    options = dict(config.get("RATELIMIT_STORAGE_OPTIONS") or {})
    if uri.startswith(("redis", "rediss")):
        # A Redis that stops answering must fail fast, so that the in-memory stand-in takes over.
        options.setdefault("socket_connect_timeout", 0.5)
        options.setdefault("socket_timeout", 0.5)
    strategy = STRATEGIES[config.get("RATELIMIT_STRATEGY") or "moving-window"]
    return Counting(strategy(storage_from_string(uri, **options)))


class Limiter:
    """The portal's one limiter object (``app.extensions.limiter``), bound to each app it serves."""

    def __init__(self, key_func: Callable[[], str]) -> None:
        self.key_func = key_func

    def init_app(self, app: Flask) -> None:
        app.config.setdefault("RATELIMIT_ENABLED", True)
        app.extensions[EXTENSION] = build_counting(app.config)

    def counting(self, app: Flask | None = None) -> Counting:
        return (app or current_app._get_current_object()).extensions[EXTENSION]

    @property
    def strategy(self) -> RateLimiter:
        """The running app's strategy (its in-memory stand-in while the storage is down)."""
        return self.counting().strategy()

    def limit(self, limit_value: str, key_func: Callable[[], str] | None = None):
        """Decorate a view with a limit of its own, counted per client (``key_func``, default the
        user or the address) and endpoint when the view is called."""
        item = parsed(limit_value)

        def decorate(view):
            @wraps(view)
            def limited(*args, **kwargs):
                if current_app.config["RATELIMIT_ENABLED"]:
                    self._count(item, (key_func or self.key_func)())
                return current_app.ensure_sync(view)(*args, **kwargs)

            return limited

        return decorate

    def _count(self, item: RateLimitItem, identifier: str) -> None:
        identifiers = (VIEW_SCOPE, identifier, request.endpoint or "")
        counted = self.counting().hit(item, *identifiers)
        if counted is None or counted[1]:
            return  # admitted, or no storage answered (the request goes on uncounted)
        strategy = counted[0]
        try:
            reset_at = strategy.get_window_stats(item, *identifiers).reset_time
            retry_after = max(1, int(reset_at - time.time()))
        except Exception:  # the storage went away between the count and now
            retry_after = None
        raise LimitExceeded(item, identifier, retry_after)
