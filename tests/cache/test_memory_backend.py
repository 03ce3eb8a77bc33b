"""The memory backend: TTL, LRU bounded by stored bytes, tag invalidation without a scan."""

from __future__ import annotations

import threading

from plugins.cache.backends.memory import MemoryBackend
from plugins.cache.codec import Codec
from plugins.cache.service import CacheService


def test_ttl_honoured_on_read_and_by_cleanup(clock):
    backend = MemoryBackend(1024, clock=clock)
    backend.set("a", b"1", ttl=10, tags=())
    backend.set("b", b"2", ttl=100, tags=())
    clock.now += 11
    assert backend.get("a") is None
    backend.set("c", b"3", ttl=5, tags=())
    clock.now += 6
    assert backend.cleanup() == 1  # "c"; "a" already went on read
    assert backend.get("b") == b"2"
    assert backend.usage().entries == 1


def test_lru_evicts_least_recently_used_first(clock):
    backend = MemoryBackend(300, clock=clock)
    for key in "abc":
        backend.set(key, b"x" * 100, ttl=60, tags=())
    assert backend.get("a") == b"x" * 100  # "a" is now the most recent; "b" the oldest
    backend.set("d", b"y" * 100, ttl=60, tags=())
    assert backend.get("b") is None
    assert {k for k in "acd" if backend.get(k)} == {"a", "c", "d"}
    assert backend.usage().evictions == 1


def test_bound_holds_under_a_flood_of_large_values(clock):
    bound = 256 * 1024
    service = CacheService(MemoryBackend(bound, clock=clock), Codec(compress_min_bytes=10**9), default_ttl=60)
    for number in range(400):
        service.set(f"big:{number}", "x" * (10_000 + number * 37))
        assert service.backend.usage().bytes <= bound
    stats = service.stats()
    assert stats["bytes"] <= bound
    assert stats["evictions"] > 300
    assert service.get("big:399") is not None  # the newest survived
    assert service.get("big:0") is None


def test_value_larger_than_the_whole_cache_is_not_stored(clock):
    backend = MemoryBackend(1000, clock=clock)
    backend.set("small", b"s", ttl=60, tags=())
    assert backend.set("huge", b"h" * 1001, ttl=60, tags=()) is False
    assert backend.get("small") == b"s"  # nothing evicted for a value that cannot fit


def test_invalidating_a_tag_touches_only_its_entries_among_thousands(clock):
    backend = MemoryBackend(50 * 1024 * 1024, clock=clock)
    for number in range(5000):
        backend.set(f"k{number}", b"v", ttl=60, tags=("plans",) if number % 5 == 0 else ("users",))
    assert backend.entries_by_tag() == {"plans": 1000, "users": 4000}
    calls = 0
    original = backend._remove

    def counting_remove(key):
        nonlocal calls
        calls += 1
        return original(key)

    backend._remove = counting_remove
    assert backend.invalidate(["plans"]) == 1000
    assert calls == 1000  # the index found the entries: no pass over the other 4000 keys
    assert backend.entries_by_tag() == {"users": 4000}
    assert backend.tag_versions(["plans", "users"]) == {"plans": 1, "users": 0}


def test_concurrent_writers_keep_the_byte_count_exact(clock):
    backend = MemoryBackend(64 * 1024, clock=clock)

    def writer(offset):
        for number in range(500):
            backend.set(f"k{(number + offset) % 300}", b"z" * (50 + number % 200), ttl=60, tags=("t",))
            backend.get(f"k{number % 300}")

    threads = [threading.Thread(target=writer, args=(n * 7,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    usage = backend.usage()
    assert usage.bytes == sum(len(e.blob) for e in backend._entries.values())
    assert usage.bytes <= 64 * 1024
    assert backend.entries_by_tag()["t"] == usage.entries
