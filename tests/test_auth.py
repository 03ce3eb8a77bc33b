"""Sign-in, sign-out, password change and the session rules around them."""

import re
import time

import pytest

from app.auth import passwords
from app.auth.service import LAST_SEEN_KEY
from app.events import EventType
from app.extensions import db
from app.models import User
from tests.conftest import PASSWORD, AuthActions, csrf_from

NEW_PASSWORD = "a brand new passphrase 42"


def test_successful_sign_in_redirects_home_and_emits_login_success(client, auth, make_user, events):
    make_user("alice")
    response = auth.login("alice")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert [e["kind"] for e in events] == [EventType.LOGIN_SUCCESS]
    assert events[0]["username"] == "alice"


@pytest.mark.parametrize("username", ["alice", "nobody"])
def test_wrong_credentials_get_one_generic_message(client, auth, make_user, events, username):
    make_user("alice")
    response = auth.login(username, "wrong password here")
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert "Invalid username or password." in page
    assert "nobody" not in page.replace('value="nobody"', "")  # no "unknown user" wording
    assert events[-1]["kind"] == EventType.LOGIN_FAILURE
    recorded = events[-1]["metadata"]["username"]
    if username == "alice":
        assert recorded == "alice"
    else:  # an unknown name may be a pasted password: only a keyed digest is recorded
        assert recorded.startswith("unknown:") and username not in recorded
    assert client.get("/").status_code == 302


def test_unknown_user_costs_a_password_hash_too(client, auth, make_user, monkeypatch):
    """No user enumeration by timing: both paths run exactly one scrypt check."""
    make_user("alice")
    checks = []
    original = passwords.check_password_hash
    monkeypatch.setattr(passwords, "check_password_hash", lambda h, p: checks.append(h) or original(h, p))
    auth.login("alice", "wrong password here")
    auth.login("nobody", "wrong password here")
    assert len(checks) == 2
    assert all(h.startswith("scrypt:") for h in checks)


def test_passwords_are_stored_as_scrypt_hashes(app, make_user):
    user = make_user("alice")
    assert user.password_hash.startswith("scrypt:")
    assert PASSWORD not in user.password_hash


