"""The background flusher: drains a Recorder's buffers into the database in batches.

Started lazily by the first request in each process (gunicorn forks workers after import, and a
thread does not survive a fork); flushes every PERFORMANCE_FLUSH_INTERVAL_SECONDS, earlier when a
batch is waiting, and once more at interpreter exit so a clean shutdown loses nothing.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from datetime import UTC, datetime

import psutil
from sqlalchemy import bindparam, func, insert

from app.database import upsert_insert
from app.extensions import db
from plugins.performance.masking import fingerprint, mask_statement
from plugins.performance.models import (
    SUM_COLUMNS,
    NPlusOnePattern,
    PerformanceMetric,
    SlowQuery,
    rollup_table,
)
from plugins.performance.recorder import FIXED, HIGH, LOW, Recorder

log = logging.getLogger(__name__)
ROLLUP_KEY = ("resolution", "period_start", "endpoint", "method")
ROLLUP_VALUES = ("count", "errors", "client_errors", "total_ms", "min_ms", "max_ms", "satisfied", "tolerating",
                 "db_count", "db_ms")  # fmt: skip
_live: weakref.WeakSet[Recorder] = weakref.WeakSet()
_process: dict[int, psutil.Process] = {}


def _dialect_insert(conn):
    """The upserting insert and the two-argument least/greatest of the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return upsert_insert(conn), func.least, func.greatest
    return upsert_insert(conn), func.min, func.max


def upsert_rollups(conn, rows: list[dict], replace: bool = False) -> None:
    """Insert roll-up rows, adding to (or with ``replace``, overwriting) rows already stored."""
    if not rows:
        return
    dialect_insert, least, greatest = _dialect_insert(conn)
    statement = dialect_insert(rollup_table)
    new, old = statement.excluded, rollup_table.c
    if replace:
        updates = {name: new[name] for name in (*SUM_COLUMNS, "min_ms", "max_ms")}
    else:
        updates = {name: old[name] + new[name] for name in SUM_COLUMNS}
        updates["min_ms"] = least(old.min_ms, new.min_ms)
        updates["max_ms"] = greatest(old.max_ms, new.max_ms)
    conn.execute(statement.on_conflict_do_update(index_elements=list(ROLLUP_KEY), set_=updates), rows)


def rollup_rows(resolution: int, aggregates: dict) -> list[dict]:
    """Turn in-memory aggregates ({(period, rule, method): counters}) into table rows."""
    from plugins.performance.models import HISTOGRAM_COLUMNS

    rows = []
    for (period, rule, method), agg in aggregates.items():
        row = dict(zip(ROLLUP_VALUES, agg[:FIXED], strict=True))
        row.update(zip(HISTOGRAM_COLUMNS, agg[FIXED:], strict=True))
        row.update(resolution=resolution, period_start=period, endpoint=rule, method=method)
        rows.append(row)
    return rows


def merge_rollup(target: dict, key: tuple, agg: list) -> None:
    """Add in-memory roll-up ``agg`` into ``target[key]``."""
    mine = target.get(key)
    if mine is None:
        target[key] = agg
        return
    for index, value in enumerate(agg):
        if index == LOW:
            mine[index] = min(mine[index], value)
        elif index == HIGH:
            mine[index] = max(mine[index], value)
        else:
            mine[index] += value


