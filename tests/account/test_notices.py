"""Security notices by e-mail, through a real SMTP server on 127.0.0.1: a sign-in from a browser
without a device cookie, password and second-factor changes, lockouts; limited per user, off the
request path, written to the log without a server, never carrying a secret."""

from __future__ import annotations

import logging

import pyotp
import pytest

from app.extensions import db
from app.mail import mailer
from app.models import User
from tests.account.conftest import body_of
from tests.conftest import PASSWORD, AuthActions, portal

ADDRESS = "alice@example.com"
NEW_PASSWORD = "a brand new passphrase 42"


@pytest.fixture
def app(mail_app):
    """The portal with its mail going to the test's SMTP server."""
    return mail_app


def with_email(app, user_id: int, address: str | None = ADDRESS) -> None:
    with app.app_context():
        db.session.get(User, user_id).email = address
        db.session.commit()


def settle(app) -> None:
    assert mailer(app).wait_idle(), "the mail queue did not drain"


def test_a_sign_in_from_a_browser_without_a_device_cookie_is_told(app, client, auth, make_user, smtp_inbox):
    alice = make_user("alice")
    with_email(app, alice.id)
    auth.login("alice")
    settle(app)
    [message] = smtp_inbox.wait_for(1)
    assert message["To"] == ADDRESS and "New sign-in" in message["Subject"]
    body = body_of(message)
    assert "127.0.0.1" in body and "/account/security" in body
    assert PASSWORD not in body and "csrf" not in body.lower()


def test_a_browser_with_its_device_cookie_is_not_told_again(app, client, auth, make_user, smtp_inbox):
    """The first sign-in gives the browser a device cookie; the next sign-in from it is known."""
    pytest.importorskip("app.auth.devices")
    alice = make_user("alice")
    with_email(app, alice.id)
    auth.login("alice")
    settle(app)
    assert len(smtp_inbox.wait_for(1)) == 1
    auth.logout()
    auth.login("alice")
    settle(app)
    assert len(smtp_inbox.messages) == 1, "a known browser was told of a new sign-in"
    client.delete_cookie("portal_device")
    auth.logout()
    auth.login("alice")
    settle(app)
    assert len(smtp_inbox.wait_for(2)) == 2, "a browser without its device cookie was not told"


def test_a_user_without_an_address_gets_nothing(app, client, auth, make_user, smtp_inbox):
    make_user("alice")
    auth.login("alice")
    settle(app)
    assert smtp_inbox.messages == []


