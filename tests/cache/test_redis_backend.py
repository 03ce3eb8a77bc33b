"""The Redis backend against a real server (TEST_REDIS_URL; this suite uses DB 5 and a fresh key
prefix per test): shared entries, tag invalidation seen by every process at once, one
computation per key across processes, and no code run from a forged entry."""

from __future__ import annotations

import multiprocessing
import pickle
import threading
import time

import pytest
import redis

from tests.cache import _workers
from tests.cache.conftest import cache_redis_url

pytestmark = pytest.mark.redis


def test_set_get_ttl_delete(redis_service):
    assert redis_service.set("plan:1", {"premium": 10}, tags=("plans",))
    assert redis_service.get("plan:1") == {"premium": 10}
    redis_service.set("short", 1, ttl=0.2)
    time.sleep(0.3)
    assert redis_service.get("short") is None
    assert redis_service.delete("plan:1") is True
    assert redis_service.get("plan:1") is None


def test_a_hit_with_the_expected_tags_is_one_round_trip(redis_service, monkeypatch):
    redis_service.set("plans:page", ["plan 1"], tags=("plans", "state:FL"))
    pool = redis_service.backend.client.connection_pool
    checkouts = []
    original = pool.get_connection
    monkeypatch.setattr(pool, "get_connection", lambda *a, **k: checkouts.append(1) or original(*a, **k))
    assert redis_service.get_or_set("plans:page", list, tags=("plans", "state:FL")) == ["plan 1"]
    assert len(checkouts) == 1  # the entry and its tags' versions in one pipeline
    checkouts.clear()
    assert redis_service.get_or_set("plans:page", list, tags=("plans",)) == ["plan 1"]
    assert len(checkouts) == 2  # a tag the caller did not name is read after the entry
    redis_service.delete_by_tags(["state:FL"])
    assert redis_service.get_or_set("plans:page", list, tags=("plans",)) == []  # and counts


def test_tag_invalidation_among_thousands_of_entries(redis_service):
    blobs = {tag: redis_service.codec.encode(1, {tag: 0}).blob for tag in ("plans", "users")}
    for number in range(3000):
        tag = "plans" if number % 3 == 0 else "users"
        redis_service.backend.set(f"e{number}", blobs[tag], 60, (tag,))
    redis_service.set("e1", 1, tags=("users",))
    assert redis_service.entries_by_tag() == {"plans": 1000, "users": 2000}
    assert redis_service.delete_by_tags(["plans"]) == 1000
    assert redis_service.get("e0") is None and redis_service.get("e1") == 1
    stats = redis_service.stats()
    assert stats["entries"] == 2000 and stats["backend"] == "redis"
    assert redis_service.entries_by_tag() == {"users": 2000}


def test_usage_of_a_large_index_is_estimated_from_a_sample(redis_service, monkeypatch):
    from plugins.cache.backends import redis_store

    backend = redis_service.backend
    blob = redis_service.codec.encode("v", {}).blob
    for number in range(3000):  # every other entry already expired (the index still lists it)
        backend.set(f"k{number}", blob, 60 if number % 2 else 0.001, ())
    time.sleep(0.05)
    exact = backend.usage()
    assert (exact.entries, exact.bytes) == (1500, 1500 * len(blob))
    monkeypatch.setattr(redis_store, "USAGE_EXACT_UP_TO", 100)
    monkeypatch.setattr(redis_store, "USAGE_SAMPLE", 1000)
    estimate = backend.usage()
    assert abs(estimate.entries - 1500) <= 150 and abs(estimate.bytes - 1500 * len(blob)) <= 150 * len(blob)
    assert estimate.estimated and not exact.estimated
    assert redis_service.stats()["estimated"] is True


def test_two_services_share_entries_stats_and_invalidation(redis_prefix):
    first = _workers.make_service(cache_redis_url(), redis_prefix)
    second = _workers.make_service(cache_redis_url(), redis_prefix)
    first.set("k", "shared", tags=("plans",))
    assert second.get("k") == "shared"
    second.delete_by_tags(["plans"])
    assert first.get("k") is None
    first.stats()  # each process's counts reach Redis at its next flush
    shared = second.stats()
    assert (shared["hits"], shared["misses"]) == (1, 1)  # second's hit, first's miss


