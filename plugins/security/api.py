"""Admin JSON API: security events (filters, pagination) and rate-limit counts."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, jsonify, request

from app.access import ADMIN, protect_blueprint
from app.api import API_PREFIX, fail, query_choice, query_int, query_text
from app.events import EventType, Severity
from app.extensions import db
from plugins.security.models import RateLimitRecord, SecurityEvent

bp = Blueprint("security_api", __name__, url_prefix=f"{API_PREFIX}/security")
protect_blueprint(bp, ADMIN)
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


@bp.route("/events")
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


@bp.route("/rate-limits")
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


_ERRORS = {
    "400": {
        "description": "A query parameter is invalid (the body names it in 'field')",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    },
    "401": {
        "description": "Not signed in",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    },
    "403": {
        "description": "Signed in but not an admin",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    },
    "429": {
        "description": "Rate limited (Retry-After, RateLimit headers)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    },
}


def _param(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def openapi() -> dict:
    event_schema = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "timestamp": {"type": "string", "format": "date-time"},
            "event_type": {"type": "string", "enum": [e.value for e in EventType]},
            "severity": {"type": "string", "enum": [s.value for s in Severity]},
            "user_id": {"type": ["integer", "null"]},
            "ip_address": {"type": "string"},
            "user_agent": {"type": "string"},
            "description": {"type": "string"},
            "metadata": {"type": "object"},
            "resolved": {"type": "boolean"},
            "hash": {"type": "string", "description": "SHA-256 (or HMAC) chain hash of the event"},
        },
    }
    rejection_schema = {
        "type": "object",
        "properties": {
            "identifier": {"type": "string"},
            "endpoint": {"type": "string"},
            "request_count": {"type": "integer"},
            "first_request": {"type": "string", "format": "date-time"},
            "last_request": {"type": "string", "format": "date-time"},
        },
    }
    return {
        "tags": [{"name": "security", "description": "Audit log and rate limiting (admin)"}],
        "components": {"schemas": {"SecurityEvent": event_schema}},
        "paths": {
            "/security/events": {
                "get": {
                    "tags": ["security"],
                    "summary": "Security events, newest first (admin)",
                    "operationId": "listSecurityEvents",
                    "parameters": [
                        _param(
                            "type", {"type": "string", "enum": [e.value for e in EventType]}, "event type"
                        ),
                        _param(
                            "severity", {"type": "string", "enum": [s.value for s in Severity]}, "severity"
                        ),
                        _param("ip", {"type": "string", "maxLength": 64}, "client IP address"),
                        _param("user_id", {"type": "integer", "minimum": 1}, "user id"),
                        _param(
                            "since", {"type": "string", "format": "date-time"}, "from this time (inclusive)"
                        ),
                        _param("until", {"type": "string", "format": "date-time"}, "before this time"),
                        _param("page", {"type": "integer", "minimum": 1, "default": 1}, "page number"),
                        _param(
                            "per_page",
                            {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 50},
                            "page size",
                        ),
                    ],
                    "responses": {
                        "200": {
                            "description": "One page of events",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "items": {
                                                "type": "array",
                                                "items": {"$ref": "#/components/schemas/SecurityEvent"},
                                            },
                                            "page": {"type": "integer"},
                                            "per_page": {"type": "integer"},
                                            "total": {"type": "integer"},
                                            "pages": {"type": "integer"},
                                        },
                                    }
                                }
                            },
                        },
                        **_ERRORS,
                    },
                }
            },
            "/security/rate-limits": {
                "get": {
                    "tags": ["security"],
                    "summary": "Rate-limit rejections per identifier and endpoint, most first (admin)",
                    "operationId": "listRateLimitRejections",
                    "parameters": [
                        _param(
                            "limit",
                            {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 20},
                            "rows",
                        )
                    ],
                    "responses": {
                        "200": {
                            "description": "Top offenders",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {"items": {"type": "array", "items": rejection_schema}},
                                    }
                                }
                            },
                        },
                        **_ERRORS,
                    },
                }
            },
        },
    }
