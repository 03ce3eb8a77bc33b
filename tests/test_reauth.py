"""Step-up re-authentication (ASVS 3.7.1) of the core: the password change and the admin's role
change need a sign-in within REAUTH_TIMEOUT_SECONDS; /auth/reauth and its ``next``; the JSON
answer; the setting. The MFA actions are tested in tests/mfa/test_reauth.py."""

from __future__ import annotations

import time

import pytest
from flask import Flask, jsonify
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from app import create_app
from app.auth.passwords import verify_password
from app.auth.reauth import (
    AUTH_AT_KEY,
    REAUTH_REQUIRED_SCHEMA,
    reauth_next,
    reauth_required,
    requires_reauth,
)
from app.config import ConfigError
from app.extensions import db
from app.models import User
from tests.conftest import PASSWORD, AuthActions, csrf_from
from tests.support.reauth import age_authentication, copied_client, reauthenticate

NEW_PASSWORD = "a brand new passphrase 42"
PAST_TIMEOUT = 301  # seconds since the last authentication, with the default timeout of 300
CHANGE = {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}


def password_hash(app: Flask, user_id: int) -> str:
    with app.app_context():
        return db.session.get(User, user_id).password_hash


def role_of(app: Flask, user_id: int) -> str:
    with app.app_context():
        return db.session.get(User, user_id).role


def post_form(client, path: str, data: dict, page: str, **kwargs):
    """POST ``data`` to ``path`` with a CSRF token read from ``page`` (which must not need reauth)."""
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token}, **kwargs)


def test_a_copied_cookie_past_the_timeout_cannot_change_the_password(app, client, auth, make_user):
    alice = make_user("alice")
    auth.login("alice")
    thief = copied_client(app, client)
    age_authentication(thief, PAST_TIMEOUT)
    page = thief.get("/auth/password")
    assert page.status_code == 302 and page.headers["Location"] == "/auth/reauth?next=/auth/password"
    before = password_hash(app, alice.id)
    response = post_form(thief, "/auth/password", CHANGE, page="/")
    assert response.status_code == 303  # the browser follows with a GET: the POST is not replayed
    assert response.headers["Location"] == "/auth/reauth?next=/auth/password"
    assert password_hash(app, alice.id) == before
    # The owner's own session, signed in just now, still can.
    assert auth.post("/auth/password", CHANGE).status_code == 302
    assert password_hash(app, alice.id) != before


def test_a_session_without_a_recorded_authentication_time_must_reauthenticate(app, client, auth, make_user):
    """Sessions from before step-up re-authentication existed carry no time: they are not fresh."""
    make_user("alice")
    auth.login("alice")
    with client.session_transaction() as session:
        del session[AUTH_AT_KEY]
    assert client.get("/auth/password").headers["Location"].startswith("/auth/reauth")


def test_a_time_from_the_future_is_not_trusted(app, client, auth, make_user):
    make_user("alice")
    auth.login("alice")
    age_authentication(client, -3600)
    assert client.get("/auth/password").headers["Location"].startswith("/auth/reauth")


def test_within_the_timeout_the_change_works_without_asking(app, client, auth, make_user):
    alice = make_user("alice")
    auth.login("alice")
    age_authentication(client, 290)
    assert client.get("/auth/password").status_code == 200
    assert auth.post("/auth/password", CHANGE).status_code == 302
    assert verify_password(password_hash(app, alice.id), NEW_PASSWORD)


@pytest.mark.config(REAUTH_TIMEOUT_SECONDS=60)
def test_the_timeout_is_configurable(app, client, auth, make_user):
    make_user("alice")
    auth.login("alice")
    age_authentication(client, 61)
    assert client.get("/auth/password").headers["Location"].startswith("/auth/reauth")


def test_reauthentication_returns_to_the_form_which_is_then_submitted_again(
    app, client, auth, make_user, events
):
    alice = make_user("alice")
    auth.login("alice")
    age_authentication(client, PAST_TIMEOUT)
    before = password_hash(app, alice.id)
    asked = post_form(client, "/auth/password", CHANGE, page="/", follow_redirects=True)
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200 and asked.request.path == "/auth/reauth"
    assert "Confirm it is you" in html and "Nothing was changed yet" in html
    assert 'name="password"' in html and 'name="code"' not in html  # no second factor here
    assert 'href="/"' in html  # a way back
    done = reauthenticate(client, next_url="/auth/password")
    assert done.status_code == 302 and done.headers["Location"] == "/auth/password"
    assert password_hash(app, alice.id) == before  # nothing was replayed
    assert client.get("/auth/password").status_code == 200
    assert auth.post("/auth/password", CHANGE).status_code == 302
    success = [e for e in events if str(e["kind"]).endswith("LOGIN_SUCCESS")]
    assert success[-1]["metadata"]["stage"] == "reauth" and success[-1]["username"] == "alice"


