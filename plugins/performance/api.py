"""GET /api/v1/performance/stats (admin) and its OpenAPI description."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, jsonify, request

from app.access import ADMIN, protect_blueprint
from app.api import API_PREFIX, fail
from plugins.performance.service import get_performance_stats

api_bp = Blueprint("performance_api", __name__, url_prefix=f"{API_PREFIX}/performance")
protect_blueprint(api_bp, ADMIN)
MAX_RANGE = timedelta(days=400)


def parse_moment(name: str, default: datetime) -> datetime:
    """An ISO 8601 query parameter as an aware UTC datetime, or a 400 naming it."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if len(raw) > 40:
        fail(f"{name} must be an ISO 8601 date-time such as 2024-05-01T12:00:00Z", name)
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00") if raw.endswith("Z") else raw)
    except ValueError:
        fail(f"{name} must be an ISO 8601 date-time such as 2024-05-01T12:00:00Z", name)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        fail(f"{name} is out of range", name)


@api_bp.route("/stats")
def stats():
    """Per-endpoint figures, totals and a trend for a range (default: the last 24 hours)."""
    now = datetime.now(UTC)
    end = parse_moment("end", now)
    start = parse_moment("start", end - timedelta(days=1))
    if start >= end:
        fail("start must be before end", "start")
    if end - start > MAX_RANGE:
        fail("the range from start to end may span at most 400 days", "start")
    if start.year < 1971 or end.year > 9998:
        fail("start and end must lie between 1971 and 9998", "start" if start.year < 1971 else "end")
    endpoint = request.args.get("endpoint")
    if endpoint is not None and (not endpoint or len(endpoint) > 255):
        fail("endpoint must be a route rule of 1 to 255 characters, e.g. /plans/", "endpoint")
    return jsonify(get_performance_stats(start, end, endpoint=endpoint))


_FIGURES = {
    "type": "object",
    "properties": {
        name: {"type": ["number", "null"]}
        for name in ("count", "throughput_per_min", "mean_ms", "min_ms", "max_ms", "p50_ms", "p95_ms", "p99_ms",
                     "errors", "error_rate", "client_error_rate", "apdex", "apdex_t_ms", "score",
                     "db_queries_per_request", "db_ms_per_request")
    }
    | {"grade": {"type": "string", "enum": ["A", "B", "C", "D", "F", "-"]}},
}  # fmt: skip


def openapi() -> dict:
    """This plugin's part of the OpenAPI document."""
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    moment = {"type": "string", "format": "date-time"}
    return {
        "tags": [{"name": "performance", "description": "Request performance from the roll-ups"}],
        "components": {
            "schemas": {
                "PerformanceFigures": _FIGURES,
                "PerformanceStats": {
                    "type": "object",
                    "required": ["start", "end", "totals", "endpoints", "trend", "step_seconds"],
                    "properties": {
                        "start": moment,
                        "end": moment,
                        "endpoint": {"type": ["string", "null"]},
                        "resolution_seconds": {"type": "integer"},
                        "step_seconds": {"type": "integer"},
                        "percentile_relative_error_bound": {"type": "number"},
                        "totals": {"$ref": "#/components/schemas/PerformanceFigures"},
                        "endpoints": {
                            "type": "array",
                            "items": {
                                "allOf": [
                                    {"$ref": "#/components/schemas/PerformanceFigures"},
                                    {
                                        "type": "object",
                                        "properties": {
                                            "endpoint": {"type": "string"},
                                            "method": {"type": "string"},
                                        },
                                    },
                                ]
                            },
                        },
                        "trend": {
                            "type": "array",
                            "items": {"type": "object", "properties": {"start": moment}},
                        },
                    },
                },
            }
        },
        "paths": {
            "/performance/stats": {
                "get": {
                    "tags": ["performance"],
                    "summary": "Performance figures per endpoint, totals and a trend (admin only)",
                    "operationId": "getPerformanceStats",
                    "parameters": [
                        {
                            "name": "start",
                            "in": "query",
                            "schema": moment,
                            "description": "Range start, ISO 8601 (default: end minus 24 hours; UTC when no offset)",
                        },
                        {
                            "name": "end",
                            "in": "query",
                            "schema": moment,
                            "description": "Range end (default: now)",
                        },
                        {
                            "name": "endpoint",
                            "in": "query",
                            "schema": {"type": "string", "maxLength": 255},
                            "description": "Only this route rule, e.g. /plans/",
                        },
                    ],  # fmt: skip
                    "responses": {
                        "200": {
                            "description": "The figures; percentiles are histogram estimates within "
                            "percentile_relative_error_bound of the true value",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/PerformanceStats"}
                                }
                            },
                        },
                        "400": {"description": "A bad parameter; 'field' names it", **error},
                        "401": {"description": "Not signed in", **error},
                        "403": {"description": "Not an admin", **error},
                    },
                }
            }
        },
    }
