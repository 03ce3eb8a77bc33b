"""Rate limiting: the named policies' general limit on every endpoint (static files and exempt
endpoints aside), counted with `limits` on the strategy and storage of the portal's one
flask-limiter ``Limiter`` (``app.extensions.limiter``); wrong passwords and codes are
failures.py's.

Why not flask-limiter's own per-request check: it runs as a before_request of its own (its
place in the request could not be the guard's), it has no dry run, and resolving the default
limits per request (filtering, parsing the limit string, its request context) cost as much as
the counting itself. Its strategy counts here with the key and the headers flask-limiter would
use, so a view decorated with ``limiter.limit`` and these limits share storage and meaning.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import lru_cache

from flask import Flask, current_app, g, request
from flask_limiter import HeaderNames, RateLimitExceeded
from limits import RateLimitItem, parse
from limits.strategies import RateLimiter

from app.extensions import limiter as core_limiter
from app.extensions import rate_limit_key
from app.limit_storage import SweptMemoryStorage
from plugins.security import failures, policies
from plugins.security.bans import ban_ip, ban_remaining
from plugins.security.rejection import note_dry_run, reject, route_name, too_many_requests
from plugins.security.state import EXTENSION, SecurityState

BREACH_SCOPE = "security-breaches"
KEY_PREFIX = "security"
GENERAL = "security_general_limit"  # g: the general limit this request was counted under
GUESS = "_security_limits_checked"  # g: this request's guess took its places (failures.py)
# After a storage error, count in memory for this long before asking the storage again.
RETRY_STORAGE_AFTER_S = 10.0
log = logging.getLogger(__name__)


class Counting:
    """The strategy the limits count on: the Limiter's, or one of the same kind on memory for
    RETRY_STORAGE_AFTER_S after the storage failed to answer (a Redis that went away)."""

    def __init__(self, primary: RateLimiter) -> None:
        self.primary = primary
        self.fallback = type(primary)(SweptMemoryStorage())
        self.down_until = 0.0

    def strategy(self) -> RateLimiter:
        return self.fallback if time.monotonic() < self.down_until else self.primary

    def failed(self, strategy: RateLimiter) -> None:
        if strategy is self.primary:
            log.warning("rate-limit storage unreachable; counting in memory for a while", exc_info=True)
            self.down_until = time.monotonic() + RETRY_STORAGE_AFTER_S


@dataclass(frozen=True)
class Counted:
    """The general limit one request was counted under (for its headers and its refusal)."""

    strategy: RateLimiter
    item: RateLimitItem
    args: tuple[str, str, str]
    admitted: bool


def enabled(app: Flask) -> bool:
    """The rate-limit guard runs when RATE_LIMIT_ENABLED and the Limiter is on (RATELIMIT_ENABLED)."""
    return bool(app.config["RATE_LIMIT_ENABLED"] and app.config["RATELIMIT_ENABLED"])


def request_identity() -> str:
    """The limit's name for the request: its endpoint, or "<unmatched>" for a URL with no route."""
    return route_name()


def _state() -> SecurityState:
    return current_app.extensions[EXTENSION]


def check_ban():
    """Guard: answer 429 to a banned client IP until its ban ends."""
    remaining = ban_remaining(request.remote_addr)
    if remaining:
        return too_many_requests(
            "Too many requests from your address. It is blocked for a while; please try again later.",
            retry_after=remaining,
            identifier=f"ip:{request.remote_addr}",
            limit="ban",
        )
    return None


def check_limits():
    """Guard: take a guess's places, or count the request under the general limit; reject (or,
    in dry-run mode, only log) a breach."""
    if policies.no_limit_applies():
        return None  # a sign-in page's GET or an exempt endpoint: no limit counts it
    if policies.is_guess():
        g.setdefault(GUESS, True)
        response, by_address = failures.reserve()
        if by_address:
            escalate()
        return response
    counted = count_general_limit()
    if counted is None or counted.admitted:
        return None
    identifier, limit_text = counted.args[1], str(counted.item)
    if current_app.config["RATE_LIMIT_DRY_RUN"]:
        note_dry_run(identifier, limit_text)
        return None
    response = reject(identifier, limit_text, retry_after=_seconds_to_reset(counted))
    escalate()
    return response


@lru_cache(maxsize=64)
def _parsed(limit: str) -> RateLimitItem:
    return parse(limit)