def test_a_wrong_password_is_refused_audited_and_leaves_the_session_stale(
    app, client, auth, make_user, events
):
    make_user("alice")
    auth.login("alice")
    age_authentication(client, PAST_TIMEOUT)
    wrong = reauthenticate(client, password="not the password", next_url="/auth/password")
    assert wrong.status_code == 401
    assert "The password is not correct." in wrong.get_data(as_text=True)
    failure = [e for e in events if str(e["kind"]).endswith("LOGIN_FAILURE")][-1]
    assert failure["metadata"] == {"username": "alice", "stage": "reauth"}
    assert "not the password" not in repr(failure)
    assert client.get("/auth/password").headers["Location"].startswith("/auth/reauth")
    missing = reauthenticate(client, password="")
    assert missing.status_code == 400 and "Enter your password." in missing.get_data(as_text=True)


@pytest.mark.plugins("security")
@pytest.mark.config(RATE_LIMIT_AUTH_ACCOUNT="3 per minute", RATE_LIMIT_AUTH="50 per minute")
def test_wrong_reauth_passwords_are_limited_per_account_like_sign_in(app, client, auth, make_user):
    """A stolen session cannot guess the password at /auth/reauth: the AUTH policy of sign-in
    counts its failures per account (and per address), and then refuses even the right one."""
    make_user("alice")
    auth.login("alice")
    age_authentication(client, PAST_TIMEOUT)
    codes = [reauthenticate(client, password=f"guess number {n}").status_code for n in range(3)]
    assert codes == [401, 401, 401]
    blocked = reauthenticate(client)
    assert blocked.status_code == 429 and 0 < int(blocked.headers["Retry-After"]) <= 60
    assert client.get("/auth/password").headers["Location"].startswith("/auth/reauth")


@pytest.mark.plugins("security")
@pytest.mark.config(RATE_LIMIT_AUTH="3 per minute", RATE_LIMIT_AUTH_ACCOUNT="50 per minute")
def test_wrong_reauth_passwords_are_limited_per_address(app, make_user):
    """Copied session cookies (without the browsers' device cookies) count per address; a
    browser that keeps its device cookie is limited by its own failures (tests/security)."""
    clients = []
    for name in ("alice", "bob", "carol", "dave"):
        make_user(name)
        client = app.test_client()
        AuthActions(client).login(name)
        client.delete_cookie("portal_device")
        age_authentication(client, PAST_TIMEOUT)
        clients.append(client)
    codes = [reauthenticate(client, password="a wrong guess!!").status_code for client in clients]
    assert codes == [401, 401, 401, 429]


@pytest.mark.plugins("security")
@pytest.mark.config(RATE_LIMIT_AUTH="3 per minute", RATE_LIMIT_AUTH_ACCOUNT="3 per minute")
def test_successful_reauthentications_are_not_counted(app, client, auth, make_user):
    make_user("alice")
    auth.login("alice")
    for _ in range(8):
        age_authentication(client, PAST_TIMEOUT)
        assert reauthenticate(client, next_url="/auth/password").status_code == 302
        assert client.get("/auth/password").status_code == 200


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "javascript:alert(1)",
        "http:/evil.example",
        "evil.example",
        "/auth/reauth?next=https://evil.example/",
        "/\t/evil.example",
    ],
)
def test_next_is_a_local_path_only(app, client, auth, make_user, target):
    make_user("alice")
    auth.login("alice")
    page = client.get("/auth/reauth", query_string={"next": target}).get_data(as_text=True)
    assert "evil.example" not in page
    done = reauthenticate(client, next_url=target)
    assert done.status_code == 302 and done.headers["Location"] == "/"


def test_a_local_next_with_its_query_is_kept(app, client, auth, make_user):
    make_user("alice")
    auth.login("alice")
    done = reauthenticate(client, next_url="/mfa/setup?next=/auth/password")
    assert done.headers["Location"] == "/mfa/setup?next=/auth/password"


@given(target=st.text(max_size=60) | st.from_regex(r"\A[/\\a-z:.?=%]{0,30}\Z"))
@hypothesis_settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_next_becomes_a_local_path_or_nothing(app, target):
    with app.test_request_context("/auth/reauth"):
        result = reauth_next(target)
    if result is not None:
        assert result.startswith("/") and not result.startswith("//") and "\\" not in result
        assert not result.startswith("/auth/reauth")


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/auth/reauth?next=/auth/password")
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login")


