"""The admin page /cache/, the admin API /api/v1/cache/ and ``flask cache ...``."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import csrf_from

pytestmark = pytest.mark.plugins("cache")


@pytest.fixture
def admin(quick_user, auth):
    quick_user("root", role="admin")
    auth.login("root")
    return auth


def seed(app, count=3):
    service = app.extensions["plugin.cache"]
    for number in range(count):
        service.set(f"plan:{number}", {"n": number}, tags=("plans",))
    service.set("user:1", "u", tags=("users",))
    service.get("plan:0")
    service.get("nothing")
    return service


def test_page_refuses_clients_and_anonymous(client, quick_user, auth):
    assert client.get("/cache/").status_code == 302
    assert client.get("/api/v1/cache/stats").status_code == 401
    quick_user("alice")
    auth.login("alice")
    assert client.get("/cache/").status_code == 403
    assert client.get("/api/v1/cache/stats").status_code == 403


def test_page_shows_stats_chart_and_tags(app, client, admin):
    seed(app)
    html = client.get("/cache/").get_data(as_text=True)
    assert 'id="cache-ratio">50.0%' in html
    assert 'id="cache-entries">4<' in html
    assert "<svg" in html and "Cache hit ratio over time" in html
    assert re.search(r"<td>plans</td><td>3</td>", html)
    assert 'data-confirm="Remove every cache entry?"' in html
    assert "style=" not in html and "<script>" not in html  # the CSP allows neither
    assert 'href="/cache/"' in html  # the admin nav entry


def test_page_says_when_figures_are_estimated(app, client, admin, monkeypatch):
    from plugins.cache.backends import Usage

    backend = app.extensions["plugin.cache"].backend
    monkeypatch.setattr(backend, "usage", lambda: Usage(40_000, 2_000_000, 0, None, estimated=True))
    html = client.get("/cache/").get_data(as_text=True)
    assert 'id="cache-entries">about 40000<' in html and "estimated from a sample" in html


def test_invalidate_a_tag_from_the_page(app, client, admin):
    service = seed(app)
    response = admin.post("/cache/invalidate", {"value": "plans"}, page="/cache/", follow_redirects=True)
    assert "Invalidated tag &#39;plans&#39;: 3 entries removed." in response.get_data(as_text=True)
    assert service.get("plan:1") is None
    assert service.get("user:1") == "u"


def test_invalidate_bad_tag_is_a_form_error(app, client, admin):
    service = seed(app)
    for value in ("", "   ", "t" * 101):
        response = admin.post("/cache/invalidate", {"value": value}, page="/cache/", follow_redirects=True)
        assert response.status_code == 200
        assert "Tag: " in response.get_data(as_text=True)
    assert service.stats()["entries"] == 4


def test_clear_from_the_page(app, client, admin):
    service = seed(app)
    response = admin.post("/cache/clear", page="/cache/", follow_redirects=True)
    assert "Cache cleared: 4 entries removed." in response.get_data(as_text=True)
    assert service.stats()["entries"] == 0


def test_clear_without_csrf_token_is_refused(app, client, admin):
    service = seed(app)
    assert client.post("/cache/clear").status_code == 400
    assert service.stats()["entries"] == 4


def test_api_stats(app, client, admin):
    seed(app)
    body = client.get("/api/v1/cache/stats").get_json()
    assert body["backend"] == "memory"
    assert (body["hits"], body["misses"], body["entries"]) == (1, 1, 4)
    assert body["entries_by_tag"] == {"plans": 3, "users": 1}


def api_post(client, body, **kwargs):
    token = csrf_from(client.get("/cache/").get_data(as_text=True))
    return client.post("/api/v1/cache/invalidate", headers={"X-CSRFToken": token}, json=body, **kwargs)


def test_api_invalidate(app, client, admin):
    service = seed(app)
    response = api_post(client, {"tags": ["plans", "nobody"]})
    assert response.status_code == 200
    assert response.get_json() == {"tags": ["plans", "nobody"], "invalidated": 3}
    assert service.get("plan:2") is None


BAD_BODIES = [
    ({}, "tags"),
    ({"tags": "plans"}, "tags"),
    ({"tags": []}, "tags"),
    ({"tags": [1]}, "tags"),
    ({"tags": [""]}, "tags"),
    ({"tags": ["x" * 101]}, "tags"),
    ({"tags": ["t"] * 101}, "tags"),
    ([1, 2], "body"),
]


def test_api_invalidate_bad_input_names_the_field(app, client, admin):
    service = seed(app)
    for body, field in BAD_BODIES:
        response = api_post(client, body)
        assert response.status_code == 400, body
        assert response.get_json()["field"] == field
    assert service.stats()["entries"] == 4
    token = csrf_from(client.get("/cache/").get_data(as_text=True))
    response = client.post("/api/v1/cache/invalidate", headers={"X-CSRFToken": token}, data="tags=plans")
    assert response.status_code == 415


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.dictionaries(
        st.sampled_from(["tags", "other"]),
        st.recursive(
            st.none() | st.integers() | st.text(max_size=120), lambda c: st.lists(c, max_size=4), max_leaves=8
        ),
    )
)
def test_api_invalidate_never_fails_with_a_server_error(app, client, admin, body):
    response = api_post(client, body)
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert response.get_json()["field"] == "tags"


def test_cli_stats_invalidate_clear(app, runner):
    seed(app)
    result = runner.invoke(args=["cache", "stats"])
    assert result.exit_code == 0
    assert "entries: 4" in result.output and "tag plans: 3 entries" in result.output
    result = runner.invoke(args=["cache", "stats", "--json"])
    assert '"ratio": 0.5' in result.output
    result = runner.invoke(args=["cache", "invalidate", "plans"])
    assert result.exit_code == 0 and "3 entries removed" in result.output
    result = runner.invoke(args=["cache", "invalidate", ""])
    assert result.exit_code == 2
    result = runner.invoke(args=["cache", "clear"], input="n\n")
    assert result.exit_code == 1
    assert app.extensions["plugin.cache"].stats()["entries"] == 1
    result = runner.invoke(args=["cache", "clear", "--yes"])
    assert result.exit_code == 0 and "cleared 1 entries" in result.output
    # The memory backend lives in each worker: the CLI says that it reached its own process only.
    assert "reaches only its own process's cache" in result.stderr
