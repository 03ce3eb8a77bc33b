"""Synthetic traffic (demo data and benchmarks): raw rows plus the roll-ups they imply."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime

from plugins.performance.recorder import accumulate

# (rule, method, median ms, share of server errors, share of traffic)
DEMO_ENDPOINTS = (
    ("/plans/", "GET", 120.0, 0.002, 0.35),
    ("/api/v1/plans/search", "GET", 180.0, 0.004, 0.2),
    ("/plans/<int:plan_id>", "GET", 45.0, 0.001, 0.2),
    ("/auth/login", "POST", 260.0, 0.0, 0.08),
    ("/auth/login", "GET", 12.0, 0.0, 0.08),
    ("/mfa/verify", "POST", 30.0, 0.0, 0.04),
    ("/security/", "GET", 420.0, 0.06, 0.03),
    ("/healthz", "GET", 1.5, 0.0, 0.02),
)


def synthetic_batches(
    start: float,
    end: float,
    count: int,
    apdex_t_ms: float = 300.0,
    batch: int = 50_000,
    seed: int = 7,
    slow_request_ms: float = 1000.0,
) -> Iterator[tuple[list[dict], dict]]:
    """Yield (raw rows, minute roll-ups) for ``count`` requests spread over [start, end); rows of
    at least ``slow_request_ms`` are flagged slow, as the recorder flags them."""
    rng = random.Random(seed)
    weights = [e[4] for e in DEMO_ENDPOINTS]
    done = 0
    while done < count:
        size = min(batch, count - done)
        rows, rollups = [], {}
        for endpoint in rng.choices(DEMO_ENDPOINTS, weights, k=size):
            rule, method, median, error_share, _ = endpoint
            when = rng.uniform(start, end)
            ms = rng.lognormvariate(0, 0.6) * median
            status = (
                500
                if rng.random() < error_share
                else (401 if rule == "/auth/login" and rng.random() < 0.1 else 200)
            )
            queries = rng.randint(0, 6)
            accumulate(rollups, (int(when) // 60 * 60, rule, method), ms, status, apdex_t_ms, queries, ms / 4)
            rows.append({
                "endpoint": rule, "method": method, "response_time": ms, "status_code": status,
                "user_id": None, "ip_address": f"10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                "user_agent": "synthetic", "metadata": {}, "timestamp": datetime.fromtimestamp(when, UTC),
                "memory_usage": None, "cpu_usage": None, "db_query_count": queries, "db_time_ms": ms / 4,
                "slow": ms >= slow_request_ms,
            })  # fmt: skip
        done += size
        yield rows, rollups


def write_synthetic(
    conn, start: float, end: float, count: int, apdex_t_ms: float = 300.0, slow_request_ms: float = 1000.0
) -> int:
    """Store ``count`` synthetic requests (raw rows and minute roll-ups) through ``conn``."""
    from sqlalchemy import insert

    from plugins.performance.flusher import rollup_rows, upsert_rollups
    from plugins.performance.models import PerformanceMetric

    written = 0
    for rows, rollups in synthetic_batches(start, end, count, apdex_t_ms, slow_request_ms=slow_request_ms):
        conn.execute(insert(PerformanceMetric.__table__), rows)
        upsert_rollups(conn, rollup_rows(60, rollups))
        written += len(rows)
    return written
