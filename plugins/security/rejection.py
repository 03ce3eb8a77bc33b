"""What happens when a request is rejected for a rate limit: count it, record it, tell the
other plugins, and answer 429 (an HTML page for browsers, JSON under /api/)."""

from __future__ import annotations

import logging
import time

from flask import current_app, jsonify, render_template, request
from flask_limiter import RateLimitExceeded

from app.access import wants_json
from app.database import upsert_insert
from app.events import EventType, Severity
from app.extensions import db
from app.models import utcnow
from app.signals import request_rate_limited
from plugins.security.audit import log_event
from plugins.security.models import RateLimitRecord
from plugins.security.sanitize import clean_text

log = logging.getLogger(__name__)


def _identifier(exceeded: RateLimitExceeded) -> str:
    try:
        return clean_text(exceeded.limit.key_func(), 120)
    except Exception:  # a key function that needs a request detail that is not there
        return f"ip:{request.remote_addr}"


def count_rejection(identifier: str, endpoint: str) -> None:
    """Upsert the (identifier, endpoint) row of security_rate_limits."""
    table = RateLimitRecord.__table__
    now = utcnow()
    try:
        with db.engine.begin() as conn:
            statement = upsert_insert(conn)(table).values(
                identifier=identifier, endpoint=endpoint, request_count=1, first_request=now, last_request=now
            )
            statement = statement.on_conflict_do_update(
                index_elements=["identifier", "endpoint"],
                set_={"request_count": table.c.request_count + 1, "last_request": now},
            )
            conn.execute(statement)
    except Exception:  # counting must not turn a 429 into a 500
        log.exception("could not count a rate-limit rejection")


def reject(exceeded: RateLimitExceeded, current=None):
    """Record a rejection everywhere it is counted and build the 429 response."""
    identifier = _identifier(exceeded)
    limit_text = str(exceeded.limit.limit)
    record_rejection(identifier, limit_text)
    retry_after = None
    if current is not None:
        try:
            retry_after = max(1, int(current.reset_at - time.time()))
        except Exception:  # the storage went away between the check and now
            retry_after = None
    return too_many_requests(
        "Too many requests. Please wait a moment and try again.",
        retry_after=retry_after,
        identifier=identifier,
        limit=limit_text,
    )


def record_rejection(identifier: str, limit_text: str) -> None:
    """Count the rejection in security_rate_limits and audit it."""
    endpoint = request.endpoint or "<unmatched>"  # never the raw path: one row per route, not per URL
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


def note_dry_run(exceeded: RateLimitExceeded) -> None:
    """Dry-run mode: log what would have been rejected, let the request through."""
    identifier = _identifier(exceeded)
    endpoint = request.endpoint or "<unmatched>"  # never the raw path: one row per route, not per URL
    log_event(
        EventType.SUSPICIOUS_ACTIVITY,
        Severity.LOW,
        description=f"rate limit would reject on {endpoint} ({exceeded.limit.limit}); dry run",
        metadata={
            "reason": "rate_limit",
            "dry_run": True,
            "identifier": identifier,
            "endpoint": endpoint,
            "limit": str(exceeded.limit.limit),
        },
    )


def too_many_requests(message: str, retry_after: int | None, identifier: str, limit: str):
    """The 429 response; sends ``request_rate_limited`` for the metrics."""
    request_rate_limited.send(
        current_app._get_current_object(),
        identifier=identifier,
        endpoint=request.endpoint or "<unmatched>",
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