def _when(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


# The raw row's columns: the Recorder's tuple in its order, then "metadata" (always {} here).
RAW_COLUMNS = ("endpoint", "method", "response_time", "status_code", "user_id", "ip_address", "user_agent",
               "timestamp", "memory_usage", "cpu_usage", "db_query_count", "db_time_ms", "slow", "metadata")  # fmt: skip
TIMESTAMP = RAW_COLUMNS.index("timestamp")  # the Recorder's wall time, an epoch
_raw_inserts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # per dialect (an engine's)


def _raw_insert(dialect):
    """The raw rows' INSERT compiled for ``dialect`` and a function turning one Recorder tuple into
    its driver parameters, built once per dialect. Raw rows are most of what the flusher writes,
    and SQLAlchemy's per-row parameter handling (a dict per row, then each value through its
    type) cost more than the database's own insert; this applies the same types' bind processors
    directly, so the stored values are what ``conn.execute(insert(...), rows)`` stores."""
    built = _raw_inserts.get(dialect)
    if built is not None:
        return built
    table = PerformanceMetric.__table__
    compiled = insert(table).values({name: bindparam(name) for name in RAW_COLUMNS}).compile(dialect=dialect)
    processors = {
        name: table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in RAW_COLUMNS
    }
    to_metadata = processors.pop("metadata")
    empty = to_metadata({}) if to_metadata else {}  # the same value for every row: made once
    convert_at = [(RAW_COLUMNS.index(name), fn) for name, fn in processors.items() if fn is not None]
    order = [RAW_COLUMNS.index(name) for name in compiled.positiontup] if compiled.positional else None

    def convert(r: tuple) -> tuple | dict:
        row = [*r, empty]
        row[TIMESTAMP] = _when(row[TIMESTAMP])
        for index, fn in convert_at:
            row[index] = fn(row[index])
        if order is None:  # a driver with named parameters (psycopg)
            return dict(zip(RAW_COLUMNS, row, strict=True))
        return tuple([row[i] for i in order])

    built = _raw_inserts[dialect] = (compiled.string, convert)
    return built


def _write(conn, raw, rollups, slow, n_plus_one, batch: int) -> None:
    if raw:
        sql, convert = _raw_insert(conn.dialect)
        rows = [convert(r) for r in raw]
        for start in range(0, len(rows), batch):
            conn.exec_driver_sql(sql, rows[start : start + batch])
    upsert_rollups(conn, rollup_rows(60, rollups))
    if slow:
        masked = [mask_statement(s[3]) for s in slow]
        conn.execute(
            insert(SlowQuery.__table__),
            [
                {"timestamp": _when(s[0]), "endpoint": s[1], "method": s[2], "statement": m,
                 "fingerprint": fingerprint(m), "parameters": s[4], "duration_ms": s[5]}
                for s, m in zip(slow, masked, strict=True)
            ],
        )  # fmt: skip
    if n_plus_one:
        dialect_insert, _, greatest = _dialect_insert(conn)
        rows = []
        for (rule, method, statement), (requests, top, total, first, last) in n_plus_one.items():
            masked = mask_statement(statement)
            rows.append({"endpoint": rule, "method": method, "fingerprint": fingerprint(masked),
                         "statement": masked, "requests": requests, "max_repeats": top,
                         "total_repeats": total, "first_seen": _when(first), "last_seen": _when(last)})  # fmt: skip
        statement = dialect_insert(NPlusOnePattern.__table__)
        new, old = statement.excluded, NPlusOnePattern.__table__.c
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["endpoint", "method", "fingerprint"],
                set_={"requests": old.requests + new.requests, "total_repeats": old.total_repeats + new.total_repeats,
                      "max_repeats": greatest(old.max_repeats, new.max_repeats), "last_seen": new.last_seen},
            ),
            rows,
        )  # fmt: skip


def flush(recorder: Recorder) -> int:
    """Write everything buffered now; return the number of raw rows written."""
    app = recorder.app_ref()
    if app is None:
        return 0
    with recorder.flush_lock:
        if recorder.closed:
            return 0
        with recorder.lock:
            raw, recorder.raw = recorder.raw, []
            rollups, recorder.rollups = recorder.rollups, {}
            slow, recorder.slow = recorder.slow, []
            n_plus_one, recorder.n_plus_one = recorder.n_plus_one, {}
        if not (raw or rollups or slow or n_plus_one):
            return 0
        try:
            with app.app_context(), db.engine.begin() as conn:
                _write(conn, raw, rollups, slow, n_plus_one, recorder.config.batch_size)
        except Exception:
            # Keep the roll-ups (small, and the dashboard's source) for the next try; the raw rows
            # of this batch are counted as dropped rather than held without bound.
            log.exception("performance flush failed; %d raw rows dropped", len(raw))
            with recorder.lock:
                recorder.dropped += len(raw)
                for key, agg in rollups.items():
                    merge_rollup(recorder.rollups, key, agg)
            return 0
        recorder.flushed_rows += len(raw)
        return len(raw)


def sample_process(recorder: Recorder) -> None:
    """Refresh this process's memory and CPU figures that each raw row carries."""
    pid = os.getpid()
    process = _process.get(pid)
    if process is None:
        process = _process[pid] = psutil.Process(pid)
        process.cpu_percent(None)  # the first call only starts the measurement
    with process.oneshot():
        recorder.latest_memory_mb = round(process.memory_info().rss / 1_048_576, 1)
        recorder.latest_cpu_percent = process.cpu_percent(None)


def _run(ref: weakref.ReferenceType, wake: threading.Event) -> None:
    while True:
        recorder = ref()
        if recorder is None:
            return
        interval = recorder.config.flush_interval
        del recorder
        wake.wait(interval)
        wake.clear()
        recorder = ref()
        if recorder is None or recorder.closed:
            return
        try:
            sample_process(recorder)
            flush(recorder)
        except Exception:  # the flusher must outlive one bad batch
            log.exception("performance flusher iteration failed")
        del recorder


def ensure_started(recorder: Recorder) -> None:
    """Start this process's flusher thread for ``recorder`` unless it already runs."""
    pid = os.getpid()
    with recorder.lock:
        if recorder.started_pid == pid:
            return
        recorder.started_pid = pid
    thread = threading.Thread(
        target=_run, args=(weakref.ref(recorder), recorder.wake), name="performance-flusher", daemon=True
    )
    thread.start()
    weakref.finalize(recorder, recorder.wake.set)  # a collected app lets its thread end
    _live.add(recorder)


@atexit.register
def _flush_at_exit() -> None:
    pid = os.getpid()
    for recorder in list(_live):
        if recorder.started_pid == pid:
            try:
                flush(recorder)
            except Exception:
                log.warning("performance flush at exit failed", exc_info=True)
