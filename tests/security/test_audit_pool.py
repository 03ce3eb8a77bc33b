"""The audit log under more request threads than pool connections, on SQLite and PostgreSQL.

Each thread does what a sign-in does: it loads the user through the request's ORM session (which
keeps that pooled connection until the request ends) and then records events. No request may
wait for a second pool connection for the audit, so with a pool of 2 and no overflow every one
of 16 threads stores its events, nothing times out, and the chain verifies.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

from app import create_app
from app.auth.passwords import hash_password
from app.events import EventType, Severity
from app.extensions import db
from app.models import User
from plugins.security.audit import log_event
from plugins.security.chain import verify_chain
from plugins.security.models import SecurityEvent
from tests.conftest import PASSWORD, csrf_from

pytestmark = pytest.mark.plugins("security")

THREADS = 16
EVENTS_PER_THREAD = 3
SMALL_POOL = {"pool_size": 2, "max_overflow": 0, "pool_timeout": 3, "pool_pre_ping": True}


@contextmanager
def small_pool_portal(database_url: str, instance: str):
    """A portal whose request pool has 2 connections and no overflow, with 16 users."""
    app = create_app(
        {
            "PORTAL_ENV": "testing",
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": instance,
            "PORTAL_PLUGINS": "security",
            "SCHEDULER_ENABLED": False,
            "RATELIMIT_STORAGE_URI": "memory://",
            "RATE_LIMIT_ENABLED": False,
            "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
            "SQLALCHEMY_ENGINE_OPTIONS": SMALL_POOL,
            # The inline detection rules still open sessions of their own (plugins/security/threats);
            # this file proves the audit path, which every request with an event takes.
            "SECURITY_DETECTION_ENABLED": False,
        }
    )
    with app.app_context():
        db.create_all()
        for n in range(THREADS):
            db.session.add(User(username=f"user{n}", password_hash=hash_password(PASSWORD), role="client"))
        db.session.commit()
    try:
        yield app
    finally:
        app.extensions["plugin.security"].audit_writer.close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _run_threads(target, count: int = THREADS) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(n: int) -> None:
        start.wait()
        try:
            target(n)
        except BaseException as error:  # collected and reported by the test
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread is still waiting"
    return errors


def _sign_in_like(app, ids: list):
    def flow(n: int) -> None:
        with app.test_request_context(
            "/auth/login", method="POST", environ_base={"REMOTE_ADDR": f"10.0.0.{n}"}
        ):
            # The ORM session now holds a pooled connection until the request context ends.
            user = db.session.scalar(select(User).where(User.username == f"user{n}"))
            assert user is not None
            for step in range(EVENTS_PER_THREAD):
                ids.append(
                    log_event(EventType.LOGIN_SUCCESS, Severity.LOW, user=user, description=f"step {step}")
                )
            user.last_login_at = func.now()
            db.session.commit()

    return flow


def _check_all_stored(app, ids: list, errors: list, caplog) -> None:
    assert errors == []
    assert len(ids) == THREADS * EVENTS_PER_THREAD
    assert None not in ids, "an event was not stored"
    assert sorted(ids) == list(range(1, THREADS * EVENTS_PER_THREAD + 1))
    assert not [r for r in caplog.records if "QueuePool limit" in r.getMessage() + str(r.exc_info)]
    with app.app_context():
        report = verify_chain()
        assert report.ok, report
        assert report.checked == THREADS * EVENTS_PER_THREAD
        assert db.session.scalar(select(func.count(SecurityEvent.id))) == THREADS * EVENTS_PER_THREAD


def _assert_sixteen_sign_ins_store_every_event(app, caplog) -> None:
    ids: list = []
    with caplog.at_level(logging.ERROR):
        errors = _run_threads(_sign_in_like(app, ids))
    _check_all_stored(app, ids, errors, caplog)


def test_more_threads_than_pool_connections_sqlite(tmp_path, caplog):
    with small_pool_portal(f"sqlite:///{tmp_path / 'portal.db'}", str(tmp_path / "instance")) as app:
        _assert_sixteen_sign_ins_store_every_event(app, caplog)


@pytest.mark.postgres
def test_more_threads_than_pool_connections_postgres(pg_url, tmp_path, caplog):
    with small_pool_portal(pg_url, str(tmp_path / "instance")) as app:
        _assert_sixteen_sign_ins_store_every_event(app, caplog)


def _http_sign_ins(app, statuses: list):
    def flow(n: int) -> None:
        client = app.test_client()
        environ = {"REMOTE_ADDR": f"10.0.1.{n}"}
        token = csrf_from(client.get("/auth/login", environ_base=environ).get_data(as_text=True))
        wrong = {"username": f"user{n}", "password": "wrong password!!", "csrf_token": token}
        statuses.append(client.post("/auth/login", data=wrong, environ_base=environ).status_code)
        right = {**wrong, "password": PASSWORD}
        statuses.append(client.post("/auth/login", data=right, environ_base=environ).status_code)
        token = csrf_from(client.get("/auth/password", environ_base=environ).get_data(as_text=True))
        statuses.append(
            client.post("/auth/logout", data={"csrf_token": token}, environ_base=environ).status_code
        )

    return flow


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_concurrent_sign_ins_through_the_app_with_a_small_pool(database, tmp_path, request, caplog):
    url = request.getfixturevalue("pg_url") if database == "postgres" else f"sqlite:///{tmp_path / 'p.db'}"
    with small_pool_portal(url, str(tmp_path / "instance")) as app:
        statuses: list[int] = []
        with caplog.at_level(logging.ERROR):
            errors = _run_threads(_http_sign_ins(app, statuses))
        assert errors == []
        assert sorted(statuses) == sorted([401, 302, 302] * THREADS)
        assert not [r for r in caplog.records if "QueuePool limit" in r.getMessage() + str(r.exc_info)]
        with app.app_context():
            kinds = db.session.scalars(select(SecurityEvent.event_type)).all()
            assert sorted(kinds) == sorted(["LOGIN_FAILURE", "LOGIN_SUCCESS", "LOGOUT"] * THREADS)
            assert verify_chain().ok
