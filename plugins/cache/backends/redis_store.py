"""The shared backend: Redis, seen by every worker and host at once.

Layout under the key prefix ``p``: ``p e:KEY`` the blob (with a PX expiry), ``p t:TAG`` the set
of keys carrying TAG, ``p v:TAG`` the tag's version, ``p tags`` the known tags, ``p idx`` a hash
KEY -> "size expiry_ms" for usage figures, ``p stats`` the shared hit/miss counters, ``p l:KEY``
the stampede lock. Invalidation is one Lua script (atomic: a tag's version moves and its entries
go in one step), so no process can read an entry of an invalidated tag after the call returns.
Memory is bounded by Redis's own maxmemory policy (see the README).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator

import redis
from redis.exceptions import LockError

from plugins.cache.backends import Usage, one_by_one

INVALIDATE = """
local p = ARGV[1]
local removed = 0
for i = 2, #ARGV do
  local tag = ARGV[i]
  redis.call('INCR', p .. 'v:' .. tag)
  local members = redis.call('SMEMBERS', p .. 't:' .. tag)
  for j = 1, #members do
    removed = removed + redis.call('DEL', p .. 'e:' .. members[j])
    redis.call('HDEL', p .. 'idx', members[j])
  end
  redis.call('DEL', p .. 't:' .. tag)
  redis.call('SREM', p .. 'tags', tag)
