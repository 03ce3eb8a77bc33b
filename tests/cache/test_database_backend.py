"""The database backend on cache_entries: SQLite by default and PostgreSQL (TEST_POSTGRES_URL)."""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, insert, select, text

from app import create_app
from app.extensions import db
from plugins.cache.backends import database as database_module
from plugins.cache.models import CacheEntry, CacheEntryTag
from tests.support.postgres import private_database

CONFIG = {"CACHE_BACKEND": "database", "CACHE_COMPRESS_MIN_BYTES": 10**9}  # sizes stay predictable


class Clock:
    def __init__(self):
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(database_module, "utcnow", fake)
    return fake


def postgres_app(tmp_path, url: str):
    return create_app(
        {
            "PORTAL_ENV": "testing",
            "SECRET_KEY": "x" * 40,
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(tmp_path),
            "PORTAL_PLUGINS": "cache",
            "SCHEDULER_ENABLED": False,
            "CACHE_MAX_SIZE_MB": 0.01,
            **CONFIG,
        }
    )


@pytest.fixture(scope="module")
def migrated_postgres(tmp_path_factory):
    """A private PostgreSQL database with the schema built once by all the migrations; its URL."""
    from flask_migrate import upgrade

    with private_database(os.environ.get("TEST_POSTGRES_URL"), "cache") as url:
        app = postgres_app(tmp_path_factory.mktemp("pg"), url)
        with app.app_context():
            with warnings.catch_warnings():  # migrations/env.py still calls get_engine()
                warnings.simplefilter("ignore", DeprecationWarning)
                upgrade()  # all of them: the core models the test loads grow columns later
            db.engine.dispose()
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_app(request, tmp_path):
    postgres = request.param == "postgres"
    if postgres:
        application = postgres_app(tmp_path, request.getfixturevalue("migrated_postgres"))
    else:
        application = request.getfixturevalue("app")
    with application.app_context():
        if postgres:
            with db.engine.begin() as conn:
                conn.execute(
                    text(
                        "delete from cache_entry_tags; delete from cache_entries; delete from cache_tag_versions"
                    )
                )
        yield application
        db.session.remove()
        if postgres:
            db.engine.dispose()


pytestmark = [pytest.mark.plugins("cache"), pytest.mark.config(CACHE_MAX_SIZE_MB=0.01, **CONFIG)]


def test_set_get_delete_and_ttl(db_app, clock):
    service = db_app.extensions["plugin.cache"]
    assert service.stats()["backend"] == "database"
    assert service.set("plan:1", {"premium": 10}, ttl=60, tags=("plans", "state:FL"))
    assert service.get("plan:1") == {"premium": 10}
    row = db.session.scalar(select(CacheEntry).where(CacheEntry.key == "plan:1"))
    assert sorted(row.tags) == ["plans", "state:FL"] and row.size == len(row.value)
    clock.advance(61)
    assert service.get("plan:1") is None
    service.set("plan:2", 2, ttl=60)
    assert service.delete("plan:2") is True
    assert service.get("plan:2") is None


def test_lru_by_last_access_over_the_byte_bound(db_app, clock):
    service = db_app.extensions["plugin.cache"]  # bound: 0.01 MB = 10485 bytes
    for key in "abc":
        clock.advance(1)
        service.set(key, "x" * 3000)
    clock.advance(1)
    assert service.get("a") is not None  # "a" is now more recent than "b" and "c"
    clock.advance(1)
    service.set("d", "y" * 3000)  # 4 x ~3 kB > 10 kB: the least recently read goes
    assert service.get("b") is None
    assert all(service.get(key) is not None for key in "acd")
    stats = service.stats()
    assert stats["bytes"] <= 10485 and stats["evictions"] == 1


def test_a_lookup_reads_the_entry_and_its_tags_on_one_connection(db_app, clock):
    service = db_app.extensions["plugin.cache"]
    service.set("plan:1", {"premium": 10}, tags=("plans", "state:FL"))
    checkouts = []
    listener = lambda *args: checkouts.append(1)  # noqa: E731
    event.listen(db.engine, "checkout", listener)
    try:
        assert service.get("plan:1") == {"premium": 10}
        assert service.get("absent") is None
    finally:
        event.remove(db.engine, "checkout", listener)
    assert len(checkouts) == 2  # one per lookup, not one per read
    service.delete_by_tags(["state:FL"])
    assert service.get("plan:1") is None  # the versions read on that connection are current


