"""Fixtures of the cache tests: services over each backend, a Redis of our own (DB 5, a fresh key
prefix per test) and a test-only plugin with flask-caching views."""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest
from flask import Blueprint
from flask_login import current_user

from app.access import public
from app.extensions import cache as flask_cache
from app.plugin import Plugin
from plugins.cache.backends.memory import MemoryBackend
from plugins.cache.codec import Codec
from plugins.cache.service import CacheService

REDIS_DB = 5  # the cache tests' own Redis database, apart from other suites


def cache_redis_url() -> str | None:
    raw = os.environ.get("TEST_REDIS_URL")
    if not raw:
        return None
    parts = urlsplit(raw)
    return urlunsplit(parts._replace(path=f"/{REDIS_DB}"))


class FakeClock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def memory_service(clock) -> CacheService:
    return CacheService(MemoryBackend(10 * 1024 * 1024, clock=clock), Codec(), default_ttl=60)


@pytest.fixture
def redis_prefix():
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"test:cache:{uuid.uuid4().hex[:12]}:"
    yield prefix
    import redis

    client = redis.Redis.from_url(cache_redis_url())
    names = list(client.scan_iter(match=prefix + "*", count=1000))
    if names:
        client.unlink(*names)
    client.close()


@pytest.fixture
def redis_service(redis_prefix) -> CacheService:
    from plugins.cache.backends.redis_store import RedisBackend

    backend = RedisBackend(cache_redis_url(), prefix=redis_prefix, lock_timeout=5)
    return CacheService(backend, Codec(), default_ttl=60)


# --- a plugin with cached views, enabled next to "cache" with PORTAL_EXTRA_PLUGINS ----------

demo_bp = Blueprint("cachedemo", __name__, url_prefix="/cachedemo")
CALLS: dict[str, int] = {}


def _called(name: str) -> None:
    CALLS[name] = CALLS.get(name, 0) + 1


@demo_bp.get("/mine")
@flask_cache.cached(timeout=60)
def mine():
    _called("mine")
    return f"<p>private page of {current_user.username}</p>"


@demo_bp.get("/open")
@public
@flask_cache.cached(timeout=60)
def open_page():
    _called("open")
    return "<p>the same for everyone</p>"


@flask_cache.memoize(timeout=60)
def square(number: int) -> int:
    _called("square")
    return number * number


@demo_bp.get("/square/<int:number>")
@public
def square_view(number: int):
    return str(square(number))


demo_plugin = Plugin(name="cachedemo", blueprints=(demo_bp,))
DEMO_CONFIG = {"PORTAL_EXTRA_PLUGINS": (demo_plugin,)}


@pytest.fixture(autouse=True)
def _reset_calls():
    CALLS.clear()


@pytest.fixture
def quick_user(app):
    """Like ``make_user`` with a one-round hash: these tests sign in often and test no password."""
    from werkzeug.security import generate_password_hash

    from app.extensions import db
    from app.models import User
    from tests.conftest import PASSWORD

    def make(username: str = "alice", role: str = "client") -> User:
        with app.app_context():
            user = User(
                username=username,
                password_hash=generate_password_hash(PASSWORD, "pbkdf2:sha256:1"),
                role=role,
            )
            db.session.add(user)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
            return user

    return make
