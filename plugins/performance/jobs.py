"""Scheduled jobs (``JOBS``): resource samples, hour roll-ups from minute roll-ups, retention."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select

from app.extensions import db
from app.plugin import Job
from plugins.performance.flusher import ROLLUP_VALUES, flush, upsert_rollups
from plugins.performance.models import (
    HISTOGRAM_COLUMNS,
    SUM_COLUMNS,
    NPlusOnePattern,
    PerformanceAlert,
    PerformanceMetric,
    ResourceSample,
    SlowQuery,
    rollup_table,
)
from plugins.performance.resources import sample_resources
from plugins.performance.state import state

HOUR = 3600


def rollup_hours(now: float | None = None) -> int:
    """Rebuild the hour roll-ups from the minute roll-ups since the last complete hour."""
    perf = state()
    flush(perf.recorder)  # this process's pending minutes belong in the hours being built
    cfg, c = perf.config, rollup_table.c
    now = time.time() if now is None else now
    oldest_kept = int(now) - cfg.minute_retention_days * 86400
    last_hour = db.session.scalar(select(func.max(c.period_start)).where(c.resolution == HOUR))
    since = max(oldest_kept, (last_hour - HOUR) if last_hour is not None else oldest_kept) // HOUR * HOUR
    hour = (c.period_start // HOUR * HOUR).label("hour")
    sums = [func.sum(c[name]).label(name) for name in SUM_COLUMNS]
    query = (
        select(
            hour,
            c.endpoint,
            c.method,
            *sums,
            func.min(c.min_ms).label("min_ms"),
            func.max(c.max_ms).label("max_ms"),
        )
        .where(c.resolution == 60, c.period_start >= since)
        .group_by(hour, c.endpoint, c.method)
    )
    rows = []
    for row in db.session.execute(query):
        values = row._mapping
        record = {name: values[name] or 0 for name in (*ROLLUP_VALUES, *HISTOGRAM_COLUMNS)}
        record.update(
            resolution=HOUR, period_start=int(values["hour"]), endpoint=row.endpoint, method=row.method
        )
        rows.append(record)
    db.session.close()
    with db.engine.begin() as conn:
        upsert_rollups(conn, rows, replace=True)
    return len(rows)


def retention(now: datetime | None = None) -> dict[str, int]:
    """Delete raw rows past PERFORMANCE_METRICS_RETENTION_DAYS and roll-ups past theirs."""
    cfg = state().config
    now = now or datetime.now(UTC)
    raw_cutoff = now - timedelta(days=cfg.raw_retention_days)
    c = rollup_table.c
    statements = {
        "raw": delete(PerformanceMetric.__table__).where(PerformanceMetric.timestamp < raw_cutoff),
        "slow_queries": delete(SlowQuery.__table__).where(SlowQuery.timestamp < raw_cutoff),
        "n_plus_one": delete(NPlusOnePattern.__table__).where(NPlusOnePattern.last_seen < raw_cutoff),
        "resources": delete(ResourceSample.__table__).where(ResourceSample.timestamp < raw_cutoff),
        "alerts": delete(PerformanceAlert.__table__).where(PerformanceAlert.resolved_at < raw_cutoff),
        "minute_rollups": delete(rollup_table).where(
            c.resolution == 60, c.period_start < now.timestamp() - cfg.minute_retention_days * 86400
        ),
        "hour_rollups": delete(rollup_table).where(
            c.resolution == HOUR, c.period_start < now.timestamp() - cfg.rollup_retention_days * 86400
        ),
    }
    removed = {name: db.session.execute(statement).rowcount for name, statement in statements.items()}
    db.session.commit()
    return removed


JOBS = (
    Job(
        name="performance.sample_resources",
        func=sample_resources,
        trigger_args={"minutes": 1},
        description="Sample host and process CPU, memory and disk; raise threshold alerts",
    ),
    Job(
        name="performance.rollup_hours",
        func=rollup_hours,
        trigger_args={"minutes": 5},
        description="Build hour roll-ups from minute roll-ups for long trends",
    ),
    Job(
        name="performance.retention",
        func=retention,
        trigger_args={"hours": 6},
        description="Delete raw rows and roll-ups past their retention",
    ),
)
