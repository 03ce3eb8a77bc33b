"""Shared fixtures: ``app`` (a fresh portal per test), ``client``, ``runner``, ``db``, ``auth``,
``make_user``; markers ``plugins(...)`` and ``config(...)`` shape the app of one test.

Databases: SQLite in the test's temporary folder by default; with TEST_DATABASE_URL set (a
PostgreSQL URL) every test runs against that server instead, on a schema reset per test.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from hypothesis import settings as hypothesis_settings

from app import create_app
from app.auth.passwords import hash_password
from app.extensions import db as _db
from app.models import User

# No per-example deadline (a shared 2-core machine is slow at times), and in CI the same
# examples every run: a property test that finds something new should fail on a developer's
# machine, where it can be looked at, not at random in CI.
hypothesis_settings.register_profile("portal", deadline=None)
hypothesis_settings.register_profile("ci", deadline=None, derandomize=True, database=None)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "portal")

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("TEST_REDIS_URL")
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")  # run the whole suite on this database
PASSWORD = "correct horse battery staple"
CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_PATTERN.search(html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


def _reset_schema() -> None:
    """Drop and recreate every table (PostgreSQL: truncation would keep sequences in step too,
    but dropping keeps tests independent of table order and leftover types)."""
    _db.drop_all()
    _db.create_all()


@contextmanager
def portal(path: Path, **config) -> Iterator[Flask]:
    """A portal on the test database (SQLite under ``path`` unless TEST_DATABASE_URL is set) with
    its tables created, ``config`` over the test defaults; its tables dropped afterwards."""
    application = create_app(
        {
            "PORTAL_ENV": "testing",
            "SECRET_KEY": "test-secret-key-that-is-long-enough-for-production",
            "DATABASE_URL": TEST_DATABASE_URL or f"sqlite:///{path / 'portal.db'}",
            "INSTANCE_PATH": str(path / "instance"),
            "PORTAL_PLUGINS": "",
            "SCHEDULER_ENABLED": False,
            "RATELIMIT_STORAGE_URI": "memory+swept://",
            # The production cost (scrypt n=2**15) on every test user would dominate the suite's
            # time; the same algorithm at a lower cost exercises the same code.
            "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
            **config,
        }
    )
    with application.app_context():
        if TEST_DATABASE_URL:
            _reset_schema()
        else:
            _db.create_all()
    try:
        yield application
    finally:
        performance = application.extensions.get("plugin.performance")
        if performance is not None:  # its flusher thread must not write into the next test's tables
            performance.recorder.close()
        security = application.extensions.get("plugin.security")
        if security is not None:  # the same for the audit writer: drain it, end its thread
            security.audit_writer.close()
        with application.app_context():
            _db.session.remove()
            if TEST_DATABASE_URL:
                _db.drop_all()
            _db.engine.dispose()


def startup_warnings(caplog, logger: str, *configs: dict) -> list[str]:
    """The messages logged at WARNING or above (``logger`` set to WARNING) while a portal is built
    from each of ``configs``."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=logger):
        for config in configs:
            create_app(config)
    return [record.getMessage() for record in caplog.records]


def in_production(config) -> dict:
    return {**config, "PORTAL_ENV": "production", "SESSION_COOKIE_SECURE": True}


@pytest.fixture
def app(request, tmp_path) -> Iterator[Flask]:
    config = {}
    plugins_marker = request.node.get_closest_marker("plugins")
    if plugins_marker is not None:
        config["PORTAL_PLUGINS"] = ",".join(plugins_marker.args)
    for marker in reversed(list(request.node.iter_markers("config"))):
        config.update(marker.kwargs)
    # No app context stays pushed during the test: each client request must get its own, as in
    # production (a shared one would share ``g`` between requests). Use ``with app.app_context()``
    # around direct database work in a test.
    with portal(tmp_path, **config) as application:
        yield application


@pytest.fixture(autouse=True)
def _push_request_context():
    """Replace pytest-flask's fixture of this name: it would keep a request context (and its
    ``g``) pushed across every request of the test."""
    yield


@pytest.fixture
def client(app):
    """A test client that keeps no context pushed after its requests (pytest-flask's does, which
    lets a second client share the first one's ``g`` and signed-in user)."""
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def make_user(app):
    """Create a user; the returned object is detached with its columns loaded."""

    def make(username: str = "alice", password: str = PASSWORD, role: str = "client") -> User:
        with app.app_context():
            user = User(username=username, password_hash=hash_password(password), role=role)
            _db.session.add(user)
            _db.session.commit()
            _db.session.refresh(user)
            _db.session.expunge(user)
            return user

    return make


class AuthActions:
    """Drive sign-in and sign-out through real HTTP requests, CSRF tokens included."""

    def __init__(self, client):
        self.client = client

    def csrf_token(self, path: str = "/auth/login") -> str:
        return csrf_from(self.client.get(path).get_data(as_text=True))

    def login(
        self,
        username: str = "alice",
        password: str = PASSWORD,
        next_url: str | None = None,
        follow_redirects: bool = False,
    ):
        url = "/auth/login" + (f"?next={next_url}" if next_url else "")
        token = self.csrf_token(url)
        return self.client.post(
            url,
            data={"username": username, "password": password, "csrf_token": token},
            follow_redirects=follow_redirects,
        )

    def logout(self):
        token = self.csrf_token("/auth/password")
        return self.client.post("/auth/logout", data={"csrf_token": token})

    def post(self, path: str, data: dict | None = None, page: str | None = None, **kwargs):
        """POST a form to ``path`` with a CSRF token read from ``page`` (default: ``path``)."""
        token = self.csrf_token(page or path)
        return self.client.post(path, data={**(data or {}), "csrf_token": token}, **kwargs)


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("postgres") and not POSTGRES_URL:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set TEST_POSTGRES_URL"))
        if item.get_closest_marker("redis") and not REDIS_URL:
            item.add_marker(pytest.mark.skip(reason="needs Redis: set TEST_REDIS_URL"))
        if item.get_closest_marker("browser") and not os.path.exists(
            os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
        ):
            item.add_marker(pytest.mark.skip(reason="needs Debian's chromium (apt install chromium)"))


@pytest.fixture
def events(app) -> list[dict]:
    """Every security_event the app sends during the test, as keyword dicts."""
    from app.signals import security_event

    received: list[dict] = []

    def receiver(sender, **kwargs):
        user = kwargs.get("user")  # read now: the user object is detached after the request
        kwargs["user_id"] = getattr(user, "id", None)
        kwargs["username"] = getattr(user, "username", None)
        received.append(kwargs)

    security_event.connect(receiver, sender=app)
    yield received
    security_event.disconnect(receiver, sender=app)
