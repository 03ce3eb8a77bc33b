"""Rate limiting: the named policies' general limit on every endpoint (static files and exempt
endpoints aside), counted with `limits` on the strategy and storage of the portal's one
``Limiter`` (``app/rate_limits.py``); wrong passwords and codes are failures.py's.

The guard counts each request once, keyed as flask-limiter keyed a default limit, so a view
decorated with ``limiter.limit`` and these limits share storage and meaning. Every counted answer
carries the IETF rate-limit fields; a refusal also flask-limiter's headers and Retry-After.
"""

from __future__ import annotations

import logging
import time
from typing import NamedTuple

from flask import Flask, current_app, g, request
from limits import RateLimitItem, parse
from limits.strategies import RateLimiter
from limits.util import WindowStats

from app import rate_limits
from app.extensions import limiter as core_limiter
from app.extensions import rate_limit_key
from app.rate_limits import Counting, LimitExceeded
from plugins.security import failures, policies
from plugins.security.bans import ban_ip, ban_remaining
from plugins.security.rejection import note_dry_run, reject, too_many_requests
from plugins.security.state_parts import EndpointPolicy

BREACH_SCOPE = "security-breaches"
KEY_PREFIX = policies.KEY_PREFIX
GENERAL = "security_general_limit"  # g: the general limit this request was counted under
GUESS = "_security_limits_checked"  # g: this request's guess took its places (failures.py)
log = logging.getLogger(__name__)


class Counted(NamedTuple):
    """The general limit one request was counted under (for its headers and its refusal). A
    named tuple: one is built for every counted request, and a tuple is the cheapest to build."""

    strategy: RateLimiter
    args: tuple[str, str, str]
    admitted: bool
    policy: EndpointPolicy
    stats: WindowStats | None = None  # the window after the count, when the count read it

    @property
    def item(self) -> RateLimitItem:
        return self.policy.item

    def window(self) -> WindowStats:
        """The window's stats after this count (read again only if the count did not)."""
        if self.stats is not None:
            return self.stats
        return self.strategy.get_window_stats(self.item, *self.args)


def enabled(app: Flask) -> bool:
    """The rate-limit guard runs when RATE_LIMIT_ENABLED and the Limiter is on (RATELIMIT_ENABLED)."""
    return bool(app.config["RATE_LIMIT_ENABLED"] and app.config["RATELIMIT_ENABLED"])


def check_ban():
    """Guard: answer 429 to a banned client IP until its ban ends."""
    ip = request._get_current_object().remote_addr
    remaining = ban_remaining(ip)
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
    policy, method = policies.endpoint_policy(), request._get_current_object().method
    if policy.counts_nothing(method):
        return None  # a sign-in page's GET or an exempt endpoint: no limit counts it
    if policy.is_guess(method):
        g.setdefault(GUESS, True)
        response, by_address = failures.reserve()
        if by_address:
            escalate()
        return response
    counted = count_general_limit(policy)
    if counted is None or counted.admitted:
        return None
    identifier, limit_text = counted.args[1], str(counted.item)
    if current_app.config["RATE_LIMIT_DRY_RUN"]:
        note_dry_run(identifier, limit_text)
        return None
    response = reject(identifier, limit_text, retry_after=_seconds_to_reset(counted))
    escalate()
    return response


def count_general_limit(policy: EndpointPolicy) -> Counted | None:
    """Count the request under its policy's limit (not a guess), keyed as flask-limiter keys a
    default limit: prefix, client (``user:<id>`` or ``ip:<addr>``), ``<endpoint>:<policy>``.
    None when no storage answered (the request goes on uncounted rather than failing)."""
    client = rate_limit_key()
    before, after = policy.key_around
    args = (KEY_PREFIX, client, policy.scope)
    counted = core_limiter.counting().hit_with_window(policy.item, *args, key=before + client + after)
    if counted is None:
        return None
    strategy, admitted, stats = counted
    return g._get_current_object().setdefault(GENERAL, Counted(strategy, args, admitted, policy, stats))


def _seconds_to_reset(counted: Counted) -> int | None:
    try:
        reset_at = counted.window().reset_time
    except Exception:  # the storage went away between the count and now
        return None
    return max(1, int(reset_at - time.time()))


def general_limit_headers(response, counted: Counted):
    """The rate-limit headers of a request counted under the general limit.

    Every answer carries the IETF fields, ``RateLimit-Policy`` (the limit and its window) and
    ``RateLimit`` (what is left and when it resets): all a client needs to pace itself. A
    refusal also carries flask-limiter's ``X-RateLimit-*`` and ``Retry-After``, for clients that
    read those. Four more headers on every admitted answer were a third of the rate limit's
    cost per request and told such a client nothing the two do not."""
    try:
        stats = counted.window()
    except Exception:  # headers are a courtesy; a storage hiccup must not fail the response
        return response
    reset_at, remaining = int(stats.reset_time), max(0, stats.remaining)
    reset = max(0, int(reset_at - time.time()))
    headers, policy = response.headers, counted.policy
    name, item = policy.header_name, policy.item
    if response.status_code != 429:
        # add(), not extend(): no iterable to inspect, the cheapest way werkzeug offers
        headers.add("RateLimit-Policy", policy.header_field)
        headers.add("RateLimit", f'"{name}";r={remaining};t={reset}')
        return response
    if "Retry-After" in headers:  # the refusal's own (a ban's can outlast the window)
        reset = max(reset, int(headers["Retry-After"]))
    headers.extend(
        (
            (rate_limits.HEADER_LIMIT, str(item.amount)),
            (rate_limits.HEADER_REMAINING, str(remaining)),
            (rate_limits.HEADER_RESET, str(reset_at)),
            ("RateLimit-Policy", policy.header_field),
            ("RateLimit", f'"{name}";r={remaining};t={reset}'),
        )
    )
    headers.set(rate_limits.HEADER_RETRY_AFTER, str(reset))
    return response


def finish_limits(response):
    """after_app_request: settle a guess (its places stay only if it was wrong) and add the
    limit's headers; a request that no limit counted gets none."""
    request_globals = g._get_current_object()
    counted = request_globals.get(GENERAL)
    if counted is not None:
        return general_limit_headers(response, counted)
    if request_globals.get(GUESS):
        return failures.settle(response)
    return response


def escalate() -> None:
    """Count a breach for the client IP; enough breaches within the threshold window ban it."""
    config = current_app.config
    ip = request.remote_addr
    if not config["SECURITY_BAN_ENABLED"] or not ip:
        return
    counting: Counting = core_limiter.counting()
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


def handle_view_limit(exceeded: LimitExceeded):
    """Error handler for limits views declare themselves (``@limiter.limit`` on the one Limiter)."""
    return reject(exceeded.identifier, str(exceeded.item), retry_after=exceeded.retry_after)


def setup(app: Flask) -> None:
    app.register_error_handler(LimitExceeded, handle_view_limit)
    if not enabled(app):
        return
    failures.setup(app)
