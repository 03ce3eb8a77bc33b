"""Breached and common passwords are refused at every password set (the change form, the command
line) against the list shipped with the zxcvbn package, variants included; PASSWORD_BREACH_CHECK
turns it off; the check gives an answer for any text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app import create_app
from app.auth.breached import BREACHED_MESSAGE, is_breached, listed_passwords, variants
from app.config import ConfigError
from app.extensions import db
from app.models import User
from tests.conftest import PASSWORD

LISTED = ["password123", "qwertyuiop12", "iloveyou1234"]
VARIANTS = ["P@ssw0rd2024!", "Dragon123456", "monkeymonkey", "  Summer2024!! ", "Trust No One 1234"]
FINE = [PASSWORD, "a brand new passphrase 42", "another long passphrase 42", "plover-tundra-sextant-9"]


def test_the_list_ships_with_the_package_and_is_large():
    assert len(listed_passwords()) > 25_000


@pytest.mark.parametrize("password", LISTED + VARIANTS)
def test_listed_passwords_and_their_trivial_variants_are_breached(password):
    assert is_breached(password)


@pytest.mark.parametrize("password", FINE)
def test_the_suites_passwords_and_passphrases_are_not(password):
    assert not is_breached(password)


@given(st.text(max_size=300))
def test_the_check_answers_for_any_text(text):
    assert is_breached(text) in (True, False)
    assert all(isinstance(form, str) and form for form in variants(text))


def change_password(auth, new: str):
    return auth.post(
        "/auth/password", {"current_password": PASSWORD, "new_password": new, "confirm_password": new}
    )


def test_the_password_change_form_refuses_a_breached_password(app, client, auth, make_user):
    alice = make_user("alice")
    auth.login("alice")
    with app.app_context():
        before = db.session.get(User, alice.id).password_hash
    response = change_password(auth, "Dragon123456")
    assert response.status_code == 400
    assert "breached and common passwords" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, alice.id).password_hash == before
    assert change_password(auth, "plover-tundra-sextant-9").status_code == 302


def test_the_command_line_refuses_a_breached_password(app):
    result = app.test_cli_runner().invoke(args=["users", "create", "dora"], input="qwertyuiop12\n")
    assert result.exit_code != 0 and BREACHED_MESSAGE[:40] in result.output
    with app.app_context():
        assert db.session.scalar(db.select(User).where(User.username == "dora")) is None


@pytest.mark.config(PASSWORD_BREACH_CHECK=False)
def test_the_check_can_be_turned_off(app):
    result = app.test_cli_runner().invoke(args=["users", "create", "dora"], input="qwertyuiop12\n")
    assert result.exit_code == 0, result.output


def test_the_setting_is_validated(tmp_path):
    with pytest.raises(ConfigError, match="PASSWORD_BREACH_CHECK"):
        create_app(
            {"PORTAL_ENV": "testing", "PASSWORD_BREACH_CHECK": "perhaps", "INSTANCE_PATH": str(tmp_path)}
        )


def test_the_demo_seed_passwords_pass(app):
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output


def test_the_reset_command_refuses_a_breached_password_and_keeps_the_old(app, make_user):
    alice = make_user("alice")
    with app.app_context():
        before = db.session.get(User, alice.id).password_hash
    result = app.test_cli_runner().invoke(args=["users", "set-password", "alice"], input="Password1234!\n")
    assert result.exit_code != 0 and BREACHED_MESSAGE[:40] in result.output
    with app.app_context():
        assert db.session.get(User, alice.id).password_hash == before


def test_the_reset_command_names_an_unknown_user(app):
    result = app.test_cli_runner().invoke(args=["users", "set-password", "nobody"], input=PASSWORD + "\n")
    assert result.exit_code != 0 and "No user called 'nobody'" in result.output


def test_the_password_form_says_breached_passwords_are_refused(client, auth, make_user):
    make_user("alice")
    auth.login("alice")
    assert "breached passwords attackers try first" in client.get("/auth/password").get_data(as_text=True)