def test_session_is_regenerated_at_sign_in(client, auth, make_user):
    make_user("alice")
    client.get("/auth/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        before = dict(session)
    auth.login("alice")
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("csrf_token") != before.get("csrf_token")
        assert session["_user_id"].startswith(str(1))


def test_sign_out_needs_post_and_ends_the_session(client, auth, make_user, events):
    make_user("alice")
    auth.login("alice")
    assert client.get("/auth/logout").status_code == 405
    auth.logout()
    assert client.get("/").status_code == 302
    assert events[-1]["kind"] == EventType.LOGOUT


def test_password_change_ends_other_sessions_but_keeps_this_one(app, make_user, events):
    make_user("alice")
    from tests.conftest import AuthActions

    laptop, phone = app.test_client(), app.test_client()
    AuthActions(laptop).login("alice")
    AuthActions(phone).login("alice")
    response = AuthActions(laptop).post(
        "/auth/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert laptop.get("/").status_code == 200
    assert phone.get("/").status_code == 302
    assert events[-1]["kind"] == EventType.PASSWORD_CHANGE
    fresh = app.test_client()
    assert AuthActions(fresh).login("alice", PASSWORD).status_code == 401
    assert AuthActions(fresh).login("alice", NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("current", "new", "confirm", "message"),
    [
        ("wrong current pw!", NEW_PASSWORD, NEW_PASSWORD, "The current password is not correct."),
        (PASSWORD, "short", "short", "Use at least 12 characters."),
        (PASSWORD, "alice", "alice", "Use at least 12 characters."),
        (PASSWORD, "aliceALICE12", "aliceALICE12", None),
        (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "The two new passwords differ."),
        (PASSWORD, PASSWORD, PASSWORD, "Choose a password different from the current one."),
        (PASSWORD, "x" * 300, "x" * 300, "Use at most 256 characters."),
    ],
)
def test_password_change_rules_give_form_errors(client, auth, make_user, current, new, confirm, message):
    make_user("alice")
    auth.login("alice")
    response = auth.post(
        "/auth/password", {"current_password": current, "new_password": new, "confirm_password": confirm}
    )
    if message is None:
        assert response.status_code == 302
    else:
        wrong_current = current != PASSWORD
        assert response.status_code == (401 if wrong_current else 400)
        assert message in response.get_data(as_text=True)


def test_password_equal_to_username_is_refused(app):
    with app.test_request_context():
        assert "The password cannot be the same as the username." in passwords.password_problems(
            "Alice-Wonderland", "alice-wonderland"
        )


def test_idle_session_is_signed_out(client, auth, make_user, app):
    make_user("alice")
    auth.login("alice")
    limit = app.config["SESSION_IDLE_TIMEOUT_MINUTES"] * 60
    with client.session_transaction() as session:
        session[LAST_SEEN_KEY] = int(time.time()) - limit - 5
    response = client.get("/auth/password")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert client.get("/").status_code == 302


def test_active_session_survives(client, auth, make_user, app):
    make_user("alice")
    auth.login("alice")
    limit = app.config["SESSION_IDLE_TIMEOUT_MINUTES"] * 60
    with client.session_transaction() as session:
        session[LAST_SEEN_KEY] = int(time.time()) - limit + 60
    assert client.get("/").status_code == 200


def test_deactivated_user_cannot_sign_in_or_stay_signed_in(app, client, auth, make_user):
    make_user("alice")
    auth.login("alice")
    with app.app_context():
        db.session.execute(db.update(User).values(active=False))
        db.session.commit()
    assert client.get("/").status_code == 302
    assert auth.login("alice").status_code == 401


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/auth/password", "/auth/password"),
        ("/auth/password?tab=1", "/auth/password?tab=1"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("http:/evil.example", "/"),
    ],
)
def test_next_redirect_is_local_only(client, auth, make_user, next_url, expected):
    from urllib.parse import quote

    make_user("alice")
    response = auth.login("alice", next_url=quote(next_url, safe=""))
    assert response.headers["Location"] == expected


def test_anonymous_visit_keeps_where_it_was_going(client):
    response = client.get("/auth/password")
    assert response.headers["Location"] == "/auth/login?next=/auth/password"


def test_login_form_without_csrf_token_is_refused(client, make_user, events):
    make_user("alice")
    response = client.post("/auth/login", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    assert events[-1]["kind"] == EventType.CSRF_ATTEMPT
    assert client.get("/").status_code == 302


def test_every_form_carries_a_csrf_token(client, auth, make_user):
    make_user("alice", role="admin")
    auth.login("alice")
    for path in ("/auth/login", "/auth/password", "/admin/jobs", "/admin/users"):
        html = client.get(path, follow_redirects=True).get_data(as_text=True)
        forms = re.findall(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", html, re.S)
        assert forms, path
        assert all('name="csrf_token"' in form for form in forms), path


def test_cookies_are_httponly_and_samesite(client, auth, make_user):
    make_user("alice")
    response = auth.login("alice")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_cookie_is_secure_over_https(app, make_user):
    make_user("alice")
    client = app.test_client()
    page = client.get("/auth/login", base_url="https://localhost")
    response = client.post(
        "/auth/login",
        base_url="https://localhost",
        data={
            "username": "alice",
            "password": PASSWORD,
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
    )
    assert "Secure" in response.headers["Set-Cookie"]


def test_sign_out_ends_the_session_on_the_server_too(app, make_user):
    """A copy of the cookie taken before signing out is refused afterwards."""
    make_user("alice")
    browser = app.test_client()
    AuthActions(browser).login("alice")
    stolen = app.test_client()
    stolen.set_cookie("portal_session", browser.get_cookie("portal_session").value)
    assert stolen.get("/").status_code == 200
    AuthActions(browser).logout()
    assert stolen.get("/").status_code == 302


def test_sessions_end_after_their_maximum_age(app, client, auth, make_user):
    from datetime import timedelta

    from app.models import UserSession, utcnow

    make_user("alice")
    auth.login("alice")
    assert client.get("/").status_code == 200
    with app.app_context():
        db.session.execute(db.update(UserSession).values(created_at=utcnow() - timedelta(hours=13)))
        db.session.commit()
    assert client.get("/").status_code == 302


def test_only_a_hash_of_the_session_key_is_stored(app, client, auth, make_user):
    from app.auth.sessions import SESSION_KEY
    from app.models import UserSession

    make_user("alice")
    auth.login("alice")
    with client.session_transaction() as session:
        key = session[SESSION_KEY]
    with app.app_context():
        stored = db.session.scalars(db.select(UserSession.key_hash)).all()
    assert len(stored) == 1 and key not in stored[0] and len(stored[0]) == 64
