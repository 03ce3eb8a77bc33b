"""Tables: raw request rows (the seed's performance_metrics), roll-ups, slow statements, N+1
patterns, resource samples and alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models import utcnow
from plugins.performance.histogram import BUCKETS

HISTOGRAM_COLUMNS = tuple(f"h{i:02d}" for i in range(BUCKETS))
# Counters added together when roll-ups merge; min_ms / max_ms merge with least / greatest.
SUM_COLUMNS = (
    "count",
    "errors",
    "client_errors",
    "total_ms",
    "satisfied",
    "tolerating",
    "db_count",
    "db_ms",
    *HISTOGRAM_COLUMNS,
)


class PerformanceMetric(db.Model):
    """One recorded request (sampled by PERFORMANCE_SAMPLE_RATE; slow requests always kept).

    The table takes a row per request and is read by time (the retention job) and for its slow
    requests (the dashboard's list): one index on the time and one partial index holding only
    the slow rows. An index on the response time took a random-place insert per request (a
    fifth of the flusher's cost per row on SQLite, more once the index outgrows the cache)."""

    __tablename__ = "performance_metrics"
    __table_args__ = (
        Index(
            "ix_performance_metrics_slow",
            "timestamp",
            sqlite_where=text("slow = 1"),
            postgresql_where=text("slow"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(10))
    response_time: Mapped[float] = mapped_column(Float)  # milliseconds
    status_code: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(Integer)
    ip_address: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    memory_usage: Mapped[float | None] = mapped_column(Float)  # process RSS in MB
    cpu_usage: Mapped[float | None] = mapped_column(Float)  # process CPU percent
    db_query_count: Mapped[int] = mapped_column(Integer, default=0)
    db_time_ms: Mapped[float] = mapped_column(Float, default=0.0)
    # at least PERFORMANCE_SLOW_REQUEST_MS when recorded (the slow-requests list's index)
    slow: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


rollup_table = Table(
    "performance_rollups",
    db.metadata,
    # 60 (minute) or 3600 (hour); period_start is epoch seconds, so SQL can bucket it portably.
    Column("resolution", Integer, primary_key=True),
    Column("period_start", BigInteger, primary_key=True),
    Column("endpoint", String(255), primary_key=True),
    Column("method", String(10), primary_key=True),
    Column("count", Integer, nullable=False, default=0),
    Column("errors", Integer, nullable=False, default=0),
    Column("client_errors", Integer, nullable=False, default=0),
    Column("total_ms", Float, nullable=False, default=0.0),
    Column("min_ms", Float, nullable=False, default=0.0),
    Column("max_ms", Float, nullable=False, default=0.0),
    Column("satisfied", Integer, nullable=False, default=0),
    Column("tolerating", Integer, nullable=False, default=0),
    Column("db_count", Integer, nullable=False, default=0),
    Column("db_ms", Float, nullable=False, default=0.0),
    *(Column(name, Integer, nullable=False, default=0) for name in HISTOGRAM_COLUMNS),
    Index("ix_performance_rollups_resolution_period", "resolution", "period_start"),
)


class PerformanceRollup(db.Model):
    """Requests of one endpoint and method in one minute or hour, with a latency histogram."""

    __table__ = rollup_table


class SlowQuery(db.Model):
    """A statement that took longer than SLOW_QUERY_THRESHOLD_MS (literals and parameters masked)."""

    __tablename__ = "performance_slow_queries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    endpoint: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(10))
    statement: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(16), index=True)
    parameters: Mapped[str] = mapped_column(Text, default="")
    duration_ms: Mapped[float] = mapped_column(Float)


class NPlusOnePattern(db.Model):
    """One statement run PERFORMANCE_N_PLUS_ONE_THRESHOLD+ times in single requests of an endpoint."""

    __tablename__ = "performance_n_plus_one"

    endpoint: Mapped[str] = mapped_column(String(255), primary_key=True)
    method: Mapped[str] = mapped_column(String(10), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(16), primary_key=True)
    statement: Mapped[str] = mapped_column(Text)
    requests: Mapped[int] = mapped_column(Integer, default=0)  # requests that showed the pattern
    max_repeats: Mapped[int] = mapped_column(Integer, default=0)
    total_repeats: Mapped[int] = mapped_column(Integer, default=0)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class ResourceSample(db.Model):
    """Host and process CPU, memory and disk at one moment (psutil)."""

    __tablename__ = "performance_resource_samples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    host: Mapped[str] = mapped_column(String(120), default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)
    cpu_percent: Mapped[float] = mapped_column(Float)
    memory_percent: Mapped[float] = mapped_column(Float)
    memory_used_mb: Mapped[float] = mapped_column(Float)
    disk_percent: Mapped[float] = mapped_column(Float)
    process_cpu_percent: Mapped[float] = mapped_column(Float)
    process_memory_mb: Mapped[float] = mapped_column(Float)
    process_threads: Mapped[int] = mapped_column(Integer, default=0)


class PerformanceAlert(db.Model):
    """A threshold crossed (CPU, memory, disk); open until a later sample is back under it."""

    __tablename__ = "performance_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)  # cpu, memory, disk
    message: Mapped[str] = mapped_column(String(300))
    value: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
