"""One writer thread per process and app: audit events in group commits, counters in batches.

A request holds its pooled connection (the ORM session's) until it ends. If the audit asked the
same pool for a second one, more concurrent requests than connections would each hold one and
wait for another until the pool timed out. So the audit hands its rows to this writer: a thread
with a connection of its own (outside the request pool) that takes every queued row, locks the
chain once, appends them all in one transaction and commits (group commit). The caller waits for
its batch's commit, at most SECURITY_AUDIT_WAIT_SECONDS; a caller that stops waiting takes its
row back while it is still queued, otherwise the writer logs the SIEM line when the batch ends.

The writer never waits for a caller. On PostgreSQL its batch needs only the chain head row and
inserts into security_events (no foreign key), which no request transaction locks. On SQLite it
needs the one write lock: a caller whose session holds it is not sent here (log_event appends on
that connection, see audit.py), so no request waits on the writer while holding its lock.

Counters that the request path only bumps in memory (rate-limit rejections, traffic counts)
register a flusher here; the thread runs it at most every interval, and at shutdown.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from app.extensions import db

log = logging.getLogger(__name__)
IDLE_CLOSE_SECONDS = 1.0  # an idle writer gives its connection back to the database
IDLE_EXIT_SECONDS = 30.0  # and, idle for longer, ends its thread (the next event starts another)
STORED, FAILED, LATE, FULL = "stored", "failed", "late", "full"
_live: weakref.WeakSet[AuditWriter] = weakref.WeakSet()


@dataclass(eq=False)
class Pending:
    """One row waiting for its batch; ``done`` is set when the batch ends."""

    row: dict[str, Any]
    done: threading.Event = field(default_factory=threading.Event)
    state: str = "queued"  # queued -> writing -> stored | failed; or taken back by the caller
    stored: dict[str, Any] | None = None
    abandoned: bool = False


@dataclass(eq=False)
class Flusher:
    write: Callable[[Connection], int]  # takes its buffered counts, writes them, returns how many
    interval: float
    dirty: bool = False
    last_run: float = 0.0


@dataclass
class WriterStats:
    stored: int = 0
    batches: int = 0
    failed: int = 0
    full: int = 0  # refused because the queue was full
    timed_out: int = 0  # the caller stopped waiting


class AuditWriter:
    """The queue, the flushers and the thread that writes them (started on first use)."""

    def __init__(self, app: Flask, append: Callable, on_late: Callable, *, queue_size: int, batch_size: int):
        self._app = weakref.ref(app)
        self._append, self._on_late = append, on_late  # append(conn, rows) -> stored rows, committed
        self.queue_size, self.batch_size = queue_size, batch_size
        self._cond = threading.Condition()
        self._queue: deque[Pending] = deque()
        self._flushers: dict[str, Flusher] = {}
        self._flush_waiters: list[tuple[threading.Event, dict[str, int]]] = []
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._engine = None
        self._conn: Connection | None = None
        self._closing = self._drained = False
        self._writing = 0
        self.stats = WriterStats()
        _live.add(self)

    # -- the caller's side ------------------------------------------------------------------
    def store(self, row: dict[str, Any], timeout: float) -> tuple[str, dict[str, Any] | None]:
        """Queue ``row`` and wait for its commit; return (outcome, the stored row or None)."""
        pending = Pending(row)
        with self._cond:
            self._ensure_thread()
            if self._closing and self._thread is None:  # shut down: nothing will write it
                return FAILED, None
            if len(self._queue) >= self.queue_size:
                self.stats.full += 1
                if self.stats.full in (1, 10, 100) or self.stats.full % 1000 == 0:
                    log.warning(
                        "audit queue full (%d rows): %d events not stored", self.queue_size, self.stats.full
                    )
                return FULL, None
            self._queue.append(pending)
            self._cond.notify_all()
        if not pending.done.wait(timeout):
            with self._cond:
                if pending.state == "queued":  # never reached the database: take it back
                    self._queue.remove(pending)
                    self.stats.timed_out += 1
                    return FAILED, None
                if not pending.done.is_set():
                    pending.abandoned = True  # the writer logs its SIEM line when it is done
                    self.stats.timed_out += 1
                    return LATE, None
        return (STORED, pending.stored) if pending.state == STORED else (FAILED, None)

    def backlog(self) -> int:
        """How many rows wait in the queue (not counting a batch being written)."""
        with self._cond:
            return len(self._queue)

    def pending(self) -> int:
        """How many rows are queued or being written."""
        with self._cond:
            return len(self._queue) + self._writing

    def running(self) -> bool:
        with self._cond:
            return self._thread is not None and self._pid == os.getpid()

    def is_writer_thread(self) -> bool:
        return self._thread is threading.current_thread()

    def add_flusher(self, name: str, interval: float, write: Callable[[Connection], int]) -> None:
        """Register a counter's writer, run at most every ``interval`` seconds once nudged."""
        with self._cond:
            self._flushers[name] = Flusher(write, interval)

    def nudge(self, name: str) -> None:
        """Tell the writer that counter ``name`` has something to write."""
        with self._cond:
            self._flushers[name].dirty = True
            self._ensure_thread()
            self._cond.notify_all()

    def flush_counts(self, timeout: float = 10.0) -> dict[str, int]:
        """Run every flusher now and wait for it; return what each wrote."""
        done, results = threading.Event(), {}
        with self._cond:
            self._ensure_thread()
            if self._thread is None:  # shut down: the final flush has run
                return results
            self._flush_waiters.append((done, results))
            self._cond.notify_all()
        done.wait(timeout)
        return results

    def close(self, timeout: float = 10.0) -> None:
        """Write everything queued and buffered, then end the thread."""
        with self._cond:
            self._closing = True
            thread = self._thread if self._pid == os.getpid() else None
            if thread is None and (self._queue or any(f.dirty for f in self._flushers.values())):
                thread = self._start_thread()
            self._cond.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _ensure_thread(self) -> None:
        if self._thread is None and not self._closing:
            self._start_thread()

    def _forget_parent(self) -> None:
        """In a forked child (gunicorn's workers): the parent's thread, rows and connection are
        not ours; ``os.register_at_fork`` calls this before the child runs anything else."""
        self._cond = threading.Condition()  # the parent's thread may have held it at the fork
        self._queue.clear()
        self._flush_waiters = []
        self._thread = self._conn = self._engine = None
        self._pid, self._writing = None, 0
        self._closing = self._drained = False

    def _start_thread(self) -> threading.Thread:
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()
        return self._thread

    # -- the writer's side ------------------------------------------------------------------
    def _next_work(self):
        """Wait for work; return (batch, flushers, waiters), or None when the thread should end."""
        idle_since = time.monotonic()
        with self._cond:
            while True:
                now = time.monotonic()
                waiters, self._flush_waiters = self._flush_waiters, []
                final = self._closing and not self._drained
                force = bool(waiters) or final
                due = [
                    f
                    for f in self._flushers.values()
                    if force or (f.dirty and now - f.last_run >= f.interval)
                ]
                for flusher in due:
                    flusher.dirty, flusher.last_run = False, now
                batch = [self._queue.popleft() for _ in range(min(self.batch_size, len(self._queue)))]
                for pending in batch:
                    pending.state = "writing"
                self._writing = len(batch)
                if batch or due or waiters:
                    self._drained = self._drained or (final and not self._queue)
                    return batch, due, waiters
                if self._closing or now - idle_since >= IDLE_EXIT_SECONDS or self._app() is None:
                    self._thread = None
                    return None
                if self._conn is not None and now - idle_since >= IDLE_CLOSE_SECONDS:
                    return [], [], []  # the loop closes the connection, then waits again
                timeouts = [f.interval - (now - f.last_run) for f in self._flushers.values() if f.dirty]
                self._cond.wait(max(0.01, min([IDLE_CLOSE_SECONDS, *timeouts])))

    def _run(self) -> None:
        try:
            while (work := self._next_work()) is not None:
                app = self._app()
                if app is None:
                    break
                try:
                    self._do(app, *work)
                except Exception:  # the writer must outlive one bad iteration
                    log.exception("audit writer iteration failed")
        finally:
            self._drop_connection()
            with self._cond:
                if self._thread is threading.current_thread():
                    self._thread = None

    def _do(self, app: Flask, batch: list[Pending], flushers: list[Flusher], waiters: list) -> None:
        if not (batch or flushers or waiters):
            self._drop_connection()
            return
        with app.app_context():
            if batch:
                self._write_batch(batch)
            results = {name: self._run_flusher(f) for name, f in self._named(flushers)}
        for done, answer in waiters:
            answer.update(results)
            done.set()

    def _named(self, flushers: list[Flusher]):
        return [(name, f) for name, f in self._flushers.items() if f in flushers]

    def _connection(self) -> Connection:
        if self._conn is None:
            if self._engine is None:
                url = db.engine.url
                # An in-memory SQLite database exists only on the app's own (single) connection.
                memory = url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
                self._engine = db.engine if memory else create_engine(url, poolclass=NullPool)
            self._conn = self._engine.connect()
        return self._conn

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # a dead connection: nothing left to release
                log.debug("closing the audit writer's connection failed", exc_info=True)

    def _commit(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        try:
            return self._append(self._connection(), rows)
        except Exception:
            log.exception("could not append %d audit events", len(rows))
            self._drop_connection()
            return None

    def _write_batch(self, batch: list[Pending]) -> None:
        stored = self._commit([p.row for p in batch])
        if stored is None and len(batch) > 1:  # one bad row must not lose the others
            stored = [(self._commit([p.row]) or [None])[0] for p in batch]
        stored = stored or [None] * len(batch)
        late = []
        with self._cond:
            self.stats.batches += 1
            self._writing = 0
            for pending, row in zip(batch, stored, strict=True):
                pending.state, pending.stored = (STORED, row) if row is not None else (FAILED, None)
                self.stats.stored += row is not None
                self.stats.failed += row is None
                if pending.abandoned:
                    late.append((row or pending.row, row is not None))
                pending.done.set()
        for row, ok in late:
            self._on_late(row, ok)

    def _run_flusher(self, flusher: Flusher) -> int:
        try:
            conn = self._connection()
            written = flusher.write(conn)
            conn.commit()
            return written
        except Exception:  # the counts of this flush are lost; the writer carries on
            log.exception("could not write buffered counts")
            self._drop_connection()
            return 0


def _after_fork_in_child() -> None:
    for writer in list(_live):
        if writer._pid is not None:
            writer._forget_parent()


os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _drain_at_exit() -> None:
    for writer in list(_live):
        try:
            writer.close(timeout=5.0)
        except Exception:
            log.warning("draining the audit writer at exit failed", exc_info=True)
