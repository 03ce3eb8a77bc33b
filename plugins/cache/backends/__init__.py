"""Storage backends of the cache: memory (per process), redis (shared), database (cache_entries).

Each stores opaque blobs (see ``plugins.cache.codec``) under a key with a TTL and tags, keeps one
version number per tag (bumped by an invalidation, so an entry computed before it is never served
after it), and reports its usage. The service above adds serialization, locking and stats.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Usage:
    entries: int
    bytes: int
    evictions: int
    max_bytes: int | None  # None: the store's own policy bounds it (Redis maxmemory)
    estimated: bool = False  # entries and bytes from a sample (a large Redis index)


class Backend(Protocol):
    name: str

    def get(self, key: str) -> bytes | None: ...
    def get_with_versions(self, key: str, tags: tuple[str, ...]) -> tuple[bytes | None, dict[str, int]]: ...
    def set(self, key: str, blob: bytes, ttl: float, tags: tuple[str, ...]) -> bool: ...
    def delete(self, key: str) -> bool: ...
    def tag_versions(self, tags: Iterable[str]) -> dict[str, int]: ...
    def invalidate(self, tags: Iterable[str]) -> int: ...
    def clear(self) -> int: ...
    def cleanup(self) -> int: ...
    def usage(self) -> Usage: ...
    def entries_by_tag(self) -> dict[str, int]: ...
    def lock(self, key: str) -> contextlib.AbstractContextManager: ...
    def reading(self) -> contextlib.AbstractContextManager: ...


@contextlib.contextmanager
def no_lock() -> Iterator[None]:
    """The cross-process lock of a backend that lives in one process (threads lock in the service)."""
    yield


def read_then_versions(
    backend: Backend, key: str, tags: tuple[str, ...]
) -> tuple[bytes | None, dict[str, int]]:
    """``get_with_versions`` as two reads: the entry, then (if found) the versions of ``tags``."""
    blob = backend.get(key)
    return blob, (backend.tag_versions(tags) if blob is not None and tags else {})


def one_by_one() -> contextlib.AbstractContextManager:
    """``reading()`` of a backend whose reads need nothing held between them."""
    return contextlib.nullcontext()
