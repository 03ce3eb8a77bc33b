"""The database backend: the seed's cache_entries table, LRU by last access over a byte bound.

It writes on its own connections (``db.engine.begin()``), never on the request's ORM session, so
a cache write cannot commit a view's half-done changes. Before it checks one out, the request's
transaction is ended if it wrote nothing (``app.connection_hold``), so that the thread never holds
one connection while it waits for another; a request that did write keeps its transaction: the
lookup then reads on that same connection, an entry computed during it is stored once it has
committed (never, if it rolls back: the value may rest on its writes), and read counts wait for
the next flush. Reads are recorded in a buffer and
written in one batch at most once a second (last access and access count feed the LRU).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from app.connection_hold import after_commit_released, release_request_connection
from app.database import SQLITE_BUSY_TIMEOUT_MS, upsert_insert
from app.extensions import db
from app.models import utcnow
from plugins.cache.backends import Usage, no_lock, read_then_versions
from plugins.cache.models import CacheEntry, CacheEntryTag, CacheTagVersion

log = logging.getLogger(__name__)
entries, entry_tags, versions = CacheEntry.__table__, CacheEntryTag.__table__, CacheTagVersion.__table__
TOUCH_FLUSH_SECONDS = 1.0
SIZE_RECHECK_SECONDS = 5.0
EVICT_BATCH = 200
OPTIONAL_WRITE_WAIT_MS = 250
T = TypeVar("T")


class WriteSkipped(SQLAlchemyError):
    """An optional cache write not made: the request's own transaction holds its connection."""


def _connect() -> Connection:
    """A connection of the backend's own, the request's read-only transaction ended first."""
    release_request_connection()
    return db.engine.connect()


def _begin():
    release_request_connection()
    return db.engine.begin()


@contextlib.contextmanager
def _optional_write() -> Iterator[Connection]:
    """A transaction for a write the cache can do without (filling an entry, read counts). On
    SQLite it waits OPTIONAL_WRITE_WAIT_MS for the one writer's lock, not the portal's usual
    ten seconds: the lock may be held by this very request's unfinished transaction, which
    cannot end while the request waits. The write then fails fast, counted as a cache error; when
    the request's transaction wrote, it is not tried at all (``set`` puts it off instead)."""
    if not release_request_connection():
        raise WriteSkipped("the request's transaction holds its connection")
    with db.engine.begin() as conn:
        if conn.dialect.name != "sqlite":
            yield conn
            return
        conn.exec_driver_sql(f"PRAGMA busy_timeout={OPTIONAL_WRITE_WAIT_MS}")
        try:
            yield conn
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def _retrying(action: Callable[[], T]) -> T:
    """``action``, tried again after a deadlock on PostgreSQL (an OperationalError). SQLite has
    one writer at a time and already waits for the lock (its busy timeout): one attempt."""
    attempts = 4 if db.engine.dialect.name == "postgresql" else 1
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except OperationalError:
            if attempt == attempts:
                raise
            time.sleep(0.005 * attempt * attempt)
    raise AssertionError("unreachable")


