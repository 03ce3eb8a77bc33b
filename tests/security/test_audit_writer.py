"""The audit writer: group commit, the bounded wait, a full queue, draining at shutdown, a caller
that holds SQLite's write lock, events logged from event_recorded receivers, writers in several
processes with several threads each, and 429s that write nothing from the request."""

from __future__ import annotations

import json
import logging
import multiprocessing
import sqlite3
import threading
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import event, text

from app import create_app
from app.events import EventType, Severity
from app.extensions import db
from plugins.security.audit import event_recorded, log_event
from plugins.security.chain import verify_chain
from plugins.security.rejection import flush_rejections
from tests.security.conftest import events

pytestmark = pytest.mark.plugins("security")


def _writer(app):
    return app.extensions["plugin.security"].audit_writer


def _sqlite_path(app) -> str:
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("holds SQLite's write lock from outside")
        return db.engine.url.database


@contextmanager
def write_lock_held(app):
    """Hold SQLite's write lock from a connection of the test's own, as another process would."""
    outsider = sqlite3.connect(_sqlite_path(app), isolation_level=None, timeout=10)
    outsider.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        outsider.execute("COMMIT")
        outsider.close()


def _wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting until {what}"
        time.sleep(0.01)


def _log_in_thread(app, results: dict, name: str) -> threading.Thread:
    def run() -> None:
        with app.app_context():
            results[name] = log_event(EventType.DATA_VIEWED, description=name)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _siem_lines(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "portal.security"]


def test_rows_queued_during_a_batch_are_committed_together(app):
    with app.app_context():
        log_event(EventType.DATA_VIEWED, description="create the chain head")
    results: dict = {}
    with write_lock_held(app):
        first = _log_in_thread(app, results, "first")
        _wait_until(lambda: _writer(app).pending() == 1 and _writer(app).backlog() == 0, "first taken")
        others = [_log_in_thread(app, results, f"n{n}") for n in range(9)]
        _wait_until(lambda: _writer(app).backlog() == 9, "nine queued")
    for thread in [first, *others]:
        thread.join(30)
    assert None not in results.values() and len(results) == 10
    stats = _writer(app).stats
    assert stats.stored == 11 and stats.batches == 3  # the head, "first", then nine in one
    with app.app_context():
        assert verify_chain().checked == 11


@pytest.mark.config(SECURITY_AUDIT_WAIT_SECONDS=1.0, SECURITY_AUDIT_QUEUE_SIZE=1)
def test_the_wait_is_bounded_and_a_full_queue_refuses_at_once(app, caplog):
    results: dict = {}
    with app.app_context():
        log_event(EventType.DATA_VIEWED, description="start the writer")
    with caplog.at_level(logging.INFO, logger="portal.security"), write_lock_held(app):
        in_flight = _log_in_thread(app, results, "in flight")
        in_flight.join(30)  # gave up waiting while the writer waits for the lock
        assert results["in flight"] is None and _writer(app).pending() == 1
        queued = _log_in_thread(app, results, "queued")
        _wait_until(lambda: _writer(app).backlog() == 1, "queued")
        with app.app_context():
            assert log_event(EventType.DATA_VIEWED, description="refused") is None
        assert _writer(app).stats.full == 1
        queued.join(30)
        assert results["queued"] is None
    assert _writer(app).flush_counts() is not None  # the writer is past its batch
    stored = [e["description"] for e in events(app)]
    assert stored == ["start the writer", "in flight"]
    lines = {line["description"]: line for line in _siem_lines(caplog)}
    assert lines["refused"]["stored"] is False and lines["queued"]["stored"] is False
    # the late row's line is written by the writer once stored, with its id and hash
    assert lines["in flight"]["stored"] is True and lines["in flight"]["id"] == 2
    assert lines["in flight"]["hash"]


def test_close_drains_the_queue_and_ends_the_thread(app):
    results: dict = {}
    with write_lock_held(app):
        threads = [_log_in_thread(app, results, f"n{n}") for n in range(3)]
        _wait_until(lambda: _writer(app).pending() == 3, "rows queued")
        closer = threading.Thread(target=_writer(app).close)
        closer.start()
    closer.join(30)
    for thread in threads:
        thread.join(30)
    assert sorted(results.values(), key=str) == [1, 2, 3], (results, _writer(app).stats)
    assert not _writer(app).running()
    with app.app_context():
        assert log_event(EventType.DATA_VIEWED, description="after shutdown") is None


