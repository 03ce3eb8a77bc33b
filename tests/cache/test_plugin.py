"""The plugin in the portal: settings, the app.caching facade, hooks, and the plugin switched off."""

from __future__ import annotations

import pytest

from app import create_app
from app.caching import CacheProvider, delete_by_tags, get_or_set
from app.config import ConfigError
from app.plugin import call_hook, first_hook_result

BASE = {
    "PORTAL_ENV": "testing",
    "SECRET_KEY": "x" * 40,
    "SCHEDULER_ENABLED": False,
    "PORTAL_PLUGINS": "cache",
}


def build(tmp_path, **extra):
    return create_app(
        {**BASE, "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "INSTANCE_PATH": str(tmp_path), **extra}
    )


@pytest.mark.plugins("cache")
def test_facade_goes_through_the_service(app):
    computed = []
    with app.test_request_context():
        for _ in range(3):
            assert (
                get_or_set("plans:search:a", lambda: computed.append(1) or "result", tags=("plans",))
                == "result"
            )
        assert len(computed) == 1
        assert delete_by_tags(["plans"]) == 1
        get_or_set("plans:search:a", lambda: computed.append(1) or "result", tags=("plans",))
        assert len(computed) == 2
        assert isinstance(first_hook_result("portal_cache_provider"), CacheProvider)
        stats = first_hook_result("portal_cache_stats")
        assert stats["hits"] == 2 and stats["misses"] == 2
        assert first_hook_result("portal_mfa_adoption") is None  # MFA is off


@pytest.mark.plugins("cache")
@pytest.mark.config(CACHE_ENABLED="false")
def test_plugin_off_every_call_computes(app, client):
    computed = []
    with app.test_request_context():
        for _ in range(3):
            assert get_or_set("k", lambda: computed.append(1) or "v", tags=("plans",)) == "v"
        assert delete_by_tags(["plans"]) == 0
        assert first_hook_result("portal_cache_provider") is None
    assert len(computed) == 3
    assert "plugin.cache" not in app.extensions
    assert client.get("/cache/").status_code == 404


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("CACHE_BACKEND", "memcached"),
        ("CACHE_TTL_MS", "soon"),
        ("CACHE_TTL_MS", "0"),
        ("CACHE_MAX_SIZE_MB", "-1"),
        ("CACHE_MAX_SIZE_MB", "lots"),
        ("CACHE_COMPRESS_MIN_BYTES", "-5"),
        ("CACHE_ALLOW_PICKLE", "perhaps"),
        ("CACHE_REDIS_URL", "http://example.org"),
        ("CACHE_LOCK_TIMEOUT_MS", "1"),
    ],
)
def test_bad_setting_stops_start_up_naming_it(tmp_path, setting, value):
    with pytest.raises(ConfigError, match=setting):
        build(tmp_path, **{setting: value})


def test_redis_backend_without_redis_url_names_the_variables(tmp_path):
    with pytest.raises(ConfigError, match="CACHE_BACKEND.*REDIS_URL"):
        build(tmp_path, CACHE_BACKEND="redis")


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_database_backend_refuses_an_in_memory_sqlite_database(tmp_path, url):
    with pytest.raises(ConfigError, match="CACHE_BACKEND.*in-memory SQLite.*CACHE_BACKEND=memory"):
        build(tmp_path, CACHE_BACKEND="database", DATABASE_URL=url)
    assert build(tmp_path, CACHE_BACKEND="memory", DATABASE_URL=url)  # the default backend is fine


def test_setup_opens_no_connection(tmp_path):
    """Setup builds the backends lazily: an unreachable Redis and a missing database are fine."""
    app = build(
        tmp_path,
        CACHE_BACKEND="redis",
        CACHE_REDIS_URL="redis://127.0.0.1:1/0",
        DATABASE_URL=f"sqlite:///{tmp_path / 'absent' / 'no.db'}",
    )
    backend = app.extensions["plugin.cache"].backend
    assert backend._client is None


def test_unreachable_redis_degrades_to_computing(tmp_path):
    app = build(tmp_path, CACHE_BACKEND="redis", CACHE_REDIS_URL="redis://127.0.0.1:1/0")
    with app.test_request_context():
        assert get_or_set("k", lambda: "computed") == "computed"
        assert app.extensions["plugin.cache"].stats()["errors"] > 0


@pytest.mark.plugins("cache")
def test_nav_item_and_openapi(app, quick_user):
    with app.test_request_context():
        admin = quick_user("root", role="admin")
        items = [item for group in call_hook("portal_nav_items", user=admin) for item in group]
        assert any(item.endpoint == "cache.index" and item.admin for item in items)
        from app.api import openapi_document

        paths = openapi_document()["paths"]
        assert "/cache/stats" in paths and "/cache/invalidate" in paths
        assert "400" in paths["/cache/invalidate"]["post"]["responses"]


@pytest.mark.plugins("cache")
def test_cleanup_job_is_scheduled(app):
    jobs = {job.name: job for job in app.extensions["portal.plugins"].jobs()}
    assert "cache.cleanup" in jobs
    service = app.extensions["plugin.cache"]
    service.set("old", 1, ttl=0.001)
    import time

    time.sleep(0.01)
    with app.app_context():
        jobs["cache.cleanup"].func()
    assert service.backend.usage().entries == 0


def test_readiness_names_the_cache_only_on_redis_and_says_when_it_does_not_answer(tmp_path):
    memory = build(tmp_path).test_client().get("/readyz")
    assert memory.status_code == 200 and "cache" not in memory.json["checks"]
    # Nothing listens on port 1: the check fails at once and /readyz says which dependency.
    down = build(tmp_path, CACHE_BACKEND="redis", CACHE_REDIS_URL="redis://127.0.0.1:1/0").test_client()
    answer = down.get("/readyz")
    assert answer.status_code == 503
    assert answer.json["checks"]["cache"] is False and answer.json["failing"] == ["cache"]
