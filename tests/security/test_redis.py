"""Shared Redis storage: a limit of N admits exactly N across gunicorn workers; when Redis is
unreachable (a closed port, or a Redis the test stops) the portal keeps serving on memory."""

from __future__ import annotations

import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests

from app import create_app
from app.extensions import db
from tests.conftest import REDIS_URL
from tests.support.servers import free_port, gunicorn

LIMITED = "api.openapi=50 per hour"


def _app(tmp_path, storage: str):
    app = create_app(
        {
            "PORTAL_ENV": "testing",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.db'}",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "PORTAL_PLUGINS": "security",
            "SCHEDULER_ENABLED": False,
            "RATELIMIT_STORAGE_URI": storage,
            "RATE_LIMIT_ENDPOINTS": "api.openapi=3 per minute",
        }
    )
    with app.app_context():
        db.create_all()
    return app


@pytest.mark.slow
def test_closed_redis_port_falls_back_to_memory(tmp_path):
    app = _app(tmp_path, f"redis://127.0.0.1:{free_port()}/0")
    client = app.test_client()
    codes = [client.get("/api/v1/openapi.json").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]  # served, and still limited in memory
    assert client.get("/auth/login").status_code == 200


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server")
def test_redis_stopped_mid_run_keeps_serving(tmp_path):
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=port).ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        app = _app(tmp_path, f"redis://127.0.0.1:{port}/0")
        client = app.test_client()
        assert [client.get("/api/v1/openapi.json").status_code for _ in range(2)] == [200, 200]
        assert any(key.startswith(b"LIMITS:") for key in redis.Redis(port=port).keys())  # Redis was used
    finally:
        server.terminate()
        server.wait(timeout=10)
    codes = [client.get("/api/v1/openapi.json").status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]  # fresh memory window, still limited
    assert client.get("/auth/login").status_code == 200


@pytest.mark.slow
@pytest.mark.redis
def test_gunicorn_four_workers_admit_exactly_the_limit(tmp_path):
    url = REDIS_URL.rsplit("/", 1)[0] + "/9"  # a database of this test's own
    redis.Redis.from_url(url).flushdb()
    database = f"sqlite:///{tmp_path / 'portal.db'}"
    app = create_app(
        {
            "PORTAL_ENV": "testing",
            "DATABASE_URL": database,
            "INSTANCE_PATH": str(tmp_path / "i"),
            "PORTAL_PLUGINS": "security",
        }
    )
    with app.app_context():
        db.create_all()
    env = {
        "DATABASE_URL": database,
        "PORTAL_INSTANCE_PATH": str(tmp_path / "i"),
        "REDIS_URL": url,
        "PORTAL_PLUGINS": "security",
        "SCHEDULER_ENABLED": "false",
        "SECRET_KEY": "gunicorn-test-secret-key-long-enough-for-anything",
        "RATE_LIMIT_ENDPOINTS": LIMITED,
        "SECURITY_BAN_ENABLED": "false",
        "SECURITY_AUDIT_ENABLED": "false",
    }
    with gunicorn(env, workers=4) as base:
        with ThreadPoolExecutor(max_workers=40) as pool:
            codes = list(
                pool.map(
                    lambda _: requests.get(base + "/api/v1/openapi.json", timeout=30).status_code, range(200)
                )
            )
    assert codes.count(200) == 50
    assert codes.count(429) == 150
    redis.Redis.from_url(url).flushdb()
