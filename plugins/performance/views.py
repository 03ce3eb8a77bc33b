"""The admin dashboard: overview with charts, endpoint detail, slow queries, N+1 patterns,
slow requests and resources."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select, true

from app.access import ADMIN, protect_blueprint
from app.extensions import db
from app.pagination import page_arg
from plugins.performance.charts import line_chart
from plugins.performance.models import (
    NPlusOnePattern,
    PerformanceAlert,
    PerformanceMetric,
    ResourceSample,
    SlowQuery,
)
from plugins.performance.recommendations import recommendations
from plugins.performance.service import get_performance_stats
from plugins.performance.state import state

bp = Blueprint(
    "performance", __name__, url_prefix="/performance", template_folder="templates", static_folder="static"
)
protect_blueprint(bp, ADMIN)
RANGES = {"1h": timedelta(hours=1), "6h": timedelta(hours=6), "24h": timedelta(days=1),
          "7d": timedelta(days=7), "30d": timedelta(days=30)}  # fmt: skip
PAGE_SIZE = 25


@dataclass
class ListPage:
    """A page of an in-memory list, shaped like Flask-SQLAlchemy's Pagination for the macro."""

    items: list
    page: int
    pages: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def _range() -> tuple[str, datetime, datetime]:
    name = request.args.get("range", "24h")
    if name not in RANGES:
        abort(400, description=f"range must be one of {', '.join(RANGES)}")
    end = datetime.now(UTC)
    return name, end - RANGES[name], end


def _label(iso: str, step: int) -> str:
    moment = datetime.fromisoformat(iso)
    return moment.strftime("%H:%M" if step < 86400 else "%m-%d")


def _charts(stats: dict) -> tuple:
    trend, step = stats["trend"], stats["step_seconds"]
    labels = [_label(p["start"], step) for p in trend]
    latency = line_chart(
        "Latency percentiles",
        labels,
        [(f"p{q}", [p[f"p{q}_ms"] for p in trend]) for q in (50, 95, 99)],
        "ms",
    )
    throughput = line_chart(
        "Throughput", labels, [("requests/min", [p["throughput_per_min"] for p in trend])], "/min"
    )
    return latency, throughput


@bp.route("/")
def index():
    range_name, start, end = _range()
    stats = get_performance_stats(start, end)
    endpoints = stats["endpoints"]
    page = page_arg()
    pages = max(1, math.ceil(len(endpoints) / PAGE_SIZE))
    table = ListPage(endpoints[(page - 1) * PAGE_SIZE : page * PAGE_SIZE], min(page, pages), pages)
    latency, throughput = _charts(stats)
    alerts = db.session.scalars(
        select(PerformanceAlert)
        .where(PerformanceAlert.resolved_at.is_(None))
        .order_by(PerformanceAlert.opened_at.desc())
    ).all()
    recorder = state().recorder
    return render_template(
        "performance/index.html",
        stats=stats,
        table=table,
        ranges=RANGES,
        range_name=range_name,
        latency_chart=latency,
        throughput_chart=throughput,
        alerts=alerts,
        advice=recommendations(stats, start, end),
        dropped=recorder.dropped,
    )


@bp.route("/endpoint")
def endpoint():
    rule, method = request.args.get("name", ""), request.args.get("method", "GET")
    if not rule.startswith("/") and rule != "<unmatched>" or len(rule) > 255 or len(method) > 10:
        abort(400, description="name must be an endpoint rule such as /plans/ and method an HTTP method")
    range_name, start, end = _range()
    stats = get_performance_stats(start, end, endpoint=rule)
    figures = next((e for e in stats["endpoints"] if e["method"] == method), None)
    latency, throughput = _charts(stats)
    slow = db.session.scalars(
        select(SlowQuery).where(SlowQuery.endpoint == rule, SlowQuery.method == method)
        .order_by(SlowQuery.id.desc()).limit(10)
    ).all()  # fmt: skip
    patterns = db.session.scalars(
        select(NPlusOnePattern).where(NPlusOnePattern.endpoint == rule, NPlusOnePattern.method == method)
    ).all()
    return render_template(
        "performance/endpoint.html",
        rule=rule,
        method=method,
        figures=figures,
        stats=stats,
        ranges=RANGES,
        range_name=range_name,
        latency_chart=latency,
        throughput_chart=throughput,
        slow=slow,
        patterns=patterns,
    )


@bp.route("/slow-queries")
def slow_queries():
    listing = db.paginate(
        select(SlowQuery).order_by(SlowQuery.id.desc()), page=page_arg(), per_page=PAGE_SIZE, error_out=False
    )
    return render_template("performance/slow_queries.html", listing=listing)


@bp.route("/n-plus-one")
def n_plus_one():
    query = select(NPlusOnePattern).order_by(NPlusOnePattern.last_seen.desc())
    listing = db.paginate(query, page=page_arg(), per_page=PAGE_SIZE, error_out=False)
    cfg = state().config
    return render_template("performance/n_plus_one.html", listing=listing, threshold=cfg.n_plus_one)


@bp.route("/slow-requests")
def slow_requests():
    cfg = state().config
    query = (
        select(PerformanceMetric)
        # slow = true: the partial index's own condition, so both databases read through it
        .where(PerformanceMetric.slow == true(), PerformanceMetric.response_time >= cfg.slow_request_ms)
        .order_by(PerformanceMetric.timestamp.desc())
    )
    listing = db.paginate(query, page=page_arg(), per_page=PAGE_SIZE, error_out=False)
    return render_template("performance/slow_requests.html", listing=listing, threshold=cfg.slow_request_ms)


@bp.route("/resources")
def resources():
    range_name, start, end = _range()
    samples = db.session.scalars(
        select(ResourceSample).where(ResourceSample.timestamp >= start).order_by(ResourceSample.timestamp)
    ).all()
    step = max(1, len(samples) // 240)  # at most ~240 points drawn
    shown = samples[::step]
    labels = [s.timestamp.strftime("%H:%M") for s in shown]
    chart = line_chart(
        "Host resources",
        labels,
        [("CPU %", [s.cpu_percent for s in shown]), ("memory %", [s.memory_percent for s in shown]),
         ("disk %", [s.disk_percent for s in shown])],
        "%",
    )  # fmt: skip
    alerts = db.paginate(
        select(PerformanceAlert).order_by(PerformanceAlert.opened_at.desc()), page=page_arg(), per_page=PAGE_SIZE,
        error_out=False,
    )  # fmt: skip
    cfg = state().config
    return render_template(
        "performance/resources.html",
        latest=samples[-1] if samples else None,
        chart=chart,
        alerts=alerts,
        ranges=RANGES,
        range_name=range_name,
        cfg=cfg,
    )
