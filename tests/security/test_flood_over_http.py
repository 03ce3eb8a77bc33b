"""The anonymous flood and the replayed cookie over real HTTP: gunicorn, two workers with four
threads each, the client addresses told apart by a trusted proxy's X-Forwarded-For."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests

from app import create_app
from app.auth.passwords import hash_password
from app.extensions import db
from app.models import User
from tests.conftest import PASSWORD, REDIS_URL, csrf_from
from tests.support.servers import gunicorn

pytestmark = pytest.mark.slow
PROBER, OFFICE = "203.0.113.66", "192.0.2.50"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"


def _portal(tmp_path, redis_url: str | None = None) -> tuple[dict, str]:
    database = tmp_path / "portal.db"
    app = create_app(
        {
            "PORTAL_ENV": "testing",
            "DATABASE_URL": f"sqlite:///{database}",
            "INSTANCE_PATH": str(tmp_path / "i"),
            "PORTAL_PLUGINS": "security",
        }
    )
    with app.app_context():
        db.create_all()
        db.session.add(User(username="alice", password_hash=hash_password(PASSWORD), role="client"))
        db.session.commit()
    env = {
        "DATABASE_URL": f"sqlite:///{database}",
        "PORTAL_INSTANCE_PATH": str(tmp_path / "i"),
        "PORTAL_PLUGINS": "security",
        "SCHEDULER_ENABLED": "false",
        "SECRET_KEY": "gunicorn-test-secret-key-long-enough-for-anything",
        "TRUSTED_PROXY_COUNT": "1",
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env, str(database)


def _rows(database: str) -> int:
    with sqlite3.connect(database) as conn:
        return conn.execute("SELECT count(*) FROM security_events").fetchone()[0]


def _sign_in(base: str, ip: str) -> requests.Session:
    browser = requests.Session()
    browser.headers.update({"User-Agent": BROWSER, "X-Forwarded-For": ip})
    token = csrf_from(browser.get(base + "/auth/login", timeout=30).text)
    form = {"username": "alice", "password": PASSWORD, "csrf_token": token}
    assert browser.post(base + "/auth/login", data=form, timeout=30, allow_redirects=False).status_code == 302
    return browser


def _probe(base: str, number: int) -> int:
    headers = {"X-Forwarded-For": PROBER}
    kind = number % 3
    if kind == 0:
        # requests would resolve the dots; a scanner sends them as they are
        url = requests.Request("GET", base + f"/files/{number}/%2e%2e/%2e%2e/etc/passwd").prepare().url
        return requests.get(url, headers=headers, timeout=30, allow_redirects=False).status_code
    if kind == 1:
        url = base + f"/?id=1' UNION SELECT password FROM users--&n={number}"
        return requests.get(url, headers=headers, timeout=30, allow_redirects=False).status_code
    form = {"username": f"u{number}", "password": "x"}
    return requests.post(base + "/auth/login", data=form, headers=headers, timeout=30).status_code


def test_three_hundred_probes_over_http(tmp_path):
    env, database = _portal(tmp_path)
    with gunicorn(env, workers=2, threads=4) as base:
        before = _rows(database)
        with ThreadPoolExecutor(max_workers=6) as pool:
            codes = list(pool.map(lambda n: _probe(base, n), range(300)))
        written = _rows(database) - before
        assert 500 not in codes
        assert written <= 100, written
        assert sum(code in (403, 429) for code in codes) >= 100, codes
        office = _sign_in(base, OFFICE)
        assert [office.get(base + "/", timeout=30).status_code for _ in range(5)] == [200] * 5


@pytest.mark.parametrize("shared", [False, pytest.param(True, marks=pytest.mark.redis)])
def test_a_replayed_cookie_over_http_is_reported_once_per_worker_or_once_with_redis(tmp_path, shared):
    if shared:
        redis.Redis.from_url(REDIS_URL).flushdb()
    env, database = _portal(tmp_path, REDIS_URL if shared else None)
    with gunicorn(env, workers=2, threads=4) as base:
        cookies = _sign_in(base, OFFICE).cookies
        cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
        before = _rows(database)
        headers = {"Cookie": cookie, "User-Agent": "curl/8.5.0", "X-Forwarded-For": OFFICE}
        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(
                pool.map(
                    lambda _: requests.get(base + "/", headers=headers, timeout=30).status_code, range(100)
                )
            )
        assert codes == [200] * 100
        written = _rows(database) - before
        assert written == 1 if shared else 1 <= written <= 2
    if shared:
        redis.Redis.from_url(REDIS_URL).flushdb()
