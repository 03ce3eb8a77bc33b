"""The request path: per-request SQL timing and one in-memory update per request.

Each request adds to the minute roll-up of its endpoint (a few counter increments under a lock)
and, when sampled, appends one raw row to a bounded buffer. Nothing here touches the database;
the flusher (``plugins.performance.flusher``) writes what accumulated.
"""

from __future__ import annotations

import random
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, has_request_context, request

from plugins.performance.histogram import BUCKETS, bucket_index
from plugins.performance.masking import mask_parameters
from plugins.performance.settings import PerfConfig

# Layout of one in-memory roll-up: the roll-up table's counters in this order, then the histogram.
COUNT, ERRORS, CLIENT_ERRORS, TOTAL, LOW, HIGH, SATISFIED, TOLERATING, DB_COUNT, DB_MS = range(10)
FIXED = 10
MAX_SLOW_PER_REQUEST = 20
PERF_KEY = "portal_perf"  # the request object's attribute: its RequestPerf


@dataclass(slots=True)  # one per request: slots make it cheaper to build and to read
class RequestPerf:
    """What one request did with the database so far (kept on the request object from its first
    statement on: a request that runs none, as a cached answer, builds none). On the request,
    not in ``flask.g``: an app context can outlive its request (a test's, a CLI's), and a
    statement run after the record was taken must not count for the next request."""

    slow_ms: float
    queries: int = 0
    db_ms: float = 0.0
    statements: dict[str, int] = field(default_factory=dict)
    slow: list[tuple[str, str, float]] = field(default_factory=list)

    def add(self, statement: str, parameters: Any, executemany: bool, elapsed_ms: float) -> None:
        self.queries += 1
        self.db_ms += elapsed_ms
        self.statements[statement] = self.statements.get(statement, 0) + 1
        if elapsed_ms >= self.slow_ms and len(self.slow) < MAX_SLOW_PER_REQUEST:
            self.slow.append((statement, mask_parameters(parameters, executemany), elapsed_ms))


NO_STATEMENTS = RequestPerf(slow_ms=float("inf"))  # read only: what a request without SQL did


def accumulate(
    rollups: dict, key: tuple, ms: float, status: int, t: float, queries: int, db_ms: float
) -> None:
    """Add one request to the in-memory roll-up ``rollups[key]`` (Apdex threshold ``t``)."""
    agg = rollups.get(key)
    if agg is None:
        agg = rollups[key] = [0, 0, 0, 0.0, ms, ms, 0, 0, 0, 0.0] + [0] * BUCKETS
    agg[COUNT] += 1
    agg[TOTAL] += ms
    if ms < agg[LOW]:
        agg[LOW] = ms
    if ms > agg[HIGH]:
        agg[HIGH] = ms
    if status >= 500:  # a server error is never satisfying, whatever its speed
        agg[ERRORS] += 1
    elif ms <= t:
        agg[SATISFIED] += 1
    elif ms <= 4 * t:
        agg[TOLERATING] += 1
    if 400 <= status < 500:
        agg[CLIENT_ERRORS] += 1
    agg[DB_COUNT] += queries
    agg[DB_MS] += db_ms
    agg[FIXED + bucket_index(ms)] += 1


