"""The e-mail address of an account: `users create --email`, set or removed on the account page
after re-authentication, validated (any text is a form error, never a 500), the old address told
of a change; MAIL_* settings validated."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import create_app
from app.config import ConfigError
from app.extensions import db
from app.mail import normalize_address
from app.models import User
from tests.conftest import PASSWORD, csrf_from
from tests.support.reauth import age_authentication


def email_of(app, username: str) -> str | None:
    with app.app_context():
        return db.session.scalar(db.select(User.email).where(User.username == username))


def post_email(client, value: str):
    token = csrf_from(client.get("/account/security").get_data(as_text=True))
    return client.post("/account/email", data={"email": value, "csrf_token": token})


def test_users_create_takes_an_email(app):
    args = ["users", "create", "dora", "--email", "Dora@Example.COM"]
    result = app.test_cli_runner().invoke(args=args, input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "<Dora@example.com>" in result.output and email_of(app, "dora") == "Dora@example.com"


@pytest.mark.parametrize("bad", ["dora", "dora@", "@example.com", "a@b", "a b@example.com", "x@exa_mple.com"])
def test_users_create_refuses_a_bad_email_and_creates_nothing(app, bad):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "dora", "--email", bad], input=PASSWORD + "\n"
    )
    assert result.exit_code != 0 and "--email:" in result.output
    with app.app_context():
        assert db.session.scalar(db.select(User).where(User.username == "dora")) is None


def test_two_accounts_may_share_an_address(app):
    for name in ("dora", "dora2"):
        args = ["users", "create", name, "--email", "family@example.com"]
        assert app.test_cli_runner().invoke(args=args, input=PASSWORD + "\n").exit_code == 0


def test_the_account_page_sets_and_removes_the_address(app, client, auth, make_user):
    make_user("alice")
    auth.login("alice")
    response = post_email(client, " alice@Example.org ")
    assert response.status_code == 302 and email_of(app, "alice") == "alice@example.org"
    assert 'value="alice@example.org"' in client.get("/account/security").get_data(as_text=True)
    assert post_email(client, "").status_code == 302 and email_of(app, "alice") is None


def test_changing_the_address_needs_a_recent_authentication(app, client, auth, make_user):
    make_user("alice")
    auth.login("alice")
    age_authentication(client, 301)
    response = post_email(client, "thief@example.net")
    assert response.status_code == 303 and "/auth/reauth" in response.headers["Location"]
    assert email_of(app, "alice") is None


def test_a_bad_address_is_a_form_error(app, client, auth, make_user):
    make_user("alice")
    auth.login("alice")
    response = post_email(client, "not an address")
    assert response.status_code == 400 and "such as name@example.com" in response.get_data(as_text=True)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=400))
def test_any_text_is_stored_normalized_or_refused_with_a_message(app, make_user, text):
    with app.app_context():
        if not db.session.scalar(db.select(User).where(User.username == "alice")):
            make_user("alice")
    client = app.test_client()
    from tests.conftest import AuthActions

    AuthActions(client).login("alice")
    response = post_email(client, text)
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        stored = email_of(app, "alice")
        assert stored is None or stored == normalize_address(stored)


@given(st.text(max_size=400))
def test_normalize_address_answers_an_address_or_a_value_error(text):
    try:
        address = normalize_address(text)
    except ValueError as error:
        assert str(error)
    else:
        assert "\n" not in address and "\r" not in address and address.count("@") >= 1


@pytest.mark.parametrize(
    ("setting", "match"),
    [
        ({"MAIL_FROM": "not an address"}, "MAIL_FROM"),
        ({"MAIL_SMTP_HOST": "mail.example.com", "MAIL_SMTP_USERNAME": "u"}, "MAIL_SMTP_STARTTLS"),
        ({"MAIL_SMTP_PORT": "0"}, "MAIL_SMTP_PORT"),
        ({"ACCOUNT_NOTICES_PER_HOUR": "-1"}, "ACCOUNT_NOTICES_PER_HOUR"),
    ],
)
def test_mail_settings_are_validated(tmp_path, setting, match):
    with pytest.raises(ConfigError, match=match):
        create_app({"PORTAL_ENV": "testing", "INSTANCE_PATH": str(tmp_path), **setting})