def count_general_limit() -> Counted | None:
    """Count the request under its policy's limit (not a guess), keyed as flask-limiter keys a
    default limit: prefix, client (``user:<id>`` or ``ip:<addr>``), ``<endpoint>:<policy>``.
    None when no storage answered (the request goes on uncounted rather than failing)."""
    counting: Counting = _state().counting
    policy, limit = policies.current_policy()
    item = _parsed(limit)
    args = (KEY_PREFIX, rate_limit_key(), f"{request_identity()}:{policy}")
    for _ in range(2):  # the storage, then memory if the storage just failed
        strategy = counting.strategy()
        try:
            admitted = strategy.hit(item, *args)
        except Exception:
            counting.failed(strategy)
            continue
        counted = g.setdefault(GENERAL, Counted(strategy, item, args, admitted))
        return counted
    return None


def _seconds_to_reset(counted: Counted) -> int | None:
    try:
        reset_at = counted.strategy.get_window_stats(counted.item, *counted.args).reset_time
    except Exception:  # the storage went away between the count and now
        return None
    return max(1, int(reset_at - time.time()))


def general_limit_headers(response, counted: Counted):
    """flask-limiter's headers (and the IETF ones) for a request counted under the general limit."""
    try:
        stats = counted.strategy.get_window_stats(counted.item, *counted.args)
    except Exception:  # headers are a courtesy; a storage hiccup must not fail the response
        return response
    reset_at, remaining = int(stats.reset_time), max(0, stats.remaining)
    amount, window = counted.item.amount, counted.item.get_expiry()
    headers = response.headers
    headers.add(HeaderNames.LIMIT.value, str(amount))
    headers.add(HeaderNames.REMAINING.value, str(remaining))
    headers.add(HeaderNames.RESET.value, str(reset_at))
    reset = max(0, int(reset_at - time.time()))
    if response.status_code == 429 and "Retry-After" in headers:
        reset = max(reset, int(headers["Retry-After"]))
    headers.set(HeaderNames.RETRY_AFTER.value, str(reset))
    name = policies.current_policy()[0].lower()
    headers["RateLimit-Policy"] = f'"{name}";q={amount};w={window}'
    headers["RateLimit"] = f'"{name}";r={remaining};t={reset}'
    return response


def finish_limits(response):
    """after_app_request: settle a guess (its places stay only if it was wrong) and add the
    limit's headers; a request that no limit counted gets none."""
    counted = g.get(GENERAL)
    if counted is not None:
        return general_limit_headers(response, counted)
    if g.get(GUESS):
        return failures.settle(response)
    return response


def escalate() -> None:
    """Count a breach for the client IP; enough breaches within the threshold window ban it."""
    config = current_app.config
    ip = request.remote_addr
    if not config["SECURITY_BAN_ENABLED"] or not ip:
        return
    counting: Counting = _state().counting
    strategy = counting.strategy()
    threshold = parse(config["SECURITY_BAN_THRESHOLD"])
    try:
        # The Nth breach within the window (threshold "N per window") bans.
        exhausted = not strategy.hit(threshold, BREACH_SCOPE, ip) or not strategy.test(
            threshold, BREACH_SCOPE, ip
        )
        if exhausted:
            strategy.clear(threshold, BREACH_SCOPE, ip)
    except Exception:  # the next count notices a dead storage and falls back
        counting.failed(strategy)
        log.warning("could not count a rate-limit breach for %s", ip, exc_info=True)
        return
    if exhausted:
        ban_ip(ip, reason=f"{threshold.amount} rate-limit breaches within {threshold.get_expiry()} s")


def handle_core_limiter(exceeded: RateLimitExceeded):
    """Error handler for limits raised inside views (``@limiter.limit`` on the one Limiter)."""
    try:
        identifier = exceeded.limit.key_func()
    except Exception:  # a key function that needs a request detail that is not there
        identifier = f"ip:{request.remote_addr}"
    current = core_limiter.current_limit
    retry_after = None
    if current is not None:
        try:
            retry_after = max(1, int(current.reset_at - time.time()))
        except Exception:  # the storage went away between the check and now
            retry_after = None
    return reject(identifier, str(exceeded.limit.limit), retry_after=retry_after)


def setup(app: Flask) -> None:
    app.register_error_handler(RateLimitExceeded, handle_core_limiter)
    if not enabled(app):
        return
    failures.setup(app)
    # Captured per app: the Limiter is one object per process (tests build many apps).
    state = app.extensions[EXTENSION]
    state.limiter, state.counting = core_limiter, Counting(core_limiter.limiter)
