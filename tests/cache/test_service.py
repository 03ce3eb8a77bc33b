"""The service API: set/get/get_or_set/delete/delete_by_tags/clear/cleanup/stats, one computation
per key under concurrent misses, and a failing backend that never breaks the caller."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugins.cache.backends.memory import MemoryBackend
from plugins.cache.codec import Codec
from plugins.cache.service import CacheService, normalize_key, normalize_tags


def test_set_get_delete_and_default(memory_service):
    assert memory_service.get("missing", default="d") == "d"
    assert memory_service.set("plan:1", {"premium": Decimal("10.50")}, tags=("plans",))
    assert memory_service.get("plan:1") == {"premium": Decimal("10.50")}
    assert memory_service.delete("plan:1") is True
    assert memory_service.get("plan:1") is None
    assert memory_service.delete("plan:1") is False


def test_default_ttl_and_explicit_ttl(memory_service, clock):
    memory_service.set("default", 1)
    memory_service.set("short", 2, ttl=5)
    clock.now += 6
    assert memory_service.get("short") is None
    assert memory_service.get("default") == 1
    clock.now += 60
    assert memory_service.get("default") is None


@pytest.mark.parametrize("ttl", [0, -1, "10", True, float("nan")])
def test_bad_ttl_is_refused(memory_service, ttl):
    with pytest.raises(ValueError, match="ttl"):
        memory_service.set("k", 1, ttl=ttl)


def test_cached_none_is_a_hit(memory_service):
    computed = []
    for _ in range(3):
        memory_service.get_or_set("none", lambda: computed.append(1), tags=("t",))
    assert len(computed) == 1


def test_delete_by_tags_and_clear(memory_service):
    for number in range(10):
        memory_service.set(f"p{number}", number, tags=("plans", f"state:{number % 2}"))
    memory_service.set("u", "user", tags=("users",))
    assert memory_service.delete_by_tags(["state:0"]) == 5
    assert memory_service.get("p1") == 1
    assert memory_service.get("p2") is None
    assert memory_service.delete_by_tags(["plans", "users"]) == 6
    memory_service.set("x", 1)
    assert memory_service.clear() == 1
    assert memory_service.stats()["entries"] == 0


def test_stats_count_hits_misses_ratio_and_bytes_saved(clock):
    service = CacheService(MemoryBackend(10**7, clock=clock), Codec(compress_min_bytes=100), 60)
    service.get_or_set("big", lambda: "premium " * 500)
    for _ in range(3):
        service.get_or_set("big", lambda: "never")
    service.get("absent")
    stats = service.stats()
    assert (stats["hits"], stats["misses"]) == (3, 2)
    assert stats["ratio"] == 0.6
    assert stats["entries"] == 1
    assert 0 < stats["bytes"] < 4000
    assert stats["bytes_saved"] > 3000


def test_concurrent_misses_compute_once_per_key(memory_service):
    computations = {"a": 0, "b": 0}
    counter_lock = threading.Lock()
    barrier = threading.Barrier(16)
    results = []

    def compute(key):
        with counter_lock:
            computations[key] += 1
        time.sleep(0.05)  # a slow query: every other thread arrives while it runs
        return f"value {key}"

    def worker(number):
        key = "ab"[number % 2]
        barrier.wait()
        results.append(memory_service.get_or_set(key, lambda: compute(key), tags=("t",)))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert computations == {"a": 1, "b": 1}
    assert sorted(set(results)) == ["value a", "value b"]
    assert len(results) == 16
    assert memory_service._key_locks == {}  # per-key locks are dropped once unused


def test_invalidation_during_computation_wins(memory_service):
    """A value computed from data older than an invalidation is never served after it."""

    def compute_while_data_changes():
        memory_service.delete_by_tags(["plans"])  # a commit lands while we compute
        return "stale"

    assert memory_service.get_or_set("search", compute_while_data_changes, tags=("plans",)) == "stale"
    assert memory_service.get_or_set("search", lambda: "fresh", tags=("plans",)) == "fresh"


def test_a_value_json_cannot_hold_is_not_stored_and_says_so(memory_service, caplog):
    assert memory_service.set("k", object()) is False
    assert memory_service.get("k", "absent") == "absent"
    computed = object()
    assert memory_service.get_or_set("k", lambda: computed) is computed  # served, not stored
    assert memory_service.stats()["entries"] == 0
    assert "without CACHE_ALLOW_PICKLE" in caplog.text


def test_compute_errors_propagate_and_are_not_cached(memory_service):
    with pytest.raises(RuntimeError):
        memory_service.get_or_set("k", lambda: (_ for _ in ()).throw(RuntimeError("db down")))
    assert memory_service.get_or_set("k", lambda: 7) == 7


class BrokenBackend(MemoryBackend):
    name = "broken"

    def __init__(self):
        super().__init__(1024)

    def _fail(self, *args, **kwargs):
        raise ConnectionError("store unreachable")

    get = set = delete = invalidate = clear = cleanup = usage = tag_versions = _fail


def test_a_failing_backend_degrades_to_computing(caplog):
    service = CacheService(BrokenBackend(), Codec(), 60)
    assert service.get_or_set("k", lambda: 42, tags=("t",)) == 42
    assert service.get("k", "default") == "default"
    assert service.set("k", 1) is False
    assert service.delete_by_tags(["t"]) == 0
    assert service.clear() == 0
    stats = service.stats()
    assert stats["errors"] >= 5
    assert stats["entries"] == 0
    assert "store unreachable" in caplog.text


def test_unreadable_entry_is_dropped_and_recomputed(memory_service):
    memory_service.backend.set("k", b"\x01\x00\x00garbage", ttl=60, tags=())
    assert memory_service.get_or_set("k", lambda: "recomputed") == "recomputed"
    assert memory_service.get("k") == "recomputed"


def test_long_keys_are_hashed_and_stay_distinct():
    first, second = "x" * 300 + "1", "x" * 300 + "2"
    assert len(normalize_key(first)) < 200
    assert normalize_key(first) != normalize_key(second)
    assert normalize_key("short") == "short"


@given(st.lists(st.one_of(st.text(max_size=120), st.integers(), st.none()), max_size=5))
def test_tag_validation_accepts_only_short_non_empty_strings(tags):
    valid = all(isinstance(t, str) and t.strip() and len(t) <= 100 for t in tags)
    if valid:
        assert set(normalize_tags(tags)) == set(tags)
    else:
        with pytest.raises(ValueError):
            normalize_tags(tags)


def test_first_lookups_appear_in_the_chart_series(memory_service):
    memory_service.get_or_set("k", lambda: 1)
    memory_service.get("k")
    assert memory_service.ratio_series()[-1][1] == 0.5


def test_hit_ratio_series_from_samples(memory_service):
    memory_service.samples.clear()
    memory_service.samples.extend([(100.0, 0, 0), (130.0, 3, 1), (160.0, 3, 1)])
    memory_service._counts.update(hits=5, misses=3)
    series = memory_service.ratio_series()
    assert series[0] == (130.0, 0.75)
    assert series[1] == (160.0, None)  # no lookups in that interval
    assert series[2][1] == 0.5