def spawner():
    """Processes forked from a server that imported the workers once (fast, no fork of pytest's threads)."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["tests.cache._workers"])
    return ctx


def test_two_processes_invalidate_each_others_tags(redis_prefix):
    ctx = spawner()
    pipes, processes = [], []
    for _ in range(2):
        here, there = ctx.Pipe()
        process = ctx.Process(target=_workers.serve_commands, args=(cache_redis_url(), redis_prefix, there))
        process.start()
        pipes.append(here)
        processes.append(process)
    a, b = pipes

    def ask(pipe, *command):
        pipe.send(command)
        assert pipe.poll(30), "worker did not answer"
        return pipe.recv()

    try:
        assert ask(a, "set", "search:FL", ["plan 1"], ("plans",)) is True
        assert ask(b, "set", "user:7", {"name": "x"}, ("users",)) is True
        assert ask(b, "get", "search:FL") == ["plan 1"]  # B sees what A stored
        assert ask(b, "invalidate", ("plans",)) == 1  # B invalidates A's entry ...
        assert ask(a, "get", "search:FL") == "MISSING"  # ... and A sees it at once
        assert ask(a, "invalidate", ("users",)) == 1  # and the other way round
        assert ask(b, "get", "user:7") == "MISSING"
    finally:
        for pipe in pipes:
            pipe.send(("stop",))
        for process in processes:
            process.join(timeout=30)
    assert all(process.exitcode == 0 for process in processes)


@pytest.mark.slow
def test_concurrent_misses_across_processes_compute_once(redis_prefix):
    ctx = spawner()
    workers = 4
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    processes = [
        ctx.Process(target=_workers.compute_once, args=(cache_redis_url(), redis_prefix, barrier, results))
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    answers = [results.get(timeout=60) for _ in range(workers)]
    for process in processes:
        process.join(timeout=30)
    assert answers == [{"plans": [1, 2, 3]}] * workers
    computations = redis.Redis.from_url(cache_redis_url()).get(redis_prefix + "computations")
    assert int(computations) == 1


def test_lock_times_out_instead_of_waiting_forever(redis_prefix):
    """A holder that takes longer than the lock timeout does not block the others for good."""
    slow_process = _workers.make_service(cache_redis_url(), redis_prefix, lock_timeout=0.2)
    other_process = _workers.make_service(cache_redis_url(), redis_prefix, lock_timeout=0.2)
    computed = []
    started = threading.Event()

    def slow():
        started.set()
        time.sleep(1.0)
        computed.append("slow")
        return "slow"

    thread = threading.Thread(target=lambda: slow_process.get_or_set("k", slow))
    thread.start()
    started.wait(5)
    assert other_process.get_or_set("k", lambda: computed.append("other") or "other") == "other"
    thread.join()
    assert computed == ["other", "slow"]


class Exploit:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (exec, (f"open({str(self.path)!r}, 'w').write('pwned')",))


def test_forged_pickled_entry_runs_no_code(redis_service, redis_prefix, tmp_path):
    marker = tmp_path / "pwned"
    forged = b"\x02\x00\x02{}" + pickle.dumps(Exploit(marker))
    redis.Redis.from_url(cache_redis_url()).set(redis_prefix + "e:plans:search", forged)
    assert redis_service.get_or_set("plans:search", lambda: "computed") == "computed"
    assert not marker.exists()
    assert redis_service.get("plans:search") == "computed"  # the forged entry was replaced


def test_cleanup_forgets_expired_index_entries(redis_service):
    redis_service.set("short", 1, ttl=0.1, tags=("t",))
    redis_service.set("long", 2, ttl=60, tags=("t",))
    time.sleep(0.2)
    assert redis_service.cleanup() == 1
    assert redis_service.entries_by_tag() == {"t": 1}
    assert redis_service.stats()["entries"] == 1
    assert redis_service.clear() == 1
    assert redis_service.get("long") is None


@pytest.mark.plugins("cache")
def test_portal_on_redis(redis_prefix, tmp_path):
    from app import create_app
    from app.caching import get_or_set

    app = create_app(
        {
            "PORTAL_ENV": "testing",
            "SECRET_KEY": "x" * 40,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
            "INSTANCE_PATH": str(tmp_path),
            "PORTAL_PLUGINS": "cache",
            "SCHEDULER_ENABLED": False,
            "CACHE_BACKEND": "redis",
            "CACHE_REDIS_URL": cache_redis_url(),
            "CACHE_KEY_PREFIX": redis_prefix,
        }
    )
    computed = []
    with app.test_request_context():
        for _ in range(3):
            get_or_set("k", lambda: computed.append(1) or "v", tags=("plans",))
        assert app.extensions["plugin.cache"].stats()["hits"] == 2
    assert computed == [1]


@pytest.mark.plugins("cache")
def test_readiness_pings_the_cache_redis(redis_prefix, tmp_path):
    from app import create_app

    app = create_app(
        {
            "PORTAL_ENV": "testing",
            "SECRET_KEY": "x" * 40,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
            "INSTANCE_PATH": str(tmp_path),
            "PORTAL_PLUGINS": "cache",
            "SCHEDULER_ENABLED": False,
            "CACHE_BACKEND": "redis",
            "CACHE_REDIS_URL": cache_redis_url(),
            "CACHE_KEY_PREFIX": redis_prefix,
        }
    )
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 200 and answer.json["checks"]["cache"] is True
