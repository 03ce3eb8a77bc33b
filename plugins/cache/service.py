"""The cache service: the seed's API (set, get, get_or_set, delete, delete_by_tags, clear, cleanup,
stats) over one backend, with stampede protection and hit/miss accounting.

A cache must never break the portal: a failing backend (Redis down, a locked table) is logged and
counted, and the call behaves as a miss (the value is computed) or a no-op.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from plugins.cache.backends import Backend
from plugins.cache.codec import Codec, CodecError

log = logging.getLogger(__name__)
MAX_KEY_LENGTH = 200
MAX_TAG_LENGTH = 100
SAMPLE_SECONDS = 30.0  # one hit-ratio sample per interval for the admin chart
SAMPLES_KEPT = 120
SHARED_FLUSH_SECONDS = 1.0
_MISSING = object()
# Decoded values kept per key beside the blob they came from: a hit on an unchanged blob skips
# decompressing and parsing it again (a cached API answer is a few kilobytes of zlib'd JSON).
# Only immutable values are kept (each caller may change what it gets), and only while the
# backend still answers with the same bytes: a new entry, an invalidation or an expiry gives
# other bytes or none, and the kept value is not used.
DECODED_KEPT = 256
DECODED_MAX_BLOB = 64 * 1024
IMMUTABLE = (str, bytes, int, float, bool, type(None))


def normalize_key(key: str) -> str:
    """``key`` as stored: long keys keep a readable head and a digest of the whole."""
    if not isinstance(key, str) or not key:
        raise ValueError("a cache key must be a non-empty string")
    if len(key) <= MAX_KEY_LENGTH:
        return key
    return f"{key[:100]}#{hashlib.sha256(key.encode()).hexdigest()}"


def normalize_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """``tags`` deduplicated in order; ValueError for an empty, long or non-string tag."""
    if isinstance(tags, str):
        tags = (tags,)
    clean: list[str] = []
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip() or len(tag) > MAX_TAG_LENGTH:
            raise ValueError(f"a tag must be a non-empty string of at most {MAX_TAG_LENGTH} characters")
        if tag not in clean:
            clean.append(tag)
    return tuple(clean)


class CacheService:
    """A tagged cache over ``backend``; TTLs in seconds (``default_ttl`` from CACHE_TTL_MS)."""

    def __init__(self, backend: Backend, codec: Codec, default_ttl: float):
        self.backend = backend
        self.codec = codec
        self.default_ttl = default_ttl
        self.shared = hasattr(backend, "add_counts")  # Redis: counters and locks across processes
        self._counts = {"hits": 0, "misses": 0, "bytes_saved": 0, "errors": 0}
        self._pending = dict.fromkeys(("hits", "misses", "bytes_saved"), 0)
        self._flushed_at = time.monotonic()
        self._counts_lock = threading.Lock()
        self._key_locks: dict[str, list] = {}  # key -> [Lock, waiters]
        self._key_locks_guard = threading.Lock()
        # (wall time, hits, misses) so far; the first sample is the start, so that the chart's
        # first interval covers the lookups before the first sampling moment.
        self.samples: deque[tuple[float, int, int]] = deque([(time.time(), 0, 0)], maxlen=SAMPLES_KEPT)
        self._sampled_at = time.monotonic()
        self._decoded: dict[str, tuple[bytes, Any]] = {}

    # --- accounting ------------------------------------------------------------------------

    def _count(self, name: str, amount: int = 1) -> None:
        with self._counts_lock:
            self._counts[name] += amount
            if name in self._pending:
                self._pending[name] += amount
            now = time.monotonic()
            flush = self.shared and now - self._flushed_at >= SHARED_FLUSH_SECONDS
            sample = now - self._sampled_at >= SAMPLE_SECONDS
            if sample:
                self._sampled_at = now
                self.samples.append((time.time(), self._counts["hits"], self._counts["misses"]))
        if flush:
            self._flush_counts()

    def _flush_counts(self) -> None:
        with self._counts_lock:
            pending = self._pending
            self._pending = dict.fromkeys(pending, 0)
            self._flushed_at = time.monotonic()
        if any(pending.values()):
            with self._guard("flush counts"):
                self.backend.add_counts(pending)

    @contextlib.contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Log and count a backend failure instead of raising it."""
        try:
            yield
        except Exception as error:  # any backend failure degrades to "no cache", never a 500
            with self._counts_lock:
                self._counts["errors"] += 1
            log.warning("cache %s failed on the %s backend: %s", action, self.backend.name, error)

    # --- the API ---------------------------------------------------------------------------

    def _lookup(self, key: str, tags: tuple[str, ...] = ()) -> Any:
        """The cached value of a normalized key, or _MISSING (stale tags count as missing).

        ``tags``, the ones the caller expects the entry to carry, are read with the entry (one
        round trip on Redis); versions of any other tag it carries are read after it."""
        with self.backend.reading():
            blob, known = None, {}
            with self._guard("get"):
                blob, known = self.backend.get_with_versions(key, tags)
            if blob is None:
                return _MISSING
            try:
                stored_versions = self.codec.versions(blob)
                if stored_versions:
                    others = [tag for tag in stored_versions if tag not in known]
                    current = _MISSING
                    with self._guard("get tag versions"):
                        current = {**known, **self.backend.tag_versions(others)} if others else known
                    if current is _MISSING or any(current[tag] != v for tag, v in stored_versions.items()):
                        return _MISSING
            except (CodecError, ValueError) as error:
                return self._drop_unreadable(key, error)
        known = self._decoded.get(key)
        if known is not None and (known[0] is blob or known[0] == blob):
            return known[1]
        try:
            value = self.codec.decode(blob)
        except (CodecError, ValueError) as error:
            return self._drop_unreadable(key, error)
        if isinstance(value, IMMUTABLE) and len(blob) <= DECODED_MAX_BLOB:
            if len(self._decoded) >= DECODED_KEPT:
                self._decoded.clear()
            self._decoded[key] = (blob, value)
        return value

    def _drop_unreadable(self, key: str, error: Exception) -> Any:
        log.warning("dropping unreadable cache entry %r: %s", key, error)
        with self._guard("delete"):
            self.backend.delete(key)
        return _MISSING

    def get(self, key: str, default: Any = None) -> Any:
        """The cached value for ``key``, or ``default``."""
        value = self._lookup(normalize_key(key))
        self._count("misses" if value is _MISSING else "hits")
        return default if value is _MISSING else value

    def contains(self, key: str) -> bool:
        """Whether ``key`` holds a live entry (not counted as a hit or a miss)."""
        return self._lookup(normalize_key(key)) is not _MISSING

    def _ttl(self, ttl: float | None) -> float:
        if ttl is None:
            return self.default_ttl
        if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not ttl > 0:
            raise ValueError("ttl must be a positive number of seconds")
        return float(ttl)

    def set(self, key: str, value: Any, ttl: float | None = None, tags: Iterable[str] = ()) -> bool:
        """Store ``value`` under ``key`` for ``ttl`` seconds with ``tags``; False if not stored."""
        key, tags, ttl = normalize_key(key), normalize_tags(tags), self._ttl(ttl)
        versions = None
        with self._guard("get tag versions"):
            versions = self.backend.tag_versions(tags)
        return versions is not None and self._store(key, value, ttl, tags, versions)

    def _store(self, key: str, value: Any, ttl: float, tags: tuple[str, ...], versions: dict) -> bool:
        try:
            encoded = self.codec.encode(value, versions)
        except CodecError as error:  # a value JSON cannot hold, without CACHE_ALLOW_PICKLE
            log.warning("value for %r not cached: %s", key, error)
            return False
        stored = False
        with self._guard("set"):
            stored = self.backend.set(key, encoded.blob, ttl, tags)
        if stored and encoded.saved:
            self._count("bytes_saved", encoded.saved)
        return stored

    @contextlib.contextmanager
    def _key_lock(self, key: str) -> Iterator[None]:
        """One thread per key at a time in this process; the lock is dropped when unused."""
        with self._key_locks_guard:
            slot = self._key_locks.setdefault(key, [threading.Lock(), 0])
            slot[1] += 1
        try:
            with slot[0]:
                yield
        finally:
            with self._key_locks_guard:
                slot[1] -= 1
                if not slot[1]:
                    self._key_locks.pop(key, None)

    def get_or_set(
        self, key: str, compute: Callable[[], Any], ttl: float | None = None, tags: Iterable[str] = ()
    ) -> Any:
        """The cached value for ``key``; on a miss compute it once (per key, across threads and,
        with Redis, across processes) and store it with ``tags``."""
        key, tags, ttl = normalize_key(key), normalize_tags(tags), self._ttl(ttl)
        value = self._lookup(key, tags)
        if value is _MISSING:
            with self._key_lock(key):
                value = self._lookup(key, tags)
                if value is _MISSING:
                    value, computed = self._compute_shared(key, compute, ttl, tags)
                    if computed:
                        return value
        self._count("hits")
        return value

    def _compute_shared(
        self, key: str, compute: Callable[[], Any], ttl: float, tags: tuple[str, ...]
    ) -> tuple[Any, bool]:
        """Compute under the backend's cross-process lock: (value, whether computed here)."""
        held = None
        with self._guard("lock"):
            lock = self.backend.lock(key)
            lock.__enter__()
            held = lock
        try:
            if self.shared:  # another process may have stored it while this one waited
                value = self._lookup(key, tags)
                if value is not _MISSING:
                    return value, False
            versions = None  # read before computing: an invalidation during it wins
            with self._guard("get tag versions"):
                versions = self.backend.tag_versions(tags)
            self._count("misses")
            value = compute()
            if versions is not None:
                self._store(key, value, ttl, tags, versions)
            return value, True
        finally:
            if held is not None:
                with self._guard("unlock"):
                    held.__exit__(None, None, None)

    def delete(self, key: str) -> bool:
        """Remove ``key``; whether it was there."""
        with self._guard("delete"):
            return bool(self.backend.delete(normalize_key(key)))
        return False

    def delete_by_tags(self, tags: Iterable[str]) -> int:
        """Invalidate every entry carrying any of ``tags``; the number of entries removed."""
        tags = normalize_tags(tags)
        with self._guard("invalidate"):
            return int(self.backend.invalidate(tags))
        return 0

    def clear(self) -> int:
        """Remove every entry; the number removed."""
        with self._guard("clear"):
            return int(self.backend.clear())
        return 0

    def cleanup(self) -> int:
        """Remove expired entries (and enforce the size bound); the number removed."""
        with self._guard("cleanup"):
            return int(self.backend.cleanup())
        return 0

    def entries_by_tag(self) -> dict[str, int]:
        with self._guard("entries by tag"):
            return dict(sorted(self.backend.entries_by_tag().items()))
        return {}

    def stats(self) -> dict[str, Any]:
        """Hits, misses, ratio, entries, bytes, evictions and bytes saved by compression."""
        with self._counts_lock:
            counts = dict(self._counts)
        if self.shared:
            self._flush_counts()
            with self._guard("read counts"):
                shared = self.backend.counts()
                counts.update({name: shared.get(name, 0) for name in ("hits", "misses", "bytes_saved")})
        usage = None
        with self._guard("usage"):
            usage = self.backend.usage()
        lookups = counts["hits"] + counts["misses"]
        return {
            "backend": self.backend.name,
            "hits": counts["hits"],
            "misses": counts["misses"],
            "ratio": round(counts["hits"] / lookups, 4) if lookups else 0.0,
            "entries": usage.entries if usage else 0,
            "bytes": usage.bytes if usage else 0,
            "max_bytes": usage.max_bytes if usage else None,
            "evictions": usage.evictions if usage else 0,
            "estimated": usage.estimated if usage else False,
            "bytes_saved": counts["bytes_saved"],
            "errors": counts["errors"],
            "default_ttl_seconds": self.default_ttl,
        }

    def ratio_series(self) -> list[tuple[float, float | None]]:
        """(time, hit ratio over the interval ending then) for each sample, oldest first."""
        with self._counts_lock:
            points = [*self.samples, (time.time(), self._counts["hits"], self._counts["misses"])]
        series = []
        for (_, h0, m0), (t1, h1, m1) in zip(points, points[1:], strict=False):
            lookups = (h1 - h0) + (m1 - m0)
            series.append((t1, (h1 - h0) / lookups if lookups else None))
        return series