end
return removed
"""


USAGE_EXACT_UP_TO = 20_000  # index entries read whole for the usage figures
USAGE_SAMPLE = 2_000  # entries sampled (HRANDFIELD, Redis 6.2+) beyond that


class RedisBackend:
    """Blobs, tag sets and tag versions in Redis; a redis-py Lock guards each computation."""

    name = "redis"

    def __init__(self, url: str, prefix: str = "portal:cache:", lock_timeout: float = 10.0):
        self.url = url
        self.prefix = prefix
        self.lock_timeout = lock_timeout
        self._client: redis.Redis | None = None
        self._invalidate = None

    @property
    def client(self) -> redis.Redis:
        # Connected on first use: setup must not open connections, and a gunicorn worker must
        # not inherit a socket from the master.
        if self._client is None:
            self._client = redis.Redis.from_url(self.url, socket_timeout=5, socket_connect_timeout=5)
            self._invalidate = self._client.register_script(INVALIDATE)
        return self._client

    def _k(self, kind: str, name: str = "") -> str:
        return f"{self.prefix}{kind}{name}"

    def get(self, key: str) -> bytes | None:
        return self.client.get(self._k("e:", key))

    def get_with_versions(self, key: str, tags: tuple[str, ...]) -> tuple[bytes | None, dict[str, int]]:
        """The entry and the versions of ``tags`` in one round trip, read in that order: an
        invalidation between the two reads shows as a newer version, never as a missed one."""
        if not tags:
            return self.get(key), {}
        pipe = self.client.pipeline(transaction=False)
        pipe.get(self._k("e:", key))
        pipe.mget([self._k("v:", tag) for tag in tags])
        blob, values = pipe.execute()
        return blob, {tag: int(value or 0) for tag, value in zip(tags, values, strict=True)}

    def set(self, key: str, blob: bytes, ttl: float, tags: tuple[str, ...]) -> bool:
        ttl_ms = max(1, int(ttl * 1000))
        expires_ms = int(time.time() * 1000) + ttl_ms
        pipe = self.client.pipeline(transaction=False)
        pipe.set(self._k("e:", key), blob, px=ttl_ms)
        pipe.hset(self._k("idx"), key, f"{len(blob)} {expires_ms}")
        for tag in tags:
            pipe.sadd(self._k("t:", tag), key)
        if tags:
            pipe.sadd(self._k("tags"), *tags)
        pipe.execute()
        return True

    def delete(self, key: str) -> bool:
        pipe = self.client.pipeline(transaction=False)
        pipe.delete(self._k("e:", key))
        pipe.hdel(self._k("idx"), key)
        return bool(pipe.execute()[0])

    def tag_versions(self, tags: Iterable[str]) -> dict[str, int]:
        tags = list(tags)
        if not tags:
            return {}
        values = self.client.mget([self._k("v:", tag) for tag in tags])
        return {tag: int(value or 0) for tag, value in zip(tags, values, strict=True)}

    def invalidate(self, tags: Iterable[str]) -> int:
        tags = list(tags)
        if not tags:
            return 0
        _ = self.client  # registers the script
        return int(self._invalidate(args=[self.prefix, *tags]))

    def _scan_delete(self, pattern: str) -> int:
        count = 0
        batch: list[bytes] = []
        for name in self.client.scan_iter(match=pattern, count=1000):
            batch.append(name)
            if len(batch) >= 1000:
                count += self.client.unlink(*batch)
                batch.clear()
        if batch:
            count += self.client.unlink(*batch)
        return count

    def clear(self) -> int:
        tags = [t.decode() for t in self.client.smembers(self._k("tags"))]
        if tags:  # entries computed before the clear must not be stored after it
            pipe = self.client.pipeline(transaction=False)
            for tag in tags:
                pipe.incr(self._k("v:", tag))
            pipe.execute()
        count = self._scan_delete(self._escape(self._k("e:")) + "*")
        self._scan_delete(self._escape(self._k("t:")) + "*")
        self.client.delete(self._k("idx"), self._k("tags"))
        return count

    @staticmethod
    def _escape(text: str) -> str:
        return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)

    def cleanup(self) -> int:
        """Forget index and tag-set members whose entry expired or was evicted by Redis."""
        now_ms = int(time.time() * 1000)
        gone: list[str] = []
        for field, value in self.client.hscan_iter(self._k("idx"), count=1000):
            if int(value.split()[1]) <= now_ms:
                gone.append(field.decode())
        if gone:
            self.client.hdel(self._k("idx"), *gone)
        for raw_tag in self.client.smembers(self._k("tags")):
            tag_set = self._k("t:", raw_tag.decode())
            members = list(self.client.sscan_iter(tag_set, count=1000))
            if not members:
                self.client.srem(self._k("tags"), raw_tag)
                continue
            pipe = self.client.pipeline(transaction=False)
            for member in members:
                pipe.exists(self._k("e:", member.decode()))
            stale = [m for m, alive in zip(members, pipe.execute(), strict=True) if not alive]
            if stale:
                self.client.srem(tag_set, *stale)
        return len(gone)

    def usage(self) -> Usage:
        """Live entries and their bytes from the index: exact up to USAGE_EXACT_UP_TO entries,
        beyond that estimated from a random sample (stats are read on every /metrics scrape and
        admin page; reading a huge index each time would cost Redis and the page)."""
        now_ms = int(time.time() * 1000)
        index = self._k("idx")
        total = self.client.hlen(index)
        if total <= USAGE_EXACT_UP_TO:
            values, scale = self.client.hvals(index), 1.0
        else:
            values = self.client.hrandfield(index, USAGE_SAMPLE, withvalues=True)[1::2]
            scale = total / max(1, len(values))
        entries = size = 0
        for value in values:
            length, expires = value.split()
            if int(expires) > now_ms:
                entries, size = entries + 1, size + int(length)
        evicted = int(self.client.info("stats").get("evicted_keys", 0))
        return Usage(round(entries * scale), round(size * scale), evicted, None, estimated=scale != 1.0)

    def entries_by_tag(self) -> dict[str, int]:
        tags = [t.decode() for t in self.client.smembers(self._k("tags"))]
        pipe = self.client.pipeline(transaction=False)
        for tag in tags:
            pipe.scard(self._k("t:", tag))
        return dict(zip(tags, pipe.execute(), strict=True))

    def reading(self):
        return one_by_one()

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Hold the cross-process lock of ``key``; after lock_timeout, go ahead without it."""
        lock = self.client.lock(
            self._k("l:", key), timeout=self.lock_timeout, sleep=0.01, blocking_timeout=self.lock_timeout
        )
        acquired = lock.acquire()
        try:
            yield
        finally:
            if acquired:
                with contextlib.suppress(LockError):  # it expired: the holder took too long
                    lock.release()

    def add_counts(self, counts: dict[str, int]) -> None:
        """Add this process's pending hit/miss/saved counts to the shared ones."""
        pipe = self.client.pipeline(transaction=False)
        for name, amount in counts.items():
            if amount:
                pipe.hincrby(self._k("stats"), name, amount)
        pipe.execute()

    def counts(self) -> dict[str, int]:
        return {k.decode(): int(v) for k, v in self.client.hgetall(self._k("stats")).items()}

    def reset_counts(self) -> None:
        self.client.delete(self._k("stats"))
