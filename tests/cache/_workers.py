"""Code run in separate processes by the Redis tests (spawned: importable, no shared state)."""

from __future__ import annotations

import time

import redis

from plugins.cache.backends.redis_store import RedisBackend
from plugins.cache.codec import Codec
from plugins.cache.service import CacheService


def make_service(url: str, prefix: str, lock_timeout: float = 5.0) -> CacheService:
    return CacheService(RedisBackend(url, prefix=prefix, lock_timeout=lock_timeout), Codec(), default_ttl=60)


def compute_once(url: str, prefix: str, barrier, results) -> None:
    """Ask for one key at the same moment as the other processes; count real computations."""
    service = make_service(url, prefix)
    counter = redis.Redis.from_url(url)

    def slow_query():
        counter.incr(prefix + "computations")
        time.sleep(0.3)  # every other process asks while this runs
        return {"plans": [1, 2, 3]}

    barrier.wait()
    results.put(service.get_or_set("search:FL", slow_query, tags=("plans",)))


def serve_commands(url: str, prefix: str, connection) -> None:
    """Run cache commands sent over ``connection`` until "stop"; answer each one."""
    service = make_service(url, prefix)
    while True:
        command, *args = connection.recv()
        if command == "stop":
            connection.send(None)
            return
        if command == "set":
            key, value, tags = args
            connection.send(service.set(key, value, tags=tags))
        elif command == "get":
            connection.send(service.get(args[0], "MISSING"))
        elif command == "invalidate":
            connection.send(service.delete_by_tags(args[0]))
