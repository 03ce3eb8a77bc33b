"""flask-caching's ``cached`` and ``memoize`` go through the cache service; a page showing one
user's data is never served to another user."""

from __future__ import annotations

import pytest

from tests.cache.conftest import CALLS, DEMO_CONFIG
from tests.conftest import AuthActions

pytestmark = [pytest.mark.plugins("cache", "cachedemo"), pytest.mark.config(**DEMO_CONFIG)]


def test_private_page_is_never_served_to_another_user(app, quick_user):
    quick_user("alice")
    quick_user("bob")
    alice, bob = app.test_client(), app.test_client()
    AuthActions(alice).login("alice")
    AuthActions(bob).login("bob")
    for _ in range(2):
        assert "private page of alice" in alice.get("/cachedemo/mine").get_data(as_text=True)
        assert "private page of bob" in bob.get("/cachedemo/mine").get_data(as_text=True)
    assert CALLS["mine"] == 2  # once per user, then each from the cache
    service = app.extensions["plugin.cache"]
    assert service.stats()["hits"] == 2
    by_tag = service.entries_by_tag()
    assert by_tag["flask-caching"] == 2
    assert len([tag for tag in by_tag if tag.startswith("user:")]) == 2


def test_signing_out_does_not_reveal_the_signed_in_page(app, client, quick_user, auth):
    quick_user("alice")
    auth.login("alice")
    client.get("/cachedemo/mine")
    auth.logout()
    response = client.get("/cachedemo/mine")
    assert response.status_code == 302  # sign-in required; nothing cached is served
    assert "alice" not in response.get_data(as_text=True)


def test_public_page_is_shared_by_anonymous_visitors(app):
    for _ in range(3):
        assert app.test_client().get("/cachedemo/open").status_code == 200
    assert CALLS["open"] == 1


def test_memoize_goes_through_the_service(app, client):
    assert client.get("/cachedemo/square/7").get_data(as_text=True) == "49"
    assert client.get("/cachedemo/square/7").get_data(as_text=True) == "49"
    assert client.get("/cachedemo/square/8").get_data(as_text=True) == "64"
    assert CALLS["square"] == 2
    service = app.extensions["plugin.cache"]
    assert service.stats()["entries"] >= 3  # two results and memoize's version key
    from app.extensions import cache
    from tests.cache.conftest import square

    with app.app_context():
        cache.delete_memoized(square)
    client.get("/cachedemo/square/7")
    assert CALLS["square"] == 3


def test_view_cache_invalidated_by_its_tag(app, client):
    client.get("/cachedemo/open")
    app.extensions["plugin.cache"].delete_by_tags(["flask-caching"])
    client.get("/cachedemo/open")
    assert CALLS["open"] == 2


@pytest.mark.config(CACHE_ENABLED="false")
def test_plugin_off_views_compute_every_time(app, client):
    for _ in range(3):
        assert client.get("/cachedemo/open").status_code == 200
        assert client.get("/cachedemo/square/3").get_data(as_text=True) == "9"
    assert CALLS == {"open": 3, "square": 3}