@pytest.mark.config(SECURITY_AUDIT_WAIT_SECONDS=0.2)
def test_a_caller_with_an_uncommitted_write_is_not_kept_waiting(app, make_user):
    make_user("alice")
    with app.test_request_context("/"):
        db.session.execute(text("UPDATE users SET role = 'client' WHERE username = 'alice'"))
        event_id = log_event(EventType.DATA_MODIFIED, Severity.LOW, description="inside a write")
        assert event_id is not None
        db.session.commit()
        sqlite = db.engine.dialect.name == "sqlite"
    # SQLite: appended on the caller's own connection (the writer would wait for its lock);
    # PostgreSQL: the writer needs no lock that the caller's transaction holds.
    assert _writer(app).stats.stored == (0 if sqlite else 1)
    with app.app_context():
        assert verify_chain().checked == 1
    assert [e["description"] for e in events(app)] == ["inside a write"]


def test_a_receiver_of_event_recorded_may_log_again(app):
    def receiver(sender, event, **_):
        if event.description == "outer":
            assert log_event(EventType.SUSPICIOUS_ACTIVITY, description="inner") == event.id + 1

    event_recorded.connect(receiver, sender=app)
    try:
        with app.app_context():
            assert log_event(EventType.DATA_VIEWED, description="outer") == 1
    finally:
        event_recorded.disconnect(receiver, sender=app)
    assert [e["description"] for e in events(app)] == ["outer", "inner"]


@pytest.mark.config(
    RATE_LIMIT_WINDOW_MS=60_000,
    RATE_LIMIT_MAX_REQUESTS=2,
    RATE_LIMIT_AUTH_ENDPOINTS="auth.password",  # the sign-in page under the default limit
    SECURITY_COUNTS_FLUSH_SECONDS=3600,
)
def test_a_429_writes_nothing_from_the_request(app, client):
    assert [client.get("/auth/login").status_code for _ in range(2)] == [200, 200]
    writes: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE", "BEGIN"):
            writes.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert [client.get("/auth/login").status_code for _ in range(5)] == [429] * 5
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert writes == []
    assert flush_rejections(app) == 1
    with app.app_context():
        counted = db.session.execute(text("SELECT request_count FROM security_rate_limits")).scalars().all()
    assert counted == [5]
    # The five identical rejections are one stored event; the other four are counted in memory
    # (plugins.security.repeats) until their window closes.
    assert len(events(app, event_type="SUSPICIOUS_ACTIVITY")) == 1


def _threaded_writer(database_url: str, instance: str, writer: int) -> None:
    app = create_app(
        {
            "PORTAL_ENV": "testing",
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": instance,
            "PORTAL_PLUGINS": "security",
            "SCHEDULER_ENABLED": False,
        }
    )
    ids: list = []

    def run(thread: int) -> None:
        with app.app_context():
            for n in range(10):
                ids.append(log_event(EventType.DATA_VIEWED, description=f"{writer}.{thread}.{n}"))

    threads = [threading.Thread(target=run, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    app.extensions["plugin.security"].audit_writer.close()
    assert len(ids) == 40 and None not in ids


def _processes_of_threads(database_url: str, instance: str) -> None:
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_threaded_writer, args=(database_url, instance, w)) for w in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0


def _check_chain(app, expected: int) -> None:
    with app.app_context():
        report = verify_chain()
        assert report.ok and report.checked == expected, report
        ids = db.session.execute(text("SELECT id FROM security_events ORDER BY id")).scalars().all()
        assert ids == list(range(1, expected + 1))


@pytest.mark.slow
def test_processes_with_threads_share_one_chain_sqlite(app, tmp_path):
    _processes_of_threads(app.config["DATABASE_URL"], str(tmp_path / "instance"))
    _check_chain(app, 120)


@pytest.mark.slow
@pytest.mark.postgres
def test_processes_with_threads_share_one_chain_postgres(pg_url, tmp_path):
    app = create_app(
        {
            "PORTAL_ENV": "testing",
            "DATABASE_URL": pg_url,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "PORTAL_PLUGINS": "security",
            "SCHEDULER_ENABLED": False,
        }
    )
    with app.app_context():
        db.create_all()
    _processes_of_threads(pg_url, str(tmp_path / "instance"))
    _check_chain(app, 120)
    with app.app_context():
        db.engine.dispose()
