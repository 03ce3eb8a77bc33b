"""Admin JSON API: security events (filters, pagination) and rate-limit counts."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, jsonify, request

from app.access import ADMIN, protect_blueprint
from app.api import API_PREFIX, fail, query_choice, query_int, query_text
from app.events import EventType, Severity
from app.extensions import db
from plugins.security.models import RateLimitRecord, SecurityEvent

api_bp = Blueprint("security_api", __name__, url_prefix=f"{API_PREFIX}/security")
protect_blueprint(api_bp, ADMIN)
MAX_PER_PAGE = 200


def _query_time(name: str) -> datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw[:40])
    except ValueError:
        fail(f"{name} must be an ISO 8601 date or time, e.g. 2025-01-31T12:00:00Z", name)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@api_bp.route("/events")
def events():
    query = db.select(SecurityEvent)
    kind = query_choice("type", "", tuple(e.value for e in EventType))
    severity = query_choice("severity", "", tuple(s.value for s in Severity))
    ip = query_text("ip", 64)
    user_id = request.args.get("user_id")
    since, until = _query_time("since"), _query_time("until")
    page = query_int("page", 1, 1, 100_000)
    per_page = query_int("per_page", 50, 1, MAX_PER_PAGE)
    if kind:
        query = query.where(SecurityEvent.event_type == kind)
    if severity:
        query = query.where(SecurityEvent.severity == severity)
    if ip:
        query = query.where(SecurityEvent.ip_address == ip)
    if user_id:
        query = query.where(SecurityEvent.user_id == query_int("user_id", 0, 1, 2**31 - 1))
    if since:
        query = query.where(SecurityEvent.timestamp >= since)
    if until:
        query = query.where(SecurityEvent.timestamp < until)
    if since and until and since >= until:
        fail("since must be earlier than until", "since")
    result = db.paginate(
        query.order_by(SecurityEvent.id.desc()), page=page, per_page=per_page, error_out=False
    )
    return jsonify(
        items=[event.to_dict() for event in result.items],
        page=page,
        per_page=per_page,
        total=result.total,
        pages=result.pages,
    )


@api_bp.route("/rate-limits")
def rate_limits():
    limit = query_int("limit", 20, 1, MAX_PER_PAGE)
    rows = db.session.scalars(
        db.select(RateLimitRecord)
        .order_by(RateLimitRecord.request_count.desc(), RateLimitRecord.id)
        .limit(limit)
    )
    return jsonify(
        items=[
            {
                "identifier": row.identifier,
                "endpoint": row.endpoint,
                "request_count": row.request_count,
                "first_request": row.first_request,  # the JSON provider writes RFC 3339
                "last_request": row.last_request,
            }
            for row in rows
        ]
    )