class Recorder:
    """Per-app, per-process buffers: raw rows, minute roll-ups, slow statements, N+1 sightings."""

    def __init__(self, app: Flask, config: PerfConfig, metrics: Any):
        self.app_ref = weakref.ref(app)
        self.config = config
        self.metrics = metrics
        self.lock = threading.Lock()
        self.flush_lock = threading.Lock()
        self.wake = threading.Event()
        self.raw: list[tuple] = []
        self.rollups: dict[tuple[int, str, str], list] = {}
        self.slow: list[tuple] = []
        self.n_plus_one: dict[tuple[str, str, str], list] = {}
        self.dropped = 0
        self.flushed_rows = 0
        self.started_pid: int | None = None  # the process whose flusher thread runs
        self.closed = False
        self.hooked_engines: weakref.WeakSet = weakref.WeakSet()
        self.latest_memory_mb: float | None = None
        self.latest_cpu_percent: float | None = None

    def close(self) -> None:
        """Stop writing: the flusher thread ends, and a flush under way finishes before this
        returns (so that the tables can be dropped, as the tests do, without racing it)."""
        self.closed = True
        self.wake.set()
        with self.flush_lock:
            pass

    def record(
        self,
        arrived: float,
        perf: RequestPerf | None,
        rule: str,
        method: str,
        status: int,
        user_id: int | None,
        ip: str,
        user_agent: str,
    ) -> float:
        """Account one finished request (``arrived``: its ``time.perf_counter()`` on arrival;
        ``perf``: its statements, None if it ran none); return its duration in milliseconds."""
        config = self.config
        ms = (time.perf_counter() - arrived) * 1000
        wall = time.time() - ms / 1000  # the row's time is the request's arrival
        if perf is None:
            perf = NO_STATEMENTS
        t = (
            config.apdex_overrides.get(rule, config.apdex_t_ms)
            if config.apdex_overrides
            else config.apdex_t_ms
        )
        keep_raw = (
            ms >= config.slow_request_ms or config.sample_rate >= 1 or random.random() < config.sample_rate
        )
        repeats = (
            [(s, n) for s, n in perf.statements.items() if n >= config.n_plus_one] if perf.queries else ()
        )
        key = (int(wall) // 60 * 60, rule, method)
        with self.lock:
            accumulate(self.rollups, key, ms, status, t, perf.queries, perf.db_ms)
            if keep_raw:
                if len(self.raw) < config.buffer_size:
                    self.raw.append(
                        (rule, method, ms, status, user_id, ip, user_agent, wall, self.latest_memory_mb,
                         self.latest_cpu_percent, perf.queries, perf.db_ms, ms >= config.slow_request_ms)
                    )  # fmt: skip
                else:
                    self.dropped += 1
                    self.metrics.dropped.inc()
            for statement, params, elapsed in perf.slow:
                if len(self.slow) < config.buffer_size:
                    self.slow.append((wall, rule, method, statement, params, elapsed))
            for statement, count in repeats:
                seen = self.n_plus_one.get((rule, method, statement))
                if seen is None:
                    self.n_plus_one[(rule, method, statement)] = [1, count, count, wall, wall]
                else:
                    seen[0] += 1
                    seen[1] = max(seen[1], count)
                    seen[2] += count
                    seen[4] = wall
            pending = len(self.raw)
        if pending >= config.batch_size:
            self.wake.set()
        return ms


# --- SQL timing: engine events, attributed to the request through flask.g -----------------------


# The recorder of each hooked engine: the listeners find it from the connection, with no app lookup.
_recorders: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _before_cursor_execute(conn, cursor, statement, parameters, context, executemany) -> None:
    if has_request_context():
        conn.info.setdefault("portal_perf_t0", []).append(time.perf_counter())


def _after_cursor_execute(conn, cursor, statement, parameters, context, executemany) -> None:
    # Only a request's statements are timed: the flusher thread and the jobs run in an app
    # context with no request.
    if not has_request_context():
        return
    stack = conn.info.get("portal_perf_t0")
    if not stack:
        return
    elapsed_ms = (time.perf_counter() - stack.pop()) * 1000
    asked = request._get_current_object()
    perf = getattr(asked, PERF_KEY, None)
    if perf is None:
        recorder = _recorders.get(conn.engine)
        if recorder is None:
            return
        perf = RequestPerf(slow_ms=recorder.config.slow_query_ms)
        setattr(asked, PERF_KEY, perf)
    perf.add(statement, parameters, executemany, elapsed_ms)


def hook_engine(recorder: Recorder, engine) -> None:
    """Time ``engine``'s statements (once per engine)."""
    from sqlalchemy import event

    with recorder.lock:
        if engine in recorder.hooked_engines:
            return
        recorder.hooked_engines.add(engine)
        _recorders[engine] = recorder
    if not event.contains(engine, "before_cursor_execute", _before_cursor_execute):
        event.listen(engine, "before_cursor_execute", _before_cursor_execute)
        event.listen(engine, "after_cursor_execute", _after_cursor_execute)
