"""Named rate-limit configurations (AUTH, MFA, API, DEFAULT) and which one applies to a request."""

from __future__ import annotations

import math

from flask import current_app, g, request
from flask_login import current_user

from app.auth.service import keyed_digest
from plugins.security.sanitize import clean_text


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


def current_policy() -> tuple[str, str]:
    """The policy of the current request (computed once per request)."""
    if "security_policy" not in g:
        g.security_policy = resolve(request.endpoint, request.path)
    return g.security_policy


# --- the pieces of the flask-limiter limits ---------------------------------------------------


def general_limit() -> str:
    return current_policy()[1]


def general_scope(endpoint: str) -> str:
    return current_policy()[0]


def general_exempt() -> bool:
    """Sign-in endpoints count failures only; exempt endpoints count nothing."""
    return (
        current_policy()[0] == "AUTH" or request.endpoint in current_app.config["RATE_LIMIT_EXEMPT_ENDPOINTS"]
    )


def auth_ip_limit() -> str:
    return current_app.config["RATE_LIMIT_AUTH"]


def auth_account_limit() -> str:
    return current_app.config["RATE_LIMIT_AUTH_ACCOUNT"]


def not_a_sign_in_attempt() -> bool:
    return request.method != "POST" or current_policy()[0] != "AUTH"


def submitted_username() -> str:
    """The account a sign-in attempt is for: the form's username, or the signed-in user's own
    (a password change re-checks the current password, and is counted like a sign-in)."""
    name = request.form.get("username")
    if name is None and current_user.is_authenticated:
        name = current_user.username
    return clean_text((name or "").strip().lower(), 80)


def no_account_named() -> bool:
    return not_a_sign_in_attempt() or not submitted_username()


def no_limit_applies() -> bool:
    """True when none of the default limits would count this request (each of them exempts it)."""
    return general_exempt() and not_a_sign_in_attempt()


def ip_key() -> str:
    return f"ip:{request.remote_addr or 'unknown'}"


def account_key() -> str:
    """The per-account limit's key: a digest of the submitted name, never the name itself. People
    paste passwords into the username field, and this key reaches the logs, the audit events
    and the rejections table."""
    return "account:" + keyed_digest(submitted_username())


def failed_sign_in(response) -> bool:
    """The core answers a failed sign-in with 401 (a success redirects)."""
    return response.status_code == 401


def refused_sign_in(response) -> bool:
    """A failed sign-in (401), or an anonymous sign-in form refused before its password was
    checked (400: a missing or stale CSRF token, a malformed form): a script posting forms
    without the token must meet the per-IP sign-in limit, and its bans, like one guessing
    passwords. A signed-in user's password-change form errors are not counted."""
    return response.status_code == 401 or (response.status_code == 400 and not current_user.is_authenticated)
