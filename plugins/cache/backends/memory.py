"""The per-process backend: an LRU bounded by the bytes of the stored blobs, thread-safe."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from threading import Lock

from plugins.cache.backends import Usage, no_lock, one_by_one, read_then_versions


@dataclass
class _Entry:
    blob: bytes
    expires_at: float  # time.monotonic() deadline
    tags: tuple[str, ...]


class MemoryBackend:
    """LRU over an OrderedDict (oldest first) with a tag -> keys index for invalidation."""

    name = "memory"

    def __init__(self, max_bytes: int, clock=time.monotonic):
        self.max_bytes = max_bytes
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._by_tag: dict[str, set[str]] = {}
        self._versions: dict[str, int] = {}
        self._bytes = 0
        self._evictions = 0
        self._lock = Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.expires_at <= self._clock():
                self._remove(key)
                return None
            self._entries.move_to_end(key)
            return entry.blob

    def get_with_versions(self, key: str, tags: tuple[str, ...]) -> tuple[bytes | None, dict[str, int]]:
        return read_then_versions(self, key, tags)

    def set(self, key: str, blob: bytes, ttl: float, tags: tuple[str, ...]) -> bool:
        size = len(blob)
        if size > self.max_bytes:  # one value larger than the whole cache is not kept
            return False
        with self._lock:
            if key in self._entries:
                self._remove(key)
            while self._bytes + size > self.max_bytes and self._entries:
                oldest = next(iter(self._entries))
                self._remove(oldest)
                self._evictions += 1
            self._entries[key] = _Entry(blob, self._clock() + ttl, tags)
            self._bytes += size
            for tag in tags:
                self._by_tag.setdefault(tag, set()).add(key)
            return True

    def delete(self, key: str) -> bool:
        with self._lock:
            return self._remove(key)

    def _remove(self, key: str) -> bool:
        """Drop ``key`` and its index entries (the caller holds the lock)."""
        entry = self._entries.pop(key, None)
        if entry is None:
            return False
        self._bytes -= len(entry.blob)
        for tag in entry.tags:
            keys = self._by_tag.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_tag[tag]
        return True

    def tag_versions(self, tags: Iterable[str]) -> dict[str, int]:
        versions = self._versions
        return {tag: versions.get(tag, 0) for tag in tags}

    def invalidate(self, tags: Iterable[str]) -> int:
        removed = 0
        with self._lock:
            for tag in tags:
                self._versions[tag] = self._versions.get(tag, 0) + 1
                for key in list(self._by_tag.get(tag, ())):
                    removed += self._remove(key)
        return removed

    def clear(self) -> int:
        with self._lock:
            count = len(self._entries)
            self._entries.clear()
            self._by_tag.clear()
            self._bytes = 0
            # Versions move on too, so a computation that started before the clear is not kept.
            for tag in self._versions:
                self._versions[tag] += 1
            return count

    def cleanup(self) -> int:
        now = self._clock()
        with self._lock:
            expired = [key for key, entry in self._entries.items() if entry.expires_at <= now]
            for key in expired:
                self._remove(key)
        return len(expired)

    def usage(self) -> Usage:
        with self._lock:
            return Usage(len(self._entries), self._bytes, self._evictions, self.max_bytes)

    def entries_by_tag(self) -> dict[str, int]:
        with self._lock:
            return {tag: len(keys) for tag, keys in self._by_tag.items()}

    def lock(self, key: str):
        return no_lock()

    def reading(self):
        return one_by_one()
