"""Named rate-limit configurations (AUTH, MFA, API, DEFAULT) and which one applies to a request."""

from __future__ import annotations

import math

from flask import current_app, request
from flask_login import current_user

from app.auth.service import keyed_digest, normalize_username
from app.rate_limits import parsed
from plugins.security.sanitize import clean_text
from plugins.security.state import state
from plugins.security.state_parts import EndpointPolicy

# Policies whose endpoints count wrong answers (401) instead of requests.
FAILURE_POLICIES = ("AUTH", "MFA")
MAX_REMEMBERED_POLICIES = 4096
UNMATCHED = "<unmatched>"  # the endpoint name of a URL that matches no route
KEY_PREFIX = "security"  # the general limit's counters: security/<client>/<endpoint>:<policy>
CLIENT_MARK = "\x00"  # stands for the client in a policy's key (no client's part holds it)


def default_limit() -> str:
    """The DEFAULT policy from RATE_LIMIT_MAX_REQUESTS per RATE_LIMIT_WINDOW_MS."""
    config = current_app.config
    seconds = max(1, math.ceil(config["RATE_LIMIT_WINDOW_MS"] / 1000))
    return f"{config['RATE_LIMIT_MAX_REQUESTS']} per {seconds} seconds"


def named_limit(name: str) -> str:
    if name == "DEFAULT":
        return default_limit()
    return current_app.config[f"RATE_LIMIT_{name}"]


def resolve(endpoint: str | None, path: str) -> tuple[str, str]:
    """(policy name, limit string) for an endpoint: override, AUTH, MFA, API or DEFAULT."""
    config = current_app.config
    override = config["RATE_LIMIT_ENDPOINTS"].get(endpoint or "")
    if override:
        if override in ("AUTH", "MFA", "API", "DEFAULT"):
            return override, named_limit(override)
        return "ENDPOINT", override
    if endpoint in config["RATE_LIMIT_AUTH_ENDPOINTS"]:
        return "AUTH", named_limit("AUTH")
    if endpoint in config["RATE_LIMIT_MFA_ENDPOINTS"]:
        return "MFA", named_limit("MFA")
    if path.startswith("/api/"):
        return "API", named_limit("API")
    return "DEFAULT", default_limit()


def policy_for(endpoint: str | None, path: str) -> EndpointPolicy:
    """The policy of ``endpoint`` (at ``path``), worked out from the configuration."""
    name, limit = resolve(endpoint, path)
    item, scope = parsed(limit), f"{endpoint or UNMATCHED}:{name}"
    # limits' own key for (prefix, client, scope), split where the client goes: the same key
    # key_for builds, without joining its seven parts again on every request.
    before, after = item.key_for(KEY_PREFIX, CLIENT_MARK, scope).split(CLIENT_MARK)
    return EndpointPolicy(
        name,
        limit,
        counts_failures_only=name in FAILURE_POLICIES,
        exempt=endpoint in current_app.config["RATE_LIMIT_EXEMPT_ENDPOINTS"],
        item=item,
        scope=scope,
        header_name=name.lower(),
        header_field=f'"{name.lower()}";q={item.amount};w={item.get_expiry()}',
        key_around=(before, after),
    )


def endpoint_policy() -> EndpointPolicy:
    """The current request's policy (a dictionary lookup after an endpoint's first request)."""
    asked = request._get_current_object()
    endpoint, path = asked.endpoint, asked.path
    known = state().endpoint_policies
    key = (endpoint, path.startswith("/api/"))
    policy = known.get(key)
    if policy is None:
        policy = policy_for(endpoint, path)
        if len(known) < MAX_REMEMBERED_POLICIES:  # endpoints are few; a bound all the same
            known[key] = policy
    return policy


def current_policy() -> tuple[str, str]:
    """(name, limit string) of the current request's policy."""
    policy = endpoint_policy()
    return policy.name, policy.limit


def submitted_username() -> str:
    """The account a sign-in attempt is for: the form's username, or the signed-in user's own
    (a password change re-checks the current password, and is counted like a sign-in)."""
    name = request.form.get("username")
    if name is None and current_user.is_authenticated:
        name = current_user.username
    return clean_text(normalize_username(name or ""), 80)


def ip_key() -> str:
    return f"ip:{request.remote_addr or 'unknown'}"


def account_key() -> str:
    """The per-account limit's key: a digest of the submitted name, never the name itself. People
    paste passwords into the username field, and this key reaches the logs, the audit events
    and the rejections table."""
    return account_key_for(submitted_username())


def account_key_for(username: str) -> str:
    return "account:" + keyed_digest(clean_text(normalize_username(username), 80))
