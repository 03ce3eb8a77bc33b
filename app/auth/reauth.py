"""Step-up re-authentication (ASVS 3.7.1): sensitive changes need a recent sign-in.

The time of the last authentication lives in the signed session cookie: set when a sign-in
completes and when the user confirms it is them at ``/auth/reauth``. A copied cookie keeps the
time it was copied with and cannot move it forward without the password (and second factor),
so once REAUTH_TIMEOUT_SECONDS have passed it can no longer change credentials.

Views guard themselves with ``@reauth_required``; plugins use the same decorator (for example
``@reauth_required(return_to="mfa.index")`` on a POST-only action). A plugin that holds a second
factor answers the ``portal_second_factor`` hook with a ``SecondFactor``, so that the
re-authentication form asks for it too.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import current_app, flash, jsonify, redirect, request, session, url_for

from app.access import safe_next_url, wants_json
from app.api import API_PREFIX
from app.plugin import first_hook_result

AUTH_AT_KEY = "_portal_auth_at"
# Tolerated clock difference between the processes that stamped and that check the session.
CLOCK_SKEW_S = 5
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class FactorCheck:
    """The outcome of checking a second-factor code at re-authentication."""

    ok: bool
    error: str = ""
    status: int = 401  # 400 malformed, 401 wrong, 429 locked out, 503 cannot be checked now
    retry_after: int | None = None


@dataclass(frozen=True)
class SecondFactor:
    """A second factor the user must give besides the password: the form field's label and
    hint, and ``check(code)`` (which counts and audits wrong codes like the sign-in step does).

    ``template``, if given, is a template the plugin ships, rendered in the form instead of the
    code field (a passkey's button, which fills a hidden ``code``); ``missing`` is the form
    error when no code came."""

    label: str
    hint: str
    check: Callable[[str], FactorCheck]
    template: str | None = None
    missing: str = "Enter a code."


def mark_authenticated(now: float | None = None) -> None:
    """Record in the session that its user has just proved who they are."""
    session[AUTH_AT_KEY] = int(time.time() if now is None else now)


def authenticated_at() -> int | None:
    """When this session's user last signed in or re-authenticated (None: unknown)."""
    value = session.get(AUTH_AT_KEY)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def recently_authenticated(now: float | None = None) -> bool:
    """Whether the last authentication lies within REAUTH_TIMEOUT_SECONDS."""
    stamped = authenticated_at()
    if stamped is None:
        return False
    now = time.time() if now is None else now
    age = now - stamped
    return -CLOCK_SKEW_S <= age <= current_app.config["REAUTH_TIMEOUT_SECONDS"]


def second_factor(user) -> SecondFactor | None:
    """The second factor ``user`` must give to re-authenticate, if a plugin holds one."""
    return first_hook_result("portal_second_factor", user=user)


def reauth_next(target: str | None) -> str | None:
    """``target`` if it is a local path other than the re-authentication page itself."""
    target = safe_next_url(target)
    if target is None or target.split("?", 1)[0] == url_for("auth.reauth"):
        return None
    return target


def reauth_url(return_to: str | None = None) -> str:
    """The re-authentication page, returning afterwards to the page this request came from.

    A GET returns to itself; an unsafe method returns to ``return_to`` (an endpoint), or to the
    same URL when its route also answers GET: the form shows again and the user submits it once
    more, so nothing is replayed without them seeing it."""
    if return_to is not None:
        back: str | None = url_for(return_to)
    elif request.method in ("GET", "HEAD") or (request.url_rule and "GET" in request.url_rule.methods):
        back = request.full_path.rstrip("?")
    else:
        back = None
    back = reauth_next(back)
    return url_for("auth.reauth", next=back) if back else url_for("auth.reauth")


def reauth_response(return_to: str | None = None):
    """The answer to a sensitive request of a session whose authentication is too old."""
    target = reauth_url(return_to)
    # A form POST is redirected even when it asks for JSON: the limits of code and password
    # forms count 401 answers as wrong guesses, and a stolen cookie must not spend the owner's.
    api = request.path.startswith(API_PREFIX + "/")
    if api or (wants_json() and request.method in ("GET", "HEAD")):
        response = jsonify(error="re-authentication required", status=401, reauth_url=target)
        response.status_code = 401
        return response
    if request.method not in ("GET", "HEAD"):
        flash("Nothing was changed yet. Confirm it is you, then submit the form again.", "info")
        return redirect(target, code=303)  # 303: the browser follows with a GET, never a replay
    return redirect(target)


def reauth_required(view: F | None = None, *, return_to: str | None = None):
    """Decorate a view so that it runs only within REAUTH_TIMEOUT_SECONDS of an authentication.

    Use bare (``@reauth_required``) or with ``return_to``: the endpoint to come back to after
    re-authenticating from a POST-only action (``@reauth_required(return_to="mfa.index")``)."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def guarded(**view_args: Any):
            if not recently_authenticated():
                return reauth_response(return_to)
            return func(**view_args)

        guarded._portal_reauth = True  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorate(view) if view is not None else decorate


def requires_reauth(view: Callable[..., Any] | None) -> bool:
    """Whether ``view`` is guarded by ``reauth_required`` (the URL-map test lists them)."""
    return bool(getattr(view, "_portal_reauth", False))


# For the OpenAPI part of a plugin whose /api/v1 operation is guarded: its 401 answer.
REAUTH_REQUIRED_SCHEMA = {
    "type": "object",
    "required": ["error", "status", "reauth_url"],
    "properties": {
        "error": {"type": "string", "const": "re-authentication required"},
        "status": {"type": "integer", "const": 401},
        "reauth_url": {
            "type": "string",
            "description": "GET/POST /auth/reauth?next=...: confirm the password (and second factor)",
        },
    },
}
REAUTH_REQUIRED_RESPONSE = {
    "description": "Signed in, but not within REAUTH_TIMEOUT_SECONDS: re-authenticate at reauth_url",
    "content": {"application/json": {"schema": REAUTH_REQUIRED_SCHEMA}},
}
