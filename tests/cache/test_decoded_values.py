"""A hit on an unchanged entry is not decoded again (the service keeps immutable decoded values
beside their blob), and whatever changes the entry (a new value, an invalidation, an expiry, a
mutable value) is never answered from what was kept."""

from __future__ import annotations

from plugins.cache.backends.memory import MemoryBackend
from plugins.cache.codec import Codec
from plugins.cache.service import CacheService


class CountingCodec(Codec):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.decodes = 0

    def decode(self, blob: bytes):
        self.decodes += 1
        return super().decode(blob)


def service(clock, codec: Codec) -> CacheService:
    return CacheService(MemoryBackend(10 * 1024 * 1024, clock=clock), codec, default_ttl=60)


def test_hits_on_an_unchanged_entry_decode_it_once(clock):
    codec = CountingCodec(compress_min_bytes=100)
    cache = service(clock, codec)
    answer = '{"items": [' + ",".join(["1"] * 500) + "]}"
    for _ in range(20):
        assert cache.get_or_set("answer", lambda: answer, tags=("plans",)) == answer
    assert codec.decodes == 1


def test_a_new_value_an_invalidation_and_an_expiry_are_seen(clock):
    cache = service(clock, Codec())
    cache.set("k", "first", tags=("t",))
    assert cache.get("k") == "first"
    cache.set("k", "second", tags=("t",))
    assert cache.get("k") == "second"
    cache.delete_by_tags(("t",))
    assert cache.get("k") is None
    cache.set("k", "third", ttl=5)
    assert cache.get("k") == "third"
    clock.now += 6
    assert cache.get("k") is None


def test_a_mutable_value_is_decoded_for_each_caller(clock):
    codec = CountingCodec()
    cache = service(clock, codec)
    cache.set("k", {"items": [1, 2]})
    cache.get("k")["items"].append(3)
    assert cache.get("k") == {"items": [1, 2]}
    assert codec.decodes == 2
