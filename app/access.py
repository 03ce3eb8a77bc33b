"""Deny-by-default access control: every endpoint needs a signed-in user unless declared otherwise.

Views declare ``@public`` or ``@admin_only``; a blueprint declares a level for all its views with
``protect_blueprint(bp, ADMIN)``. One hook of ``app.request_pipeline`` enforces it, so an admin page cannot be
left open by forgetting a decorator: the URL-map test walks every rule against these levels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, jsonify, redirect, request, url_for
from flask_login import current_user

from app.events import EventType, Severity
from app.signals import emit_security_event

PUBLIC, SIGNED_IN, ADMIN = "public", "signed_in", "admin"
LEVELS = (PUBLIC, SIGNED_IN, ADMIN)
F = TypeVar("F", bound=Callable)


def public(view: F) -> F:
    """Mark a view as reachable without signing in."""
    view._portal_access = PUBLIC  # type: ignore[attr-defined]
    return view


def admin_only(view: F) -> F:
    """Mark a view as reachable by admins only."""
    view._portal_access = ADMIN  # type: ignore[attr-defined]
    return view


def protect_blueprint(bp: Blueprint, level: str) -> None:
    """Give every view of ``bp`` the access ``level`` unless the view declares its own."""
    if level not in LEVELS:
        raise ValueError(f"unknown access level {level!r}")

    def record(state) -> None:
        state.app.extensions["portal.access"][bp.name] = level

    bp.record_once(record)


def is_static(endpoint: str | None) -> bool:
    """Whether ``endpoint`` serves files under a static folder (the app's or a blueprint's)."""
    return endpoint is not None and (endpoint == "static" or endpoint.endswith(".static"))


def access_level(app: Flask, endpoint: str | None) -> str:
    """The access level that applies to ``endpoint``."""
    if endpoint is None or is_static(endpoint):
        return PUBLIC
    view = app.view_functions.get(endpoint)
    declared = getattr(view, "_portal_access", None)
    if declared:
        return declared
    blueprint_levels = app.extensions["portal.access"]
    parts = endpoint.split(".")[:-1]
    # The innermost blueprint with a declared level wins (nested blueprints: "a.b.view").
    for depth in range(len(parts), 0, -1):
        level = blueprint_levels.get(".".join(parts[:depth]))
        if level:
            return level
    return SIGNED_IN


def wants_json() -> bool:
    return request.path.startswith("/api/") or (request.accept_mimetypes.best == "application/json")


def enforce_access():
    """before_request: redirect anonymous users to sign-in, answer 403 to non-admins."""
    level = access_level(current_app, request.endpoint)
    if level == PUBLIC:
        return None
    if not current_user.is_authenticated:
        if wants_json():
            response = jsonify(error="authentication required", status=401, login_url=url_for("auth.login"))
            response.status_code = 401
            return response
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if level == ADMIN and not current_user.is_admin:
        emit_security_event(
            EventType.ACCESS_DENIED,
            Severity.MEDIUM,
            user=current_user,
            description="admin area refused to a non-admin",
            metadata={"endpoint": request.endpoint, "path": request.path[:200]},
        )
        abort(403)
    return None


def safe_next_url(target: str | None) -> str | None:
    """Return ``target`` if it is a local path on this site, else None (no open redirect)."""
    if not target or len(target) > 2000:
        return None
    if any(ord(ch) < 32 or ch == "\\" for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def init_app(app: Flask) -> None:
    """Make room for the blueprints' levels (enforce_access runs in app.request_pipeline)."""
    app.extensions["portal.access"] = {}
