"""Locks that let exactly one process in a deployment run the scheduled jobs.

file: an flock on a file in instance/ (one host, the embedded mode);
postgres: a session-level advisory lock on a dedicated connection;
redis: a redis-py Lock with a TTL, renewed while held (a dead runner's lock expires).

How soon a standby takes over, in renewal periods (the runner's poll): one period after a clean
stop (the lock is released); after a crash, one period for the file lock (the kernel drops the
flock with the process), one for PostgreSQL when the process dies (the server sees the socket
close; a vanished host within the keepalive probes set below), and TTL_PERIODS + 1 for Redis.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

from flask import Flask

log = logging.getLogger(__name__)

LOCK_NAME = "portal:scheduler-runner"
ADVISORY_LOCK_KEY = 0x504F5254  # "PORT": any constant shared by every runner of this portal
RENEW_SECONDS = 2.0  # the runner's default period between two looks at the lock
# The Redis lock's TTL in renewal periods: the holder can miss TTL_PERIODS - 1 renewals in a row
# (a slow Redis, a pause) before a standby may take the lock from a runner still alive.
TTL_PERIODS = 5
# PostgreSQL keeps a session's advisory lock until it notices the connection is dead; a host
# that vanished (no FIN) is noticed after idle + interval x count seconds of keepalive probes.
KEEPALIVE_SETTINGS = {"tcp_keepalives_idle": 5, "tcp_keepalives_interval": 2, "tcp_keepalives_count": 3}


class FileRunnerLock:
    def __init__(self, path: str):
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return True

    def still_held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class PostgresRunnerLock:
    def __init__(self, url: str):
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        self._engine = create_engine(url, poolclass=NullPool)
        self._conn = None

    def acquire(self) -> bool:
        from sqlalchemy import text

        conn = self._engine.connect()
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY}).scalar()
        if got:
            for name, value in KEEPALIVE_SETTINGS.items():  # settable by any role, per session
                conn.execute(
                    text("SELECT set_config(:name, :value, false)"), {"name": name, "value": str(value)}
                )
        conn.commit()
        if got:
            self._conn = conn
            return True
        conn.close()
        return False

    def still_held(self) -> bool:
        from sqlalchemy import text

        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
            self._conn.commit()
            return True
        except Exception:  # the connection died, and the lock with it
            self._conn = None
            return False

    def release(self) -> None:
        from sqlalchemy import text

        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
                self._conn.commit()
            finally:
                self._conn.close()
                self._conn = None
        self._engine.dispose()


class RedisRunnerLock:
    def __init__(self, url: str, ttl_seconds: float):
        import redis

        self._client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        self._lock = self._client.lock(LOCK_NAME, timeout=ttl_seconds, thread_local=False)
        self._held = False

    def acquire(self) -> bool:
        try:
            self._held = bool(self._lock.acquire(blocking=False))
        except Exception:
            log.warning("Redis unreachable; scheduler lock not acquired")
            self._held = False
        return self._held

    def still_held(self) -> bool:
        if not self._held:
            return False
        try:
            self._lock.reacquire()  # renew the TTL; fails if another runner took it over
        except Exception:
            self._held = False
        return self._held

    def release(self) -> None:
        if self._held:
            try:
                self._lock.release()
            except Exception:
                log.warning("could not release the scheduler lock (it may have expired)")
            self._held = False


def make_runner_lock(app: Flask, renew_seconds: float = RENEW_SECONDS):
    """The lock SCHEDULER_LOCK asks for ('auto': Redis, else PostgreSQL, else a file), for a
    runner that renews it every ``renew_seconds``."""
    kind = app.config["SCHEDULER_LOCK"]
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if kind == "auto":
        if app.config.get("REDIS_URL"):
            kind = "redis"
        elif url.startswith("postgresql"):
            kind = "postgres"
        else:
            kind = "file"
    if kind == "redis":
        return RedisRunnerLock(app.config["REDIS_URL"], ttl_seconds=TTL_PERIODS * renew_seconds)
    if kind == "postgres":
        return PostgresRunnerLock(url)
    path = app.config.get("SCHEDULER_LOCK_FILE") or os.path.join(app.instance_path, "scheduler.lock")
    return FileRunnerLock(path)