def test_json_clients_get_401_naming_the_reauth_url(app, client, auth, make_user):
    import jsonschema

    @reauth_required
    def sensitive():
        return jsonify(done=True)

    app.add_url_rule("/api/v1/test-sensitive", "test_sensitive", sensitive, methods=["GET", "POST"])
    make_user("alice")
    auth.login("alice")
    assert client.get("/api/v1/test-sensitive").get_json() == {"done": True}
    age_authentication(client, PAST_TIMEOUT)
    for response in (
        client.get("/api/v1/test-sensitive"),
        client.get("/auth/password", headers={"Accept": "application/json"}),
    ):
        assert response.status_code == 401 and response.mimetype == "application/json"
        body = response.get_json()
        jsonschema.validate(body, REAUTH_REQUIRED_SCHEMA)
    assert body["reauth_url"] == "/auth/reauth?next=/auth/password"
    assert client.get("/api/v1/test-sensitive").get_json()["reauth_url"] == (
        "/auth/reauth?next=/api/v1/test-sensitive"
    )
    reauthenticate(client)
    assert client.get("/api/v1/test-sensitive").get_json() == {"done": True}


def test_the_admin_role_change_needs_a_recent_authentication(app, client, auth, make_user, events):
    make_user("root", role="admin")
    alice = make_user("alice")
    auth.login("root")
    thief = copied_client(app, client)
    age_authentication(thief, PAST_TIMEOUT)
    refused = post_form(thief, f"/admin/users/{alice.id}/role", {"role": "admin"}, page="/admin/users")
    assert refused.status_code == 303 and refused.headers["Location"] == "/auth/reauth?next=/admin/users"
    assert role_of(app, alice.id) == "client"
    assert not [e for e in events if str(e["kind"]).endswith("ROLE_CHANGE")]
    # Right after its own sign-in the admin's session changes it.
    done = post_form(client, f"/admin/users/{alice.id}/role", {"role": "admin"}, page="/admin/users")
    assert done.status_code == 302 and role_of(app, alice.id) == "admin"


def test_after_reauthentication_the_admin_submits_the_role_change_again(app, client, auth, make_user):
    make_user("root", role="admin")
    alice = make_user("alice")
    auth.login("root")
    age_authentication(client, PAST_TIMEOUT)
    post_form(client, f"/admin/users/{alice.id}/role", {"role": "admin"}, page="/admin/users")
    back = reauthenticate(client, next_url="/admin/users")
    assert back.headers["Location"] == "/admin/users" and role_of(app, alice.id) == "client"
    post_form(client, f"/admin/users/{alice.id}/role", {"role": "admin"}, page="/admin/users")
    assert role_of(app, alice.id) == "admin"


def test_the_fresh_stamp_is_set_at_sign_in_and_cleared_at_sign_out(app, client, auth, make_user):
    make_user("alice")
    before = int(time.time())
    auth.login("alice")
    with client.session_transaction() as session:
        assert before <= session[AUTH_AT_KEY] <= int(time.time())
    auth.logout()
    with client.session_transaction() as session:
        assert AUTH_AT_KEY not in session


@pytest.mark.parametrize("value", ["abc", "29", "86401", "-5"])
def test_the_timeout_setting_is_validated(tmp_path, value):
    with pytest.raises(ConfigError, match="REAUTH_TIMEOUT_SECONDS"):
        create_app(
            {
                "PORTAL_ENV": "testing",
                "SECRET_KEY": "x" * 40,
                "INSTANCE_PATH": str(tmp_path),
                "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
                "PORTAL_PLUGINS": "",
                "REAUTH_TIMEOUT_SECONDS": value,
            }
        )


@pytest.mark.plugins("mfa", "security", "performance", "cache", "plans")
def test_exactly_the_credential_changes_are_guarded(app):
    """A guard dropped by a refactoring (or a new credential change without one) shows here."""
    guarded = {endpoint for endpoint, view in app.view_functions.items() if requires_reauth(view)}
    assert guarded == {
        "auth.password",
        "account.revoke_session",
        "account.revoke_other_sessions",
        "account.change_email",
        "admin.change_role",
        "mfa.setup",
        "mfa.backup_codes",
        "mfa.disable",
        "mfa.admin_reset",
        "mfa.rename_passkey",
        "mfa.remove_passkey",
        "mfa_passkeys_api.register_options",
        "mfa_passkeys_api.register_verify",
    }
