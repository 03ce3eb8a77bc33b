"""More request threads than database connections: nothing may hold one connection while it
waits for another, or the threads wait for each other until the pool gives up (a 500 after 30 s).

gunicorn ``gthread`` with 8 threads on a pool of 2 and no overflow: if every request holds at most
one connection at a time, the threads take turns and every sign-in succeeds; a request that asks
for a second connection while holding the first can wait on two others doing the same, forever.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app import create_app
from app.extensions import db
from tests.conftest import PASSWORD, POSTGRES_URL
from tests.support.crowd import create_members, crowd_credentials, load_pages, sign_in_all
from tests.support.postgres import private_database
from tests.support.servers import gunicorn

pytestmark = pytest.mark.slow
THREADS, POOL = 8, 2
CROWD = 24
# The pool's wait is long enough for 8 threads to take turns on 2 connections and short enough
# that a thread waiting on itself fails the test within a minute.
POOL_SETTINGS = (
    f"SQLALCHEMY_ENGINE_OPTIONS = {{'pool_size': {POOL}, 'max_overflow': 0, 'pool_timeout': 20, "
    "'pool_pre_ping': True}\n"
)
SERVER_SETTINGS = {
    "PORTAL_ENV": "testing",
    "SECRET_KEY": "gthread-secret-key-long-enough-for-any-environment",
    "RATE_LIMIT_MAX_REQUESTS": "100000",
    "SCHEDULER_ENABLED": "false",
}


def prepare(database: str, tmp_path: Path) -> None:
    """Create every table of the default plugins, and the crowd's accounts."""
    app = create_app(
        {"PORTAL_ENV": "testing", "DATABASE_URL": database, "INSTANCE_PATH": str(tmp_path / "setup"),
         "PASSWORD_HASH_METHOD": "scrypt:1024:8:1", "SCHEDULER_ENABLED": False}
    )  # fmt: skip
    with app.app_context():
        db.create_all()
    create_members(app, crowd_credentials(CROWD, PASSWORD))
    with app.app_context():
        db.engine.dispose()


def crowd_against_gthread(database: str, tmp_path: Path) -> None:
    prepare(database, tmp_path)
    instance = tmp_path / "server"
    instance.mkdir()
    (instance / "config.py").write_text(POOL_SETTINGS)
    env = {**SERVER_SETTINGS, "DATABASE_URL": database, "PORTAL_INSTANCE_PATH": str(instance)}
    with gunicorn(env, workers=1, threads=THREADS, extra_args=("--worker-class", "gthread")) as base:
        signed, sessions = sign_in_all(base, crowd_credentials(CROWD, PASSWORD))
        assert signed.successes == CROWD, signed.summary()
        pages = load_pages(base, sessions, total=4 * CROWD, concurrency=CROWD)
        assert pages.successes == 4 * CROWD, pages.summary()


def test_gthread_with_more_threads_than_connections_on_sqlite(tmp_path):
    crowd_against_gthread(f"sqlite:///{tmp_path / 'portal.db'}", tmp_path)


@pytest.mark.postgres
def test_gthread_with_more_threads_than_connections_on_postgres(tmp_path):
    with private_database(POSTGRES_URL, "gthread") as database:
        crowd_against_gthread(database, tmp_path)
