"""Rate limiting with flask-limiter: a limiter of this plugin's own per app, whose default limits
apply the named policies to every endpoint (static files and exempt endpoints aside).

The core's ``app.extensions.limiter`` stays for views that decorate themselves (e.g. MFA); its
rejections reach the same 429 handling through the error handler registered here.
"""

from __future__ import annotations

import logging
import time
from functools import lru_cache

from flask import Flask, current_app, g, request
from flask_limiter import HeaderNames, Limit, Limiter, RateLimitExceeded, RequestLimit
from limits import RateLimitItem, parse

from app.extensions import rate_limit_key
from plugins.security import failures, policies
from plugins.security.bans import ban_ip, ban_remaining
from plugins.security.guard import add_guard
from plugins.security.rejection import note_dry_run, reject, route_name, too_many_requests

BREACH_SCOPE = "security-breaches"
KEY_PREFIX = "security"
CHECKED = "_security_limits_checked"  # set in g when this request went through the limiter
log = logging.getLogger(__name__)


def build_limiter(app: Flask) -> Limiter:
    """This app's limiter: the general policy limit (wrong answers are failures.py's)."""
    uri = app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
    # A Redis that stops answering must fail fast so that the in-memory fallback takes over.
    options = (
        {"socket_connect_timeout": 0.5, "socket_timeout": 0.5} if uri.startswith(("redis", "rediss")) else {}
    )
    return Limiter(
        key_func=rate_limit_key,
        key_prefix=KEY_PREFIX,
        request_identifier=request_identity,
        storage_uri=uri,
        storage_options=options,
        in_memory_fallback_enabled=True,
        headers_enabled=True,
        # Wrong passwords and codes are limited by failures.py, which reserves before the check.
        default_limits=[
            Limit(policies.general_limit, scope=policies.general_scope, exempt_when=policies.general_exempt),
        ],
    )


def request_identity() -> str:
    """The limiter's name for the request: its endpoint, or "<unmatched>" for a URL with no route."""
    return route_name()


def _state() -> dict:
    return current_app.extensions["security"]


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
    """Guard: run the limiter's check; reject (or, in dry-run mode, only log) a breach."""
    if policies.no_limit_applies():
        # A sign-in page's GET or an exempt endpoint: each default limit would exempt it, and
        # asking flask-limiter to find that out costs a third of this plugin's time per request.
        return None
    if not policies.is_guess() and count_general_limit():
        return None
    g.setdefault(CHECKED, True)
    if policies.is_guess():
        response, by_address = failures.reserve()
        if by_address:
            escalate()
        return response
    for check in _state()["limiter_checks"]:
        try:
            check()
        except RateLimitExceeded as exceeded:
            if current_app.config["RATE_LIMIT_DRY_RUN"]:
                note_dry_run(exceeded)
                continue
            response = reject(exceeded, _state()["limiter"].current_limit)
            escalate()
            return response
    return None


@lru_cache(maxsize=64)
def _parsed(limit: str) -> RateLimitItem:
    return parse(limit)


def count_general_limit() -> bool:
    """Count a request under the general policy limit (not a guess) straight on the limiter's
    strategy, with the key flask-limiter would use; True when it is within the limit. False
    sends the request through flask-limiter's own check: a breach (for its exception, dry run
    and logging), or a storage in trouble (it falls back to memory, and finds out when the
    storage is back). Resolving the default limits per request in flask-limiter (filtering,
    parsing the limit string, its request context) cost as much as the counting itself."""
    limiter: Limiter = _state()["limiter"]
    strategy = limiter.limiter
    if strategy is not _state()["primary_strategy"]:
        return False  # the storage is down: flask-limiter's fallback and recovery check
    policy, limit = policies.current_policy()
    item = _parsed(limit)
    args = [KEY_PREFIX, rate_limit_key(), f"{request_identity()}:{policy}"]
    try:
        if not strategy.hit(item, *args):
            return False
    except Exception:
        return False
    g.security_general_limit = RequestLimit(limiter, item, args, False, False)
    return True


