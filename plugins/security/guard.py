"""The plugin's answer to the core's ``portal_request_guard`` hook (the first thing every request
meets): its guards in order (IP blocks, bans, rate limits, inspection...). Each guard returns a
response to stop the request, or None to let it through."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app, request
from flask.typing import ResponseReturnValue

from plugins.security import repeats

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
    repeats.sweep()  # write the counts of repeated detections whose window has closed
    for _, guard in current_app.extensions["security"]["guards"]:
        response = guard()
        if response is not None:
            return response
    return None


def setup(app: Flask) -> None:
    app.extensions["security"].setdefault("guards", [])
