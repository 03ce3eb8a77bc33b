"""GET /api/v1/performance/stats (admin); its description is in ``openapi.py``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, jsonify, request

from app.access import ADMIN, protect_blueprint
from app.api import API_PREFIX, fail, has_control_characters
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
    # The range is checked before the default start is worked out from end: a day before
    # 0001-01-01 is no datetime (OverflowError, a 500).
    if not 1971 <= end.year <= 9998:
        fail("start and end must lie between 1971 and 9998", "end")
    start = parse_moment("start", end - timedelta(days=1))
    if start.year < 1971:
        fail("start and end must lie between 1971 and 9998", "start")
    if start >= end:
        fail("start must be before end", "start")
    if end - start > MAX_RANGE:
        fail("the range from start to end may span at most 400 days", "start")
    endpoint = request.args.get("endpoint")
    if endpoint is not None and (not endpoint or len(endpoint) > 255 or has_control_characters(endpoint)):
        # A NUL reached PostgreSQL, which refuses it in text (a 500; found by schemathesis).
        fail("endpoint must be a route rule of 1 to 255 printable characters, e.g. /plans/", "endpoint")
    return jsonify(get_performance_stats(start, end, endpoint=endpoint))