class DatabaseBackend:
    name = "database"

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._touches: dict[str, list] = {}  # key -> [reads, last read time]
        self._touched_at = time.monotonic()
        self._approx_bytes: int | None = None
        self._sized_at = 0.0
        self._evictions = 0
        self._held = threading.local()  # the connection reading() holds for this thread

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Hold one connection, in autocommit, for a lookup's reads (the entry, then its tags'
        versions): each checkout costs a ping, and a transaction a BEGIN and a ROLLBACK, round
        trips that cost more than the reads on PostgreSQL."""
        if getattr(self._held, "connection", None) is not None:
            yield
            return
        if not release_request_connection():  # it wrote: read on its connection, take no other
            self._held.connection = db.session.connection()
            try:
                yield
            finally:
                self._held.connection = None
            return
        try:
            connection = db.engine.connect()
        except SQLAlchemyError:  # the reads check out their own, and fail (and are counted) there
            yield
            return
        with connection:
            self._held.connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            try:
                yield
            finally:
                self._held.connection = None
        self._flush_touches_if_due()  # once the reads' connection is back: never two at once

    @contextlib.contextmanager
    def _reader(self) -> Iterator[Connection]:
        held = getattr(self._held, "connection", None)
        if held is not None:
            yield held
        else:
            with _connect() as connection:
                yield connection.execution_options(isolation_level="AUTOCOMMIT")

    def get(self, key: str) -> bytes | None:
        now = utcnow()
        with self._reader() as conn:
            blob = conn.scalar(
                select(entries.c.value).where(entries.c.key == key, entries.c.expires_at > now)
            )
        if blob is not None:
            with self._lock:
                touch = self._touches.setdefault(key, [0, now])
                touch[0], touch[1] = touch[0] + 1, now
            if getattr(self._held, "connection", None) is None:
                self._flush_touches_if_due()
        return bytes(blob) if blob is not None else None

    def _flush_touches_if_due(self) -> None:
        if time.monotonic() - self._touched_at < TOUCH_FLUSH_SECONDS:
            return
        if not release_request_connection():  # the request wrote: the counts wait for later
            return
        try:
            self.flush_touches(optional=True)
        except SQLAlchemyError as error:  # the hit stands; only its count is lost
            log.warning("cache read counts not written: %s", error)

    def flush_touches(self, optional: bool = False) -> None:
        """Write the buffered reads (last access, access count) in one batch (``optional``: from
        a request, see ``_optional_write``)."""
        with self._lock:
            pending, self._touches = self._touches, {}
            self._touched_at = time.monotonic()
        if not pending:
            return
        statement = (
            update(entries)
            .where(entries.c.key == bindparam("k"))
            .values(last_accessed=bindparam("t"), access_count=entries.c.access_count + bindparam("n"))
        )
        with _optional_write() if optional else _begin() as conn:
            conn.execute(statement, [{"k": k, "t": t, "n": n} for k, (n, t) in pending.items()])

    def get_with_versions(self, key: str, tags: tuple[str, ...]) -> tuple[bytes | None, dict[str, int]]:
        return read_then_versions(self, key, tags)

    def set(self, key: str, blob: bytes, ttl: float, tags: tuple[str, ...]) -> bool:
        if len(blob) > self.max_bytes:
            return False
        if not release_request_connection():  # the request wrote: store after its commit
            after_commit_released(db.session(), lambda: self.set(key, blob, ttl, tags))
            return False
        now = utcnow()
        row = {
            "key": key,
            "value": blob,
            "size": len(blob),
            "expires_at": now + timedelta(seconds=ttl),
            "created_at": now,
            "last_accessed": now,
            "access_count": 0,
            "tags": list(tags),
        }
        try:
            with _optional_write() as conn:
                conn.execute(delete(entry_tags).where(entry_tags.c.key == key))
                conn.execute(delete(entries).where(entries.c.key == key))
                conn.execute(insert(entries), row)
                if tags:
                    conn.execute(insert(entry_tags), [{"tag": tag, "key": key} for tag in tags])
        except IntegrityError:  # another process stored the same key at the same moment
            return False
        self._account(len(blob))
        return True

    def _account(self, added: int) -> None:
        """Evict least recently used entries when the stored bytes pass the bound."""
        stale = time.monotonic() - self._sized_at > SIZE_RECHECK_SECONDS
        if self._approx_bytes is None or stale:
            self._approx_bytes, self._sized_at = self._total_bytes(), time.monotonic()
        else:
            self._approx_bytes += added
        if self._approx_bytes > self.max_bytes:
            self.evict()

    def _total_bytes(self) -> int:
        with _connect() as conn:
            return int(conn.scalar(select(func.coalesce(func.sum(entries.c.size), 0))))

    def evict(self) -> int:
        """Delete the least recently used entries until the stored bytes fit the bound."""
        self.flush_touches()
        excess = self._total_bytes() - self.max_bytes
        victims: list[str] = []
        if excess > 0:
            query = select(entries.c.key, entries.c.size).order_by(entries.c.last_accessed, entries.c.id)
            with _connect() as conn:
                while excess > 0:
                    batch = conn.execute(query.offset(len(victims)).limit(EVICT_BATCH)).all()
                    for key, size in batch:
                        victims.append(key)
                        excess -= size
                        if excess <= 0:
                            break
                    if len(batch) < EVICT_BATCH:
                        break
            self._delete_keys(victims)
            self._evictions += len(victims)
        self._approx_bytes, self._sized_at = self._total_bytes(), time.monotonic()
        return len(victims)

    def _delete_keys(self, keys: list[str]) -> int:
        removed = 0
        with _begin() as conn:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                conn.execute(delete(entry_tags).where(entry_tags.c.key.in_(chunk)))
                removed += conn.execute(delete(entries).where(entries.c.key.in_(chunk))).rowcount
        return removed

    def delete(self, key: str) -> bool:
        return self._delete_keys([key]) > 0

    def tag_versions(self, tags: Iterable[str]) -> dict[str, int]:
        tags = list(tags)
        if not tags:
            return {}
        with self._reader() as conn:
            query = select(versions.c.tag, versions.c.version).where(versions.c.tag.in_(tags))
            found = {tag: version for tag, version in conn.execute(query)}
        return {tag: found.get(tag, 0) for tag in tags}

    def invalidate(self, tags: Iterable[str]) -> int:
        tags = sorted(set(tags))
        if not tags:
            return 0
        # The version bump is what makes the entries unreachable: committed on its own, first,
        # and retried, so that a clash with concurrent writers cannot lose it. Deleting the
        # entries afterwards only frees their space (cleanup and the LRU bound do it otherwise).
        _retrying(lambda: self._bump_versions(tags))
        try:
            return _retrying(lambda: self._delete_keys(self._tagged_keys(tags)))
        except SQLAlchemyError as error:
            log.warning("cache entries of invalidated tags left for cleanup: %s", error)
            return 0

    @staticmethod
    def _bump_versions(tags: list[str]) -> None:
        """Add one to each tag's version (creating it at 1) in one statement, tags in order: two
        invalidations take the rows' locks in the same order, and none can miss the other's row."""
        with _begin() as conn:
            statement = upsert_insert(conn)(versions).values([{"tag": tag, "version": 1} for tag in tags])
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["tag"], set_={"version": versions.c.version + 1}
                )
            )

    @staticmethod
    def _tagged_keys(tags: list[str]) -> list[str]:
        with _connect() as conn:
            return list(conn.scalars(select(entry_tags.c.key).where(entry_tags.c.tag.in_(tags)).distinct()))

    def clear(self) -> int:
        with _begin() as conn:
            conn.execute(update(versions).values(version=versions.c.version + 1))
            conn.execute(delete(entry_tags))
            return conn.execute(delete(entries)).rowcount

    def cleanup(self) -> int:
        """Delete expired entries, write buffered reads, and enforce the byte bound."""
        self.flush_touches()
        expired = select(entries.c.key).where(entries.c.expires_at <= utcnow())
        with _begin() as conn:
            conn.execute(delete(entry_tags).where(entry_tags.c.key.in_(expired.scalar_subquery())))
            removed = conn.execute(delete(entries).where(entries.c.key.in_(expired))).rowcount
        self.evict()
        return removed

    def usage(self) -> Usage:
        live = entries.c.expires_at > utcnow()
        with _connect() as conn:
            count, size = conn.execute(
                select(func.count(), func.coalesce(func.sum(entries.c.size), 0)).where(live)
            ).one()
        return Usage(int(count), int(size), self._evictions, self.max_bytes)

    def entries_by_tag(self) -> dict[str, int]:
        query = select(entry_tags.c.tag, func.count()).group_by(entry_tags.c.tag).order_by(entry_tags.c.tag)
        with _connect() as conn:
            return {tag: int(count) for tag, count in conn.execute(query)}

    def lock(self, key: str):
        return no_lock()
