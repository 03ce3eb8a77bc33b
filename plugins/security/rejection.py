"""What happens when a request is rejected for a rate limit: count it, record it, tell the
other plugins, and answer 429 (an HTML page for browsers, JSON under /api/)."""

from __future__ import annotations

import logging
from functools import partial

from flask import Flask, current_app, jsonify, render_template, request

from app.access import wants_json
from app.database import upsert_insert
from app.events import EventType, Severity
from app.signals import request_rate_limited
from plugins.security.audit import log_event
from plugins.security.models import RateLimitRecord
from plugins.security.policies import UNMATCHED
from plugins.security.sanitize import clean_text
from plugins.security.state import EXTENSION
from plugins.security.state_parts import RejectionCounts

log = logging.getLogger(__name__)
# What a request that matches no route is called in limits, counts and events: flask-limiter
# finds no limits for an empty identity, and a scanner's unknown URLs must count like any page.


def route_name() -> str:
    """The request's endpoint, never its raw path: one count per route, not one per URL."""
    return request.endpoint or UNMATCHED


FLUSHER = "rate_limit_rejections"


def write_rejections(rejections: RejectionCounts, conn) -> int:
    """Upsert the buffered counts on ``conn`` (the writer commits); return the rows written."""
    counts = rejections.take()
    if not counts:
        return 0
    table = RateLimitRecord.__table__
    rows = [
        {"identifier": i, "endpoint": e, "request_count": n, "first_request": first, "last_request": last}
        for (i, e), (n, first, last) in counts.items()
    ]
    statement = upsert_insert(conn)(table)
    statement = statement.on_conflict_do_update(
        index_elements=["identifier", "endpoint"],
        set_={
            "request_count": table.c.request_count + statement.excluded.request_count,
            "last_request": statement.excluded.last_request,
        },
    )
    conn.execute(statement, rows)
    return len(rows)


def count_rejection(identifier: str, endpoint: str) -> None:
    """Count a rejection of (identifier, endpoint) for security_rate_limits."""
    state = current_app.extensions[EXTENSION]
    if state.rejections.add(identifier, endpoint):
        state.audit_writer.nudge(FLUSHER)


def flush_rejections(app: Flask) -> int:
    """Write this process's buffered rejection counts now; return how many rows were written."""
    return app.extensions[EXTENSION].audit_writer.flush_counts().get(FLUSHER, 0)


def setup(app: Flask) -> None:
    """Let the audit writer store the rejection counts of ``app``'s state."""
    state = app.extensions[EXTENSION]
    state.audit_writer.add_flusher(
        FLUSHER, app.config["SECURITY_COUNTS_FLUSH_SECONDS"], partial(write_rejections, state.rejections)
    )


def reject(identifier: str, limit_text: str, retry_after: int | None = None):
    """Record a rejection of ``identifier`` (``user:<id>``, ``ip:<addr>``) under the limit
    ``limit_text`` everywhere it is counted, and build the 429 response."""
    identifier = clean_text(identifier, 120)
    record_rejection(identifier, limit_text)
    return too_many_requests(
        "Too many requests. Please wait a moment and try again.",
        retry_after=retry_after,
        identifier=identifier,
        limit=limit_text,
    )


def record_rejection(identifier: str, limit_text: str) -> None:
    """Count the rejection in security_rate_limits and audit it."""
    endpoint = route_name()
    count_rejection(identifier, endpoint)
    log_event(
        EventType.SUSPICIOUS_ACTIVITY,
        Severity.MEDIUM,
        description=f"rate limit exceeded on {endpoint} ({limit_text})",
        metadata={
            "reason": "rate_limit",
            "identifier": identifier,
            "endpoint": endpoint,
            "limit": limit_text,
        },
    )


def note_dry_run(identifier: str, limit_text: str) -> None:
    """Dry-run mode: log what would have been rejected, let the request through."""
    identifier = clean_text(identifier, 120)
    endpoint = route_name()
    log_event(
        EventType.SUSPICIOUS_ACTIVITY,
        Severity.LOW,
        description=f"rate limit would reject on {endpoint} ({limit_text}); dry run",
        metadata={
            "reason": "rate_limit",
            "dry_run": True,
            "identifier": identifier,
            "endpoint": endpoint,
            "limit": limit_text,
        },
    )


def too_many_requests(message: str, retry_after: int | None, identifier: str, limit: str):
    """The 429 response; sends ``request_rate_limited`` for the metrics."""
    request_rate_limited.send(
        current_app._get_current_object(),
        identifier=identifier,
        endpoint=route_name(),
        limit=limit,
    )
    if wants_json():
        response = jsonify(error=message, status=429, retry_after=retry_after)
    else:
        response = current_app.make_response(
            render_template("security/rate_limited.html", message=message, retry_after=retry_after)
        )
    response.status_code = 429
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response
