"""Tamper evidence: verify-audit after edits, deletions, insertions and reordering; retention;
concurrent writers in several processes on SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
from datetime import timedelta

import pytest
from sqlalchemy import text

from app import create_app
from app.events import EventType, Severity
from app.extensions import db
from plugins.security.audit import log_event
from plugins.security.chain import purge_events, verify_chain
from tests.conftest import in_production

pytestmark = pytest.mark.plugins("security")


def _write(app, count: int = 6) -> None:
    with app.app_context():
        for n in range(count):
            log_event(EventType.LOGIN_FAILURE, Severity.MEDIUM, description=f"event {n}", metadata={"n": n})


def _sql(app, statement: str, **params) -> None:
    with app.app_context():
        db.session.execute(text(statement), params)
        db.session.commit()


def _verify(runner):
    return runner.invoke(args=["security", "verify-audit"])


def test_intact_chain_exits_zero(app, runner):
    _write(app)
    result = _verify(runner)
    assert result.exit_code == 0, result.output
    assert "6 events verified" in result.output


@pytest.mark.parametrize(
    ("statement", "bad_id"),
    [
        ("UPDATE security_events SET description = 'nothing happened' WHERE id = 3", 3),
        ("UPDATE security_events SET severity = 'LOW' WHERE id = 2", 2),
        ("UPDATE security_events SET metadata = '{\"n\": 99}' WHERE id = 4", 4),
        ("DELETE FROM security_events WHERE id = 3", 4),
        ("DELETE FROM security_events WHERE id = 6", 6),
        ("DELETE FROM security_events WHERE id = 1", 2),
    ],
    ids=[
        "modified-description",
        "modified-severity",
        "modified-metadata",
        "deleted-middle",
        "deleted-newest",
        "deleted-first",
    ],
)
def test_tampering_is_reported_at_the_first_bad_row(app, runner, statement, bad_id):
    _write(app)
    _sql(app, statement)
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"row id={bad_id}" in result.output


def test_inserted_row_is_reported(app, runner):
    _write(app, 3)
    with app.app_context():
        row = db.session.execute(text("SELECT * FROM security_events WHERE id = 2")).mappings().one()
    shifted = dict(row)
    _sql(app, "UPDATE security_events SET id = id + 10 WHERE id >= 2")
    _sql(
        app,
        "INSERT INTO security_events (id, user_id, event_type, severity, description, ip_address, "
        "user_agent, metadata, timestamp, resolved, prev_hash, hash) VALUES (2, NULL, 'LOGIN_SUCCESS', "
        "'LOW', 'forged', '', '', '{}', :ts, :resolved, :prev, :hash)",
        resolved=False,
        ts=shifted["timestamp"],
        prev=shifted["prev_hash"],
        hash=shifted["hash"],
    )
    with app.app_context():
        report = verify_chain()
    assert not report.ok and report.bad_id == 2


def test_reordered_rows_are_reported(app):
    _write(app, 4)
    _sql(app, "UPDATE security_events SET id = -2 WHERE id = 2")
    _sql(app, "UPDATE security_events SET id = 2 WHERE id = 3")
    _sql(app, "UPDATE security_events SET id = 3 WHERE id = -2")
    with app.app_context():
        report = verify_chain()
    assert not report.ok and report.bad_id == 2


def test_resolution_columns_may_change(app):
    _write(app, 3)
    _sql(app, "UPDATE security_events SET resolved = :yes, resolved_by = 'admin' WHERE id = 2", yes=True)
    with app.app_context():
        assert verify_chain().ok


def test_retention_purges_old_rows_and_the_rest_still_verifies(app, runner, monkeypatch):
    import plugins.security.audit as audit

    real_now = audit.utcnow
    with app.app_context():
        monkeypatch.setattr(audit, "utcnow", lambda: real_now() - timedelta(days=200))
        for n in range(3):
            log_event(EventType.LOGIN_FAILURE, description=f"old {n}")
        monkeypatch.setattr(audit, "utcnow", real_now)
        for n in range(2):
            log_event(EventType.LOGIN_FAILURE, description=f"new {n}")
        assert purge_events(90) == 3
        assert purge_events(90) == 0
        report = verify_chain()
        assert report.ok and report.checked == 2
        log_event(EventType.LOGOUT, description="after purge")
        assert verify_chain().checked == 3
    assert _verify(runner).exit_code == 0
    # deleting the first surviving row is still caught after a purge
    _sql(app, "DELETE FROM security_events WHERE id = 4")
    assert "row id=5" in _verify(runner).output


def test_purge_job_is_registered(app):
    from app.jobs import all_jobs

    with app.app_context():
        assert "security.purge_events" in all_jobs()


def _writer(database_url: str, instance: str, writer: int, count: int) -> None:
    app = create_app(
        {
            "PORTAL_ENV": "testing",
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": instance,
            "PORTAL_PLUGINS": "security",
            "SCHEDULER_ENABLED": False,
        }
    )
    with app.app_context():
        for n in range(count):
            assert log_event(EventType.DATA_VIEWED, description=f"writer {writer} event {n}") is not None


def _concurrent_writers(database_url: str, instance: str, writers: int = 4, count: int = 15) -> None:
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_writer, args=(database_url, instance, w, count)) for w in range(writers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0


def _check_after_writers(app, expected: int) -> None:
    with app.app_context():
        report = verify_chain()
        assert report.ok, report
        assert report.checked == expected
        ids = db.session.execute(text("SELECT id FROM security_events ORDER BY id")).scalars().all()
        assert ids == list(range(1, expected + 1))


@pytest.mark.slow
def test_concurrent_writer_processes_sqlite(app, tmp_path):
    _concurrent_writers(app.config["DATABASE_URL"], str(tmp_path / "instance"))
    _check_after_writers(app, 60)


@pytest.mark.slow
@pytest.mark.postgres
def test_concurrent_writer_processes_postgres(pg_url, tmp_path):
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
    _concurrent_writers(pg_url, str(tmp_path / "instance"))
    _check_after_writers(app, 60)
    with app.app_context():
        db.engine.dispose()


def test_production_needs_an_audit_key_configured_or_in_the_instance_folder(app, tmp_path):
    from app.config import ConfigError

    elsewhere = {**in_production(app.config), "INSTANCE_PATH": str(tmp_path / "new-host")}
    with pytest.raises(ConfigError, match="SECURITY_AUDIT_KEY: required in production"):
        create_app(elsewhere)
    assert not (tmp_path / "new-host" / "audit-key").exists()  # never generated per host there
    create_app({**elsewhere, "SECURITY_AUDIT_KEY": "k" * 40})
    create_app(in_production(app.config))  # the instance's key file, generated by the first start
