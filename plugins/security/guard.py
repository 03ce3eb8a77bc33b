"""One early request hook that runs the plugin's guards in order (ban check, rate limits,
inspection...). Each guard returns a response to stop the request, or None to let it through."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app, request
from flask.typing import ResponseReturnValue

Guard = Callable[[], ResponseReturnValue | None]


def add_guard(app: Flask, guard: Guard, order: int) -> None:
    """Run ``guard`` early in every request; lower ``order`` runs first."""
    guards = app.extensions["security"].setdefault("guards", [])
    guards.append((order, guard))
    guards.sort(key=lambda item: item[0])


def run_guards() -> ResponseReturnValue | None:
    endpoint = request.endpoint
    if endpoint is not None and (endpoint == "static" or endpoint.endswith(".static")):
        return None  # static files are exempt from every guard (unknown URLs are not: scanners)
    for _, guard in current_app.extensions["security"]["guards"]:
        response = guard()
        if response is not None:
            return response
    return None


def setup(app: Flask) -> None:
    app.extensions["security"].setdefault("guards", [])
    # First of all request hooks: limits, bans and inspection must see a request before the
    # access guard turns an anonymous flood of protected URLs into cheap-looking redirects.
    app.before_request_funcs.setdefault(None, []).insert(0, run_guards)
