"""The session cookie's signature is checked once per process and cookie value
(app.security_headers.PortalSessionInterface): what an attacker changes in a cookie seen before is
still refused, an old cookie still expires, and one request's changes to its session never reach
the next request that sends the same cookie."""

from __future__ import annotations

from types import SimpleNamespace

from app import security_headers
from tests.conftest import AuthActions


def cookie_value(client, app) -> str:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return cookie.value


def signed_in(app, make_user):
    make_user("alice")
    client = app.test_client()
    assert AuthActions(client).login().status_code == 302
    assert client.get("/").status_code == 200  # the cookie is now one this process has checked
    return client


def opened(app, value: str):
    request = SimpleNamespace(cookies={app.config["SESSION_COOKIE_NAME"]: value})
    return app.session_interface.open_session(app, request)


def test_a_changed_signature_on_a_known_cookie_is_refused(app, make_user):
    client = signed_in(app, make_user)
    value = cookie_value(client, app)
    payload, _, signature = value.rpartition(".")
    forged = f"{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], forged)
    assert client.get("/").status_code == 302  # sent to sign-in


def test_a_changed_payload_under_the_known_signature_is_refused(app, make_user):
    client = signed_in(app, make_user)
    value = cookie_value(client, app)
    with app.app_context():
        assert opened(app, value).get("_user_id")
        assert not opened(app, "x" + value).get("_user_id")


def test_a_known_cookie_still_expires_with_the_session_lifetime(app, make_user, monkeypatch):
    client = signed_in(app, make_user)
    value = cookie_value(client, app)
    lifetime = int(app.permanent_session_lifetime.total_seconds())
    with app.app_context():
        assert opened(app, value).get("_user_id")
        later = security_headers.time.time() + lifetime + 5
        monkeypatch.setattr(security_headers.time, "time", lambda: later)
        assert not opened(app, value).get("_user_id")


def test_one_requests_changes_do_not_reach_the_next_with_the_same_cookie(app, make_user):
    client = signed_in(app, make_user)
    value = cookie_value(client, app)
    with app.app_context():
        first = opened(app, value)
        first["_user_id"] = "999:1"
        first.pop("_portal_sid", None)
        second = opened(app, value)
    assert second["_user_id"] != "999:1" and "_portal_sid" in second


def test_a_list_in_the_session_changed_by_one_request_is_intact_for_the_next(app, make_user):
    client = signed_in(app, make_user)
    with client.session_transaction() as session:
        session["_test_pair"] = ["198.18.0.1", "digest"]
    client.get("/")
    value = cookie_value(client, app)
    with app.app_context():
        opened(app, value)["_test_pair"].append("changed")
        assert opened(app, value)["_test_pair"] == ["198.18.0.1", "digest"]
