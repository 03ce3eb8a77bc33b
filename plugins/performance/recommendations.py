"""Recommendations derived from the recorded figures, each naming its target and numbers."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.plugin import first_hook_result
from plugins.performance.models import NPlusOnePattern, ResourceSample, SlowQuery

MIN_REQUESTS = 10
ERROR_RATE = 0.05
LOW_HIT_RATIO = 0.5
REPEATED_SLOW = 3
_WHERE_COLUMN = re.compile(r"([\w.\"]+)\s*(?:=|<|>|<=|>=|\bIN\b|\bLIKE\b|\bBETWEEN\b)", re.IGNORECASE)


def _where_columns(statement: str) -> list[str]:
    _, found, clause = statement.partition(" WHERE ")
    if not found:
        return []
    names = [m.group(1).replace('"', "") for m in _WHERE_COLUMN.finditer(clause.split(" ORDER BY ")[0])]
    return sorted({n for n in names if not n.replace(".", "").isdigit() and n != "?"})


def _cache_advice(stats: dict[str, Any], cache: Any) -> list[dict[str, Any]]:
    ratio = None if not cache else cache.get("ratio")
    if ratio is not None and ratio >= LOW_HIT_RATIO:
        return []
    found = []
    for e in stats["endpoints"]:
        if e["method"] != "GET" or e["count"] < MIN_REQUESTS or (e["mean_ms"] or 0) <= e["apdex_t_ms"]:
            continue
        cache_text = "no cache answers" if ratio is None else f"the cache hit ratio is {ratio:.0%}"
        found.append({
            "kind": "cache", "severity": "medium", "target": f"GET {e['endpoint']}",
            "message": f"GET {e['endpoint']} takes {e['mean_ms']:.0f} ms on average (p95 {e['p95_ms']:.0f} ms) "
                       f"over {e['count']} requests and {cache_text}: cache its results "
                       "(app.caching.get_or_set with tags) or enable the cache plugin.",
            "figures": {"mean_ms": e["mean_ms"], "p95_ms": e["p95_ms"], "count": e["count"], "hit_ratio": ratio},
        })  # fmt: skip
    return found


def _endpoint_advice(stats: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for e in stats["endpoints"]:
        target = f"{e['method']} {e['endpoint']}"
        if e["count"] >= MIN_REQUESTS and e["error_rate"] >= ERROR_RATE:
            found.append({
                "kind": "errors", "severity": "high", "target": target,
                "message": f"{target} failed {e['errors']} of {e['count']} requests ({e['error_rate']:.1%}): "
                           "look at its server errors in the logs.",
                "figures": {"errors": e["errors"], "count": e["count"], "error_rate": e["error_rate"]},
            })  # fmt: skip
        elif e["count"] >= MIN_REQUESTS and e["apdex"] is not None and e["apdex"] < 0.7:
            found.append({
                "kind": "latency", "severity": "medium", "target": target,
                "message": f"{target} has Apdex {e['apdex']:.2f} (T = {e['apdex_t_ms']:.0f} ms, p95 "
                           f"{e['p95_ms']:.0f} ms, {e['db_queries_per_request']} queries per request): profile it.",
                "figures": {"apdex": e["apdex"], "p95_ms": e["p95_ms"], "count": e["count"]},
            })  # fmt: skip
    return found


def _query_advice(start: datetime, end: datetime) -> list[dict[str, Any]]:
    found = []
    for p in db.session.scalars(
        select(NPlusOnePattern)
        .where(NPlusOnePattern.last_seen >= start)
        .order_by(NPlusOnePattern.max_repeats.desc())
        .limit(10)
    ):
        found.append({
            "kind": "n_plus_one", "severity": "high", "target": f"{p.method} {p.endpoint}",
            "message": f"{p.method} {p.endpoint} ran the same statement up to {p.max_repeats} times in one request "
                       f"({p.requests} requests): eager-load it (selectinload / joinedload) or batch it: {p.statement[:160]}",
            "figures": {"max_repeats": p.max_repeats, "requests": p.requests, "fingerprint": p.fingerprint},
        })  # fmt: skip
    slow = (
        select(SlowQuery.fingerprint, func.count().label("n"), func.avg(SlowQuery.duration_ms).label("avg"),
               func.max(SlowQuery.duration_ms).label("max"), func.min(SlowQuery.statement).label("statement"),
               func.min(SlowQuery.endpoint).label("endpoint"))
        .where(SlowQuery.timestamp >= start, SlowQuery.timestamp < end)
        .group_by(SlowQuery.fingerprint).having(func.count() >= REPEATED_SLOW)
        .order_by(func.count().desc()).limit(10)
    )  # fmt: skip
    for row in db.session.execute(slow):
        columns = _where_columns(row.statement)
        on = f"an index on {', '.join(columns)}" if columns else "an index on the columns it filters by"
        found.append({
            "kind": "index", "severity": "medium", "target": row.statement[:160],
            "message": f"This statement was slow {row.n} times (avg {row.avg:.0f} ms, max {row.max:.0f} ms, e.g. on "
                       f"{row.endpoint}): consider {on}. {row.statement[:160]}",
            "figures": {"occurrences": row.n, "avg_ms": round(row.avg, 1), "max_ms": round(row.max, 1),
                        "columns": columns},
        })  # fmt: skip
    return found


def _memory_advice(start: datetime, end: datetime) -> list[dict[str, Any]]:
    samples = db.session.execute(
        select(ResourceSample.pid, ResourceSample.process_memory_mb)
        .where(ResourceSample.timestamp >= start, ResourceSample.timestamp < end)
        .order_by(ResourceSample.timestamp)
    ).all()
    if len(samples) < 4:
        return []
    pid = samples[-1].pid
    own = [s.process_memory_mb for s in samples if s.pid == pid]
    first, last = own[0], own[-1]
    if len(own) < 4 or last < first * 1.25 or last - first < 50:
        return []
    return [{
        "kind": "memory", "severity": "medium", "target": f"process {pid}",
        "message": f"Process {pid} grew from {first:.0f} MB to {last:.0f} MB over {len(own)} samples: "
                   "look for a leak (caches without bounds, growing module-level lists).",
        "figures": {"first_mb": first, "last_mb": last, "samples": len(own)},
    }]  # fmt: skip


def recommendations(stats: dict[str, Any], start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Every recommendation for the range of ``stats``, most severe first."""
    cache = first_hook_result("portal_cache_stats")
    found = _endpoint_advice(stats) + _query_advice(start, end) + _cache_advice(stats, cache)
    found += _memory_advice(start, end)
    order = {"high": 0, "medium": 1, "low": 2}
    return sorted(found, key=lambda r: order[r["severity"]])
