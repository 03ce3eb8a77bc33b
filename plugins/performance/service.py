"""Reading the roll-ups: ``get_performance_stats`` for the dashboard, the API and other plugins.

Only the roll-up table is read, so the cost depends on the range and the number of endpoints,
never on the number of raw rows.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import as_utc
from plugins.performance import histogram
from plugins.performance.models import HISTOGRAM_COLUMNS, SUM_COLUMNS, rollup_table
from plugins.performance.state import state

STEPS = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400)
MAX_POINTS = 120
_SUMS = {name: index for index, name in enumerate(SUM_COLUMNS)}


def config():
    return state().config


def choose_resolution(start: float, end: float, minute_retention_days: int, now: float | None = None):
    """(roll-up resolution to read, trend step) for a range: about MAX_POINTS points or fewer."""
    span = max(end - start, 60)
    step = next((s for s in STEPS if span / s <= MAX_POINTS), STEPS[-1])
    now = time.time() if now is None else now
    minutes_kept = start >= now - minute_retention_days * 86400
    if step < 3600 and minutes_kept:
        return 60, step
    return 3600, max(step, 3600)


def _aggregates():
    c = rollup_table.c
    return [func.sum(c[name]) for name in SUM_COLUMNS] + [func.min(c.min_ms), func.max(c.max_ms)]


def summarize(sums: Any, span_seconds: float, apdex_t_ms: float) -> dict[str, Any]:
    """Figures of one group of roll-ups (``sums`` = SUM_COLUMNS totals, then min and max)."""
    values = [v or 0 for v in sums]
    count = int(values[_SUMS["count"]])
    low, high = values[len(SUM_COLUMNS)], values[len(SUM_COLUMNS) + 1]
    counts = [int(values[_SUMS[name]]) for name in HISTOGRAM_COLUMNS]
    errors = int(values[_SUMS["errors"]])
    error_rate = errors / count if count else 0.0
    apdex = histogram.apdex(int(values[_SUMS["satisfied"]]), int(values[_SUMS["tolerating"]]), count)
    p95 = histogram.percentile(counts, 95, low, high)
    score = histogram.score(apdex, p95, apdex_t_ms, error_rate)

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 2)

    return {
        "count": count,
        "throughput_per_min": round(count / (span_seconds / 60), 3) if span_seconds else 0.0,
        "mean_ms": rounded(values[_SUMS["total_ms"]] / count) if count else None,
        "min_ms": rounded(low) if count else None,
        "max_ms": rounded(high) if count else None,
        "p50_ms": rounded(histogram.percentile(counts, 50, low, high)),
        "p95_ms": rounded(p95),
        "p99_ms": rounded(histogram.percentile(counts, 99, low, high)),
        "errors": errors,
        "error_rate": round(error_rate, 4),
        "client_error_rate": round(values[_SUMS["client_errors"]] / count, 4) if count else 0.0,
        "apdex": None if apdex is None else round(apdex, 3),
        "apdex_t_ms": apdex_t_ms,
        "score": score,
        "grade": histogram.grade(score),
        "db_queries_per_request": round(values[_SUMS["db_count"]] / count, 2) if count else None,
        "db_ms_per_request": rounded(values[_SUMS["db_ms"]] / count) if count else None,
    }


def _merge(target: list | None, row: Any) -> list:
    """Add one grouped row (SUM_COLUMNS, then min and max) into ``target``."""
    values = [v or 0 for v in row]
    if target is None:
        return values
    width = len(SUM_COLUMNS)
    for index in range(width):
        target[index] += values[index]
    target[width] = min(target[width], values[width])
    target[width + 1] = max(target[width + 1], values[width + 1])
    return target


def get_performance_stats(start: datetime, end: datetime, endpoint: str | None = None) -> dict[str, Any]:
    """Per-endpoint figures, totals and a trend for [start, end), read from the roll-ups."""
    cfg = config()
    start, end = as_utc(start), as_utc(end)
    lo, hi = start.timestamp(), end.timestamp()
    resolution, step = choose_resolution(lo, hi, cfg.minute_retention_days)
    c = rollup_table.c
    where = [
        c.resolution == resolution,
        c.period_start >= int(lo) // resolution * resolution,
        c.period_start < hi,
    ]
    if endpoint is not None:
        where.append(c.endpoint == endpoint)
    # One pass over the roll-ups, grouped by trend slot and endpoint; the endpoint table, the
    # totals and the trend are all sums of these groups.
    slot = (c.period_start // step).label("slot")
    query = (
        select(slot, c.endpoint, c.method, *_aggregates()).where(*where).group_by(slot, c.endpoint, c.method)
    )
    by_endpoint: dict[tuple[str, str], list] = {}
    by_slot: dict[int, list] = {}
    totals_sums = None
    for row in db.session.execute(query):
        sums = row[3:]
        by_endpoint[(row.endpoint, row.method)] = _merge(by_endpoint.get((row.endpoint, row.method)), sums)
        by_slot[int(row.slot)] = _merge(by_slot.get(int(row.slot)), sums)
        totals_sums = _merge(totals_sums, sums)
    span = hi - lo
    endpoints = [
        {"endpoint": rule, "method": method, **summarize(sums, span, cfg.apdex_t(rule))}
        for (rule, method), sums in by_endpoint.items()
    ]
    endpoints.sort(key=lambda e: (-e["count"], e["endpoint"], e["method"]))
    totals = summarize(totals_sums or [0] * (len(SUM_COLUMNS) + 2), span, cfg.apdex_t_ms)
    scored = [e for e in endpoints if e["score"] is not None]
    if scored:  # the overall score weighs each endpoint's own score (its own Apdex T) by traffic
        totals["score"] = round(
            sum(e["score"] * e["count"] for e in scored) / sum(e["count"] for e in scored)
        )
        totals["grade"] = histogram.grade(totals["score"])
    trend_t = cfg.apdex_t(endpoint) if endpoint else cfg.apdex_t_ms
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "endpoint": endpoint,
        "resolution_seconds": resolution,
        "step_seconds": step,
        "percentile_relative_error_bound": round(histogram.RELATIVE_ERROR_BOUND, 4),
        "totals": totals,
        "endpoints": endpoints,
        "trend": _trend(by_slot, lo, hi, step, trend_t),
    }


TREND_FIELDS = ("count", "throughput_per_min", "mean_ms", "p50_ms", "p95_ms", "p99_ms", "error_rate", "apdex")


def _trend(
    by_slot: dict[int, list], lo: float, hi: float, step: int, apdex_t_ms: float
) -> list[dict[str, Any]]:
    empty = [0] * (len(SUM_COLUMNS) + 2)
    points = []
    for index in range(int(lo) // step, int((hi - 1) // step) + 1):
        figures = summarize(by_slot.get(index, empty), step, apdex_t_ms)
        start = datetime.fromtimestamp(index * step, UTC).isoformat()
        points.append({"start": start, **{k: figures[k] for k in TREND_FIELDS}})
    return points
