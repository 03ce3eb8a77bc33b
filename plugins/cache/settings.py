"""The cache plugin's settings (the seed's names where it has them) and the backend they build."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy.engine import make_url

from app.config import ConfigError, Setting, as_bool, as_choice, as_int, as_optional_str, as_redis_url
from plugins.cache.backends import Backend
from plugins.cache.codec import Codec
from plugins.cache.service import CacheService

BACKENDS = ("memory", "redis", "database")


def as_megabytes(value: Any) -> float:
    """A positive size in megabytes (fractions allowed, e.g. 0.5)."""
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ValueError(f"expected a number of megabytes, got {value!r}") from None
    if not 0 < number <= 1024 * 1024 or number != number:
        raise ValueError(f"must be a positive number of megabytes, got {value!r}")
    return number


SETTINGS = (
    Setting("CACHE_BACKEND", "memory", as_choice(*BACKENDS), "memory, redis or database"),
    Setting("CACHE_TTL_MS", 300_000, as_int(1), "default time to live of an entry, in milliseconds"),
    Setting("CACHE_MAX_SIZE_MB", 100, as_megabytes, "memory/database bound on stored bytes (LRU)"),
    Setting("CACHE_COMPRESS_MIN_BYTES", 1024, as_int(0), "compress values from this size (zlib)"),
    Setting(
        "CACHE_ALLOW_PICKLE", False, as_bool, "let values JSON cannot hold be pickled (trusted store only)"
    ),
    Setting("CACHE_REDIS_URL", None, as_redis_url, "Redis for the cache; default REDIS_URL"),
    Setting("CACHE_KEY_PREFIX", "portal:cache:", as_optional_str, "namespace of the cache's Redis keys"),
    Setting("CACHE_LOCK_TIMEOUT_MS", 10_000, as_int(100, 600_000), "stampede lock timeout (Redis)"),
)


def in_memory_sqlite(url: str | None) -> bool:
    if not url or not url.startswith("sqlite"):
        return False
    parsed = make_url(url)
    return parsed.database in (None, "", ":memory:") or parsed.query.get("mode") == "memory"


def build_backend(config: dict[str, Any]) -> Backend:
    """The backend CACHE_BACKEND names; ConfigError when its settings are missing."""
    max_bytes = int(config["CACHE_MAX_SIZE_MB"] * 1024 * 1024)
    name = config["CACHE_BACKEND"]
    if name == "redis":
        url = config.get("CACHE_REDIS_URL") or config.get("REDIS_URL")
        if not url:
            raise ConfigError("CACHE_BACKEND: the redis backend needs REDIS_URL (or CACHE_REDIS_URL)")
        from plugins.cache.backends.redis_store import RedisBackend

        prefix = config["CACHE_KEY_PREFIX"] or "portal:cache:"
        return RedisBackend(url, prefix=prefix, lock_timeout=config["CACHE_LOCK_TIMEOUT_MS"] / 1000)
    if name == "database":
        if in_memory_sqlite(config.get("SQLALCHEMY_DATABASE_URI")):
            raise ConfigError(
                "CACHE_BACKEND: the database backend needs a database file or PostgreSQL; an in-memory "
                "SQLite database has one connection, shared with requests, so the cache's commits would "
                "commit their unfinished work. Use CACHE_BACKEND=memory."
            )
        from plugins.cache.backends.database import DatabaseBackend

        return DatabaseBackend(max_bytes)
    from plugins.cache.backends.memory import MemoryBackend

    return MemoryBackend(max_bytes)


def build_service(app: Flask) -> CacheService:
    config = app.config
    codec = Codec(config["CACHE_COMPRESS_MIN_BYTES"], allow_pickle=config["CACHE_ALLOW_PICKLE"])
    return CacheService(build_backend(config), codec, default_ttl=config["CACHE_TTL_MS"] / 1000)