def test_concurrent_invalidations_and_writes_lose_no_invalidation(db_app, monkeypatch):
    # An optional fill gives up after OPTIONAL_WRITE_WAIT_MS for SQLite's one write lock and
    # counts as an error: on a loaded machine six threads make that wait a matter of luck. What
    # is under test is that no invalidation or write is lost, so the fills wait as long as any
    # other write here (the portal's busy timeout), and any error left is a real one.
    monkeypatch.setattr(database_module, "OPTIONAL_WRITE_WAIT_MS", database_module.SQLITE_BUSY_TIMEOUT_MS)
    service = db_app.extensions["plugin.cache"]
    service.backend.max_bytes = 10**9
    rounds, threads = 40, 6

    def work(number: int) -> None:
        with db_app.app_context():
            for step in range(rounds):
                if (number + step) % 2:
                    service.set(f"plan:{number}:{step % 5}", {"n": step}, tags=("plans", f"state:{step % 3}"))
                else:
                    service.delete_by_tags(["plans", f"state:{step % 3}"])

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(threads)))
    invalidations = threads * rounds // 2
    assert service.backend.tag_versions(["plans"]) == {"plans": invalidations}  # each bumped once
    assert service.stats()["errors"] == 0
    service.delete_by_tags(["plans"])
    assert all(service.get(f"plan:{n}:{k}") is None for n in range(threads) for k in range(5))


def test_reads_are_counted_in_batches(db_app, clock):
    service = db_app.extensions["plugin.cache"]
    service.set("k", 1)
    for _ in range(3):
        service.get("k")
    service.backend.flush_touches()
    row = db.session.scalar(select(CacheEntry).where(CacheEntry.key == "k"))
    assert row.access_count == 3


def test_tag_invalidation_among_many_entries(db_app, clock):
    service = db_app.extensions["plugin.cache"]
    service.backend.max_bytes = 10**9
    blob = service.codec.encode(1, {"plans": 0}).blob
    rows, tag_rows = [], []
    for number in range(3000):  # written in one transaction: one commit per set() would be slow
        tag = "plans" if number % 3 == 0 else "users"
        rows.append({"key": f"e{number}", "value": blob, "size": len(blob), "tags": [tag]})
        rows[-1].update(
            expires_at=clock.now + timedelta(hours=1), created_at=clock.now, last_accessed=clock.now
        )
        tag_rows.append({"tag": tag, "key": f"e{number}"})
    with db.engine.begin() as conn:
        conn.execute(insert(CacheEntry.__table__), rows)
        conn.execute(insert(CacheEntryTag.__table__), tag_rows)
    service.set("e1", "one", tags=("users",))
    assert service.entries_by_tag() == {"plans": 1000, "users": 2000}
    assert service.delete_by_tags(["plans"]) == 1000
    assert service.entries_by_tag() == {"users": 2000}
    assert service.stats()["entries"] == 2000
    assert service.get("e0") is None and service.get("e1") == "one"
    assert service.backend.tag_versions(["plans", "users"]) == {"plans": 1, "users": 0}


def test_cleanup_removes_expired_rows(db_app, clock):
    service = db_app.extensions["plugin.cache"]
    service.set("short", 1, ttl=5, tags=("t",))
    service.set("long", 2, ttl=500, tags=("t",))
    clock.advance(10)
    assert service.cleanup() == 1
    assert service.entries_by_tag() == {"t": 1}
    assert service.stats()["entries"] == 1
    assert service.clear() == 1


def test_cache_write_never_commits_the_request_session(db_app, clock):
    from app.models import User

    service = db_app.extensions["plugin.cache"]
    db.session.add(User(username="pending", password_hash="x"))
    service.get_or_set("k", lambda: "v")
    db.session.rollback()
    assert db.session.scalar(select(User).where(User.username == "pending")) is None


def test_a_fill_during_the_requests_unfinished_write_leaves_that_write_alone(db_app, clock):
    """A request that has written keeps its transaction and its one connection: the cache does
    not ask for a second one (on SQLite it would wait for the lock that very request holds). The
    value is served at once and stored once the request has committed."""
    from app.models import User

    service = db_app.extensions["plugin.cache"]
    db.session.add(User(username="pending", password_hash="x"))
    db.session.flush()
    assert service.get_or_set("k", lambda: "v") == "v"
    assert service.get("k") is None  # not stored yet: the request has not committed
    db.session.commit()
    assert db.session.scalar(select(User.username).where(User.username == "pending")) == "pending"
    assert service.stats()["errors"] == 0 and service.get("k") == "v"
    if db.engine.dialect.name == "sqlite":
        db.session.remove()  # the pooled connections keep the portal's usual busy timeout
        with db.engine.connect() as first, db.engine.connect() as second:
            for conn in (first, second):
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000


def test_a_fill_computed_during_a_write_that_rolls_back_is_never_stored(db_app, clock):
    from app.models import User

    service = db_app.extensions["plugin.cache"]
    db.session.add(User(username="rolled-back", password_hash="x"))
    db.session.flush()
    assert service.get_or_set("k", lambda: "rests on the unsaved user") == "rests on the unsaved user"
    db.session.rollback()
    db.session.commit()  # a later commit of the same session stores nothing put off before
    assert service.get("k") is None
