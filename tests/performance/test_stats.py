"""get_performance_stats over roll-ups; hour roll-ups; retention."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, insert, select

from app.extensions import db
from plugins.performance.flusher import rollup_rows, upsert_rollups
from plugins.performance.histogram import RELATIVE_ERROR_BOUND
from plugins.performance.jobs import retention, rollup_hours
from plugins.performance.models import PerformanceMetric, rollup_table
from plugins.performance.recorder import accumulate
from plugins.performance.service import choose_resolution, get_performance_stats

NOW = time.time()


def store(app, requests):
    """Store (epoch, rule, method, ms, status) requests as minute roll-ups."""
    config = app.extensions["plugin.performance"].config
    rollups = {}
    for when, rule, method, ms, status in requests:
        accumulate(rollups, (int(when) // 60 * 60, rule, method), ms, status, config.apdex_t(rule), 2, 1.0)
    with app.app_context(), db.engine.begin() as conn:
        upsert_rollups(conn, rollup_rows(60, rollups))


def stats(app, hours=1.0, endpoint=None, end=None):
    end = end or datetime.now(UTC)
    with app.app_context():
        return get_performance_stats(end - timedelta(hours=hours), end, endpoint=endpoint)


def mixed(rule, when=NOW - 120):
    return (
        [(when, rule, "GET", 100.0, 200)] * 80
        + [(when, rule, "GET", 500.0, 200)] * 10
        + [(when, rule, "GET", 50.0, 500)] * 10
    )


@pytest.mark.config(PERFORMANCE_APDEX_T_OVERRIDES="/strict=50")
def test_figures_per_endpoint(app):
    store(app, mixed("/a") + mixed("/strict"))
    result = stats(app)
    by_rule = {e["endpoint"]: e for e in result["endpoints"]}
    a = by_rule["/a"]
    assert (a["count"], a["errors"], a["error_rate"]) == (100, 10, 0.1)
    assert a["apdex"] == 0.85 and a["apdex_t_ms"] == 300
    assert a["p50_ms"] == pytest.approx(100, rel=RELATIVE_ERROR_BOUND)
    assert a["p95_ms"] == pytest.approx(500, rel=RELATIVE_ERROR_BOUND)
    assert a["mean_ms"] == pytest.approx((80 * 100 + 10 * 500 + 10 * 50) / 100)
    assert a["db_queries_per_request"] == 2
    assert a["throughput_per_min"] == pytest.approx(100 / 60, abs=0.001)
    strict = by_rule["/strict"]
    assert strict["apdex_t_ms"] == 50 and strict["apdex"] == pytest.approx(
        0.4
    )  # 100 ms is tolerating at T=50
    assert strict["score"] < a["score"]
    assert a["grade"] in "ABCDF" and result["totals"]["count"] == 200
    assert result["percentile_relative_error_bound"] == round(RELATIVE_ERROR_BOUND, 4)


def test_endpoint_filter_and_trend(app):
    store(app, mixed("/a", NOW - 600) + mixed("/b", NOW - 300))
    result = stats(app, endpoint="/b")
    assert [e["endpoint"] for e in result["endpoints"]] == ["/b"]
    assert result["step_seconds"] == 60 and result["resolution_seconds"] == 60
    assert len(result["trend"]) in (60, 61)
    assert sum(p["count"] for p in result["trend"]) == 100
    busy = [p for p in result["trend"] if p["count"]]
    assert len(busy) == 1 and busy[0]["p50_ms"] == pytest.approx(100, rel=RELATIVE_ERROR_BOUND)


def test_empty_range(app):
    result = stats(app)
    assert result["endpoints"] == [] and result["totals"]["count"] == 0
    assert result["totals"]["p95_ms"] is None and result["totals"]["grade"] == "-"


@pytest.mark.parametrize(
    ("span", "expected"),
    [(3600, (60, 60)), (86400, (60, 900)), (7 * 86400, (3600, 3 * 3600)), (30 * 86400, (3600, 6 * 3600))],
)
def test_resolution_fits_the_range(span, expected):
    now = 1_700_000_000
    assert choose_resolution(now - span, now, minute_retention_days=14, now=now) == expected


def test_old_ranges_read_hours_once_minutes_are_gone():
    now = 1_700_000_000
    assert choose_resolution(now - 20 * 86400, now - 20 * 86400 + 3600, 14, now=now) == (3600, 3600)


def test_hour_rollups_match_minutes_and_serve_long_ranges(app):
    base = (int(NOW) // 3600 - 3) * 3600
    store(app, mixed("/a", base + 60) + mixed("/a", base + 3600 + 120) + mixed("/b", base + 7300))
    with app.app_context():
        assert rollup_hours() == 3
        rollup_hours()  # rebuilding the recent hours again replaces them, never adds twice
        hours = db.session.execute(select(rollup_table).where(rollup_table.c.resolution == 3600)).all()
    assert sorted((h.endpoint, h.count) for h in hours) == [("/a", 100), ("/a", 100), ("/b", 100)]
    week = stats(app, hours=24 * 7)
    assert week["resolution_seconds"] == 3600
    assert week["totals"]["count"] == 300 and week["totals"]["errors"] == 30


def test_stats_read_only_the_rollups(app):
    store(app, mixed("/a"))
    seen = []
    with app.app_context():
        listener = lambda conn, cursor, statement, *rest: seen.append(statement)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            get_performance_stats(datetime.now(UTC) - timedelta(days=1), datetime.now(UTC))
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
    assert seen and all("performance_rollups" in s and "performance_metrics" not in s for s in seen)


@pytest.mark.config(PERFORMANCE_METRICS_RETENTION_DAYS=30, PERFORMANCE_MINUTE_ROLLUP_RETENTION_DAYS=14)
def test_retention_keeps_rollups_longer_than_raw_rows(app):
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=40), now - timedelta(days=1)
    row = {"endpoint": "/a", "method": "GET", "response_time": 5.0, "status_code": 200, "ip_address": "",
           "user_agent": "", "metadata": {}, "db_query_count": 0, "db_time_ms": 0.0}  # fmt: skip
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(
                insert(PerformanceMetric.__table__), [{**row, "timestamp": old}, {**row, "timestamp": recent}]
            )
        store(app, mixed("/a", old.timestamp()) + mixed("/a", recent.timestamp()))
        rollup_hours(now=old.timestamp() + 7200)
        removed = retention(now)
        assert removed["raw"] == 1 and removed["minute_rollups"] == 1 and removed["hour_rollups"] == 0
        assert db.session.scalar(select(func.count()).select_from(PerformanceMetric)) == 1
        hours = db.session.scalar(
            select(func.count()).select_from(rollup_table).where(rollup_table.c.resolution == 3600)
        )
    assert hours == 2  # the old hour outlives its minutes and its raw rows