def general_limit_headers(response):
    """flask-limiter's headers (and the IETF ones) for a request counted by count_general_limit."""
    current: RequestLimit = g.security_general_limit
    try:
        reset_at, remaining = current.reset_at, current.remaining
    except Exception:  # headers are a courtesy; a storage hiccup must not fail the response
        return response
    headers = response.headers
    headers.add(HeaderNames.LIMIT.value, str(current.limit.amount))
    headers.add(HeaderNames.REMAINING.value, str(remaining))
    headers.add(HeaderNames.RESET.value, str(reset_at))
    headers.set(HeaderNames.RETRY_AFTER.value, str(int(reset_at - time.time())))
    return ietf_headers(response, current)


def escalate() -> None:
    """Count a breach for the client IP; enough breaches within the threshold window ban it."""
    config = current_app.config
    ip = request.remote_addr
    if not config["SECURITY_BAN_ENABLED"] or not ip:
        return
    strategy = _state()["limiter"].limiter  # the in-memory fallback while the storage is down
    threshold = parse(config["SECURITY_BAN_THRESHOLD"])
    try:
        # The Nth breach within the window (threshold "N per window") bans.
        exhausted = not strategy.hit(threshold, BREACH_SCOPE, ip) or not strategy.test(
            threshold, BREACH_SCOPE, ip
        )
        if exhausted:
            strategy.clear(threshold, BREACH_SCOPE, ip)
    except Exception:  # the limiter notices a dead storage on the next request and falls back
        log.warning("could not count a rate-limit breach for %s", ip, exc_info=True)
        return
    if exhausted:
        ban_ip(ip, reason=f"{threshold.amount} rate-limit breaches within {threshold.get_expiry()} s")


def handle_core_limiter(exceeded: RateLimitExceeded):
    """Error handler for limits raised inside views (the core limiter's decorated limits)."""
    from app.extensions import limiter as core_limiter

    return reject(exceeded, core_limiter.current_limit)


def ietf_headers(response, current: RequestLimit | None = None):
    """Add the IETF ``RateLimit`` and ``RateLimit-Policy`` fields next to flask-limiter's."""
    state = current_app.extensions["security"]
    try:
        current = current or state["limiter"].current_limit
        if current is None:
            return response
        name = policies.current_policy()[0].lower()
        window = current.limit.get_expiry()
        reset = max(0, int(current.reset_at - time.time()))
    except Exception:  # headers are a courtesy; a storage hiccup must not fail the response
        return response
    response.headers["RateLimit-Policy"] = f'"{name}";q={current.limit.amount};w={window}'
    response.headers["RateLimit"] = f'"{name}";r={max(0, current.remaining)};t={reset}'
    return response


def setup(app: Flask) -> None:
    app.register_error_handler(RateLimitExceeded, handle_core_limiter)
    add_guard(app, check_ban, order=10)
    if not app.config["RATE_LIMIT_ENABLED"]:
        return
    failures.setup(app)
    limiter = build_limiter(app)
    hooks = {
        "before": app.before_request_funcs.setdefault(None, []),
        "after": app.after_request_funcs.setdefault(None, []),
        "teardown": app.teardown_request_funcs.setdefault(None, []),
    }
    existing = {kind: list(funcs) for kind, funcs in hooks.items()}
    limiter.init_app(app)
    # flask-limiter's own hooks are taken out and run only for a request whose limits were
    # checked: the check runs inside the early guard (for dry-run and bans), and a request that
    # no limit counts (most of them on sign-in pages) needs neither its headers nor its clean-up.
    added = {kind: [hook for hook in funcs if hook not in existing[kind]] for kind, funcs in hooks.items()}
    for kind, funcs in added.items():
        for hook in funcs:
            hooks[kind].remove(hook)

    def finish_limits(response):
        if not g.get(CHECKED):
            if "security_general_limit" in g:
                return general_limit_headers(response)
            return response
        if policies.is_guess():
            return failures.settle(response)
        for hook in reversed(added["after"]):  # Flask's order for after_request functions
            response = hook(response)
        return ietf_headers(response)  # after flask-limiter's, to see the limit it chose

    def release_limits(error: BaseException | None = None) -> None:
        if g.get(CHECKED):
            for hook in added["teardown"]:
                hook(error)

    app.after_request(finish_limits)
    app.teardown_request(release_limits)
    app.extensions["security"].update(
        limiter=limiter, limiter_checks=added["before"], primary_strategy=limiter.limiter
    )
    add_guard(app, check_limits, order=20)