def test_a_password_change_is_told_without_the_password(app, client, auth, make_user, smtp_inbox):
    alice = make_user("alice")
    auth.login("alice")
    with_email(app, alice.id)  # after sign-in: only the change is told
    response = auth.post(
        "/auth/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert response.status_code == 302
    settle(app)
    [message] = smtp_inbox.wait_for(1)
    assert "password was changed" in message["Subject"]
    assert NEW_PASSWORD not in message.as_string() and PASSWORD not in message.as_string()


@pytest.mark.plugins("mfa")
def test_turning_on_two_factor_sign_in_is_told_without_the_secret_or_codes(
    app, client, auth, make_user, smtp_inbox
):
    alice = make_user("alice")
    auth.login("alice")
    with_email(app, alice.id)
    page = client.get("/mfa/setup").get_data(as_text=True)
    with app.app_context():
        from plugins.mfa.checks import get_record
        from plugins.mfa.crypto import decrypt_secret

        secret = decrypt_secret(get_record(alice.id).secret_ciphertext)
    code = pyotp.TOTP(secret).now()
    response = auth.post("/mfa/setup", {"code": code}, page="/mfa/setup")
    assert response.status_code in (200, 302), page[:200]
    settle(app)
    [message] = smtp_inbox.wait_for(1)
    assert "Two-factor sign-in was turned on" in message["Subject"]
    text = message.as_string()
    assert secret not in text and code not in text


def test_notices_are_limited_per_user(app, make_user, smtp_inbox):
    app.config["ACCOUNT_NOTICES_PER_HOUR"] = 2
    alice, bob = make_user("alice"), make_user("bob")
    with_email(app, alice.id)
    with_email(app, bob.id, "bob@example.com")
    for _ in range(4):  # four new browsers for alice
        AuthActions(app.test_client()).login("alice")
    AuthActions(app.test_client()).login("bob")  # another user's allowance is their own
    settle(app)
    smtp_inbox.wait_for(3)
    assert len(smtp_inbox.to(ADDRESS)) == 2
    assert len(smtp_inbox.to("bob@example.com")) == 1


def test_a_slow_mail_server_does_not_hold_the_request(app, client, auth, make_user, smtp_inbox):
    alice = make_user("alice")
    with_email(app, alice.id)
    smtp_inbox.gate.clear()  # the server takes the message but does not answer DATA yet
    response = auth.login("alice")
    assert response.status_code == 302  # answered while the mail is still in flight
    assert client.get("/account/security").status_code == 200
    assert smtp_inbox.messages == []
    smtp_inbox.gate.set()
    settle(app)
    assert len(smtp_inbox.wait_for(1)) == 1


def test_a_lockout_of_the_second_factor_is_told(app, make_user, smtp_inbox):
    from app.events import EventType, Severity
    from app.signals import emit_security_event

    alice = make_user("alice")
    with_email(app, alice.id)
    with app.test_request_context("/mfa/verify", environ_base={"REMOTE_ADDR": "203.0.113.9"}):
        user = db.session.get(User, alice.id)
        emit_security_event(
            EventType.MFA_FAILURE, Severity.HIGH, user=user, metadata={"stage": "login", "locked": True}
        )
        emit_security_event(
            EventType.MFA_FAILURE, Severity.MEDIUM, user=user, metadata={"stage": "login", "locked": False}
        )
    settle(app)
    [message] = smtp_inbox.wait_for(1)
    assert "locked" in message["Subject"] and "203.0.113.9" in body_of(message)


def test_lockouts_are_told_once_an_hour_and_leave_the_other_notices(app, make_user, smtp_inbox):
    """Strangers can lock an account as often as they like: the owner hears of it once an hour,
    and is still told of the next sign-in or change."""
    from app.account.notices import account_locked, send_notice

    alice = make_user("alice")
    with_email(app, alice.id)
    with app.test_request_context("/auth/login"):
        user = db.session.get(User, alice.id)
        sent = [account_locked(user) for _ in range(20)]
        assert sent.count(True) == 1
        assert send_notice(user, "new_browser") and send_notice(user, "password")
    settle(app)
    subjects = [message["Subject"] for message in smtp_inbox.wait_for(3)]
    assert len(subjects) == 3 and sum("locked" in subject for subject in subjects) == 1


def test_an_admin_reset_tells_the_target_not_the_admin(app, make_user, smtp_inbox):
    from app.events import EventType, Severity
    from app.signals import emit_security_event

    admin, alice = make_user("admin", role="admin"), make_user("alice")
    with_email(app, admin.id, "admin@example.com")
    with_email(app, alice.id)
    with app.test_request_context("/mfa/admin"):
        emit_security_event(
            EventType.MFA_DISABLED,
            Severity.HIGH,
            user=db.session.get(User, admin.id),
            metadata={"target_user_id": alice.id, "target_username": "alice", "reset_by": "admin"},
        )
    settle(app)
    [message] = smtp_inbox.wait_for(1)
    assert message["To"] == ADDRESS and "turned off" in message["Subject"]


def test_without_a_mail_server_the_notice_is_written_to_the_log(tmp_path, caplog):
    with portal(tmp_path) as application:
        with application.app_context():
            from app.auth.passwords import hash_password

            db.session.add(User(username="alice", password_hash=hash_password(PASSWORD), email=ADDRESS))
            db.session.commit()
        with caplog.at_level(logging.WARNING, logger="app.mail"):
            AuthActions(application.test_client()).login("alice")
            assert mailer(application).wait_idle()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "no MAIL_SMTP_HOST" in logged and "To: alice@example.com" in logged and PASSWORD not in logged


def _spend_concurrently(app, user_id: int, attempts: int) -> int:
    import threading

    from app.account.notices import _allowed

    granted: list[bool] = []
    start = threading.Barrier(attempts)

    def spend():
        with app.app_context():
            start.wait()
            granted.append(_allowed(user_id))

    threads = [threading.Thread(target=spend) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return sum(granted)


@pytest.mark.config(ACCOUNT_NOTICES_PER_HOUR=3)
def test_the_per_user_limit_is_exact_with_threads(app, make_user):
    alice = make_user("alice")
    assert _spend_concurrently(app, alice.id, 30) == 3


@pytest.mark.redis
def test_the_per_user_limit_is_exact_on_redis_shared_by_two_portals(tmp_path, smtp_inbox):
    import os
    import random

    url = os.environ["TEST_REDIS_URL"]
    config = {"RATELIMIT_STORAGE_URI": url, "ACCOUNT_NOTICES_PER_HOUR": 4}
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    with portal(tmp_path / "a", **config) as first, portal(tmp_path / "b", **config) as second:
        # A user id of this run only: no flush of a database other tests may be using.
        user_id = random.randint(10**6, 10**9)
        assert _spend_concurrently(first, user_id, 20) + _spend_concurrently(second, user_id, 20) == 4


def test_no_notice_of_any_kind_carries_a_secret_of_the_request_that_caused_it(app, make_user, smtp_inbox):
    """Every kind of notice, sent while the request carries a password, a code, a session cookie
    and a CSRF token: the mail has what happened, when, the browser and address, and none of
    those, nor a link with a query (a token would travel in one)."""
    from app.account.notices import SUBJECTS, send_notice

    app.config["ACCOUNT_NOTICES_PER_HOUR"] = 100
    alice = make_user("alice")
    with_email(app, alice.id)
    secrets = {
        "password": "the victims password 8812",
        "code": "493027",
        "csrf_token": "csrf-token-value-5f1e0c9a",
    }
    cookie = "session=session-cookie-value-77aa31; portal_device=device-cookie-value-0b2c"
    with app.test_request_context(
        "/auth/login",
        method="POST",
        data=secrets,
        headers={
            "Cookie": cookie,
            "X-CSRFToken": secrets["csrf_token"],
            "User-Agent": "Firefox/128.0 (X11; Linux)",
        },
        environ_base={"REMOTE_ADDR": "203.0.113.50"},
    ):
        user = db.session.get(User, alice.id)
        assert all(send_notice(user, kind) for kind in SUBJECTS)
    settle(app)
    messages = smtp_inbox.wait_for(len(SUBJECTS))
    assert sorted(message["Subject"] for message in messages) == sorted(
        f"[El-Mag portal] {subject}" for subject in SUBJECTS.values()
    )
    for message in messages:
        text = message.as_string()
        body = body_of(message)
        for secret in [
            *secrets.values(),
            "session-cookie-value-77aa31",
            "device-cookie-value-0b2c",
            PASSWORD,
        ]:
            assert secret not in text, f"{secret!r} is in the notice {message['Subject']!r}"
        assert (
            "Address: 203.0.113.50" in body.splitlines() and "Browser: Firefox on Linux" in body.splitlines()
        )
        assert "?" not in body and "http" not in body


def test_a_changed_address_is_told_at_the_old_one_only(app, client, auth, make_user, smtp_inbox):
    from tests.conftest import csrf_from

    alice = make_user("alice")
    auth.login("alice")
    with_email(app, alice.id, "old@example.com")
    token = csrf_from(client.get("/account/security").get_data(as_text=True))
    response = client.post("/account/email", data={"email": "new@example.com", "csrf_token": token})
    assert response.status_code == 302
    settle(app)
    [message] = smtp_inbox.wait_for(1)
    assert (
        message["To"] == "old@example.com"
        and "e-mail address of your account was changed" in message["Subject"]
    )
    assert "new@example.com" not in message.as_string()  # a thief's address is not advertised


def test_a_reset_from_the_command_line_ends_the_sessions_and_tells_the_owner(
    app, client, auth, make_user, smtp_inbox
):
    alice = make_user("alice")
    auth.login("alice")
    with_email(app, alice.id)  # after sign-in: only the reset is told
    assert client.get("/account/security").status_code == 200
    result = app.test_cli_runner().invoke(args=["users", "set-password", "alice"], input=NEW_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "sessions are signed out" in result.output
    [message] = smtp_inbox.wait_for(1)  # sent before the command returned
    assert message["To"] == ADDRESS and "password was changed" in message["Subject"]
    assert (
        NEW_PASSWORD not in message.as_string()
        and "Browser: the command line" in body_of(message).splitlines()
    )
    assert client.get("/account/security").status_code == 302  # the old session is over
    assert AuthActions(app.test_client()).login("alice", NEW_PASSWORD).status_code == 302
