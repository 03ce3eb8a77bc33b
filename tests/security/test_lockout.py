"""Sign-in lockouts that strangers cannot turn against the account's owner: device cookies
(OWASP), limits per address and per account for unknown browsers, per device for known ones."""

from __future__ import annotations

import pytest

from app.auth.devices import COOKIE_NAME
from app.extensions import db
from app.models import User
from app.signals import lockout_lifted
from tests.conftest import PASSWORD, csrf_from
from tests.security.conftest import events

pytestmark = [
    pytest.mark.plugins("security"),
    pytest.mark.config(RATE_LIMIT_AUTH="10 per 15 minutes", RATE_LIMIT_AUTH_ACCOUNT="5 per 15 minutes"),
]
WRONG = "not the password at all"


def attempt(client, username: str, password: str, ip: str | None = None):
    """One sign-in through the form, from ``ip`` (an X-Forwarded-For behind the trusted proxy)."""
    headers = {"X-Forwarded-For": ip} if ip else {}
    token = csrf_from(client.get("/auth/login", headers=headers).get_data(as_text=True))
    return client.post(
        "/auth/login",
        data={"username": username, "password": password, "csrf_token": token},
        headers=headers,
    )


def checked_passwords(app) -> int:
    """How many sign-ins had their password checked and failed (each one sends LOGIN_FAILURE)."""
    return len(events(app, event_type="LOGIN_FAILURE"))


def owner_browser(app, username: str = "carol"):
    """A browser that signed in as ``username`` once and signed out again (it keeps its cookie)."""
    browser = app.test_client()
    assert attempt(browser, username, PASSWORD).status_code == 302
    token = csrf_from(browser.get("/auth/password").get_data(as_text=True))
    browser.post("/auth/logout", data={"csrf_token": token})
    assert browser.get_cookie(COOKIE_NAME) is not None
    return browser


def test_a_stranger_locks_the_account_but_not_its_owners_browser(app, make_user):
    make_user("carol")
    owner = owner_browser(app)
    stranger = app.test_client()
    codes = [attempt(stranger, "  CAROL ", WRONG).status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    # Another browser without a device cookie is locked out, even with the right password ...
    other = app.test_client()
    locked = attempt(other, "carol", PASSWORD)
    assert locked.status_code == 429 and 800 < int(locked.headers["Retry-After"]) <= 900
    page = locked.get_data(as_text=True)
    assert "A browser you have signed in with before can still sign in" in page
    assert "try again in 15 minutes" in page
    # ... while the owner's usual browser signs in, under either spelling of her name.
    assert attempt(owner, "carol", PASSWORD).status_code == 302
    owner.post(
        "/auth/logout", data={"csrf_token": csrf_from(owner.get("/auth/password").get_data(as_text=True))}
    )
    assert attempt(owner, "  CAROL ", PASSWORD).status_code == 302


def test_the_owners_browser_is_limited_by_its_own_failures(app, make_user):
    make_user("carol")
    owner = owner_browser(app)
    second = owner_browser(app)
    assert [attempt(owner, "carol", WRONG).status_code for _ in range(6)] == [401] * 5 + [429]
    assert attempt(second, "carol", PASSWORD).status_code == 302  # her other browser: its own count
    stranger = app.test_client()
    assert attempt(stranger, "carol", WRONG).status_code == 401  # the account's count is untouched


@pytest.mark.config(TRUSTED_PROXY_COUNT=1)
def test_guesses_from_twenty_addresses_stay_capped_per_account(app, make_user):
    make_user("carol")
    owner = owner_browser(app)
    codes = []
    for n in range(20):
        stranger = app.test_client()
        codes += [attempt(stranger, "carol", WRONG, ip=f"198.51.100.{n}").status_code for _ in range(2)]
    assert codes.count(401) == 5 and codes.count(429) == 35
    assert checked_passwords(app) == 5
    assert attempt(owner, "carol", PASSWORD, ip="203.0.113.77").status_code == 302


@pytest.mark.config(TRUSTED_PROXY_COUNT=1, RATE_LIMIT_AUTH="4 per 15 minutes")
def test_guesses_from_one_address_stay_capped_across_accounts(app, make_user):
    # (Four, not ten: from five usernames on, threat detection blocks the address as well.)
    stranger = app.test_client()
    codes = [attempt(stranger, f"user{n}", WRONG, ip="198.51.100.1").status_code for n in range(6)]
    assert codes == [401] * 4 + [429] * 2
    assert checked_passwords(app) == 4


def test_a_password_change_voids_the_device_cookies(app, make_user):
    make_user("carol")
    owner = owner_browser(app)
    old_cookie = owner.get_cookie(COOKIE_NAME).value
    assert attempt(owner, "carol", PASSWORD).status_code == 302
    token = csrf_from(owner.get("/auth/password").get_data(as_text=True))
    changed = owner.post(
        "/auth/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a new passphrase 42",
            "confirm_password": "a new passphrase 42",
            "csrf_token": token,
        },
    )
    assert changed.status_code == 302
    assert owner.get_cookie(COOKIE_NAME).value != old_cookie  # this browser got a new one
    stranger = app.test_client()
    assert [attempt(stranger, "carol", WRONG).status_code for _ in range(5)] == [401] * 5
    # A copy of the old cookie (a browser that knew the old password) is an unknown browser now.
    copy = app.test_client()
    copy.set_cookie(COOKIE_NAME, old_cookie)
    assert attempt(copy, "carol", "a new passphrase 42").status_code == 429
    token = csrf_from(owner.get("/auth/password").get_data(as_text=True))
    owner.post("/auth/logout", data={"csrf_token": token})
    assert attempt(owner, "carol", "a new passphrase 42").status_code == 302


@pytest.mark.parametrize(
    "cookie",
    ["", "garbage", "x" * 600, "eyJ1IjoxLCJkIjoiYWJjIiwiYiI6Inh4In0.forged.signature"],
)
def test_a_forged_or_broken_device_cookie_is_an_unknown_browser(app, make_user, cookie):
    make_user("carol")
    stranger = app.test_client()
    assert [attempt(stranger, "carol", WRONG).status_code for _ in range(5)] == [401] * 5
    forger = app.test_client()
    forger.set_cookie(COOKIE_NAME, cookie)
    assert attempt(forger, "carol", PASSWORD).status_code == 429


def test_a_device_cookie_counts_only_for_its_own_user(app, make_user):
    make_user("carol")
    make_user("mallory")
    mallory = owner_browser(app, "mallory")
    stranger = app.test_client()
    assert [attempt(stranger, "carol", WRONG).status_code for _ in range(5)] == [401] * 5
    assert attempt(mallory, "carol", WRONG).status_code == 429  # her cookie names mallory


def test_the_device_cookie_is_signed_httponly_lax_and_long_lived(app, make_user):
    make_user("carol")
    browser = app.test_client()
    response = attempt(browser, "carol", PASSWORD)
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE_NAME + "="))
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Max-Age=31536000" in header
    assert "Secure" not in header
    assert "carol" not in header and PASSWORD not in header
    secure = app.test_client()
    token = csrf_from(secure.get("/auth/login", base_url="https://localhost").get_data(as_text=True))
    over_https = secure.post(
        "/auth/login",
        base_url="https://localhost",
        data={"username": "carol", "password": PASSWORD, "csrf_token": token},
        headers={"Referer": "https://localhost/auth/login"},  # flask-wtf's check over HTTPS
    )
    assert over_https.status_code == 302
    header = next(h for h in over_https.headers.getlist("Set-Cookie") if h.startswith(COOKIE_NAME + "="))
    assert "Secure" in header


def test_failed_sign_ins_never_set_a_device_cookie(app, make_user):
    make_user("carol")
    stranger = app.test_client()
    assert attempt(stranger, "carol", WRONG).status_code == 401
    assert stranger.get_cookie(COOKIE_NAME) is None


@pytest.mark.config(TRUSTED_PROXY_COUNT=1)
def test_lifting_the_lockout_clears_the_account_and_every_browser_of_it(app, make_user):
    carol = make_user("carol")
    owner = owner_browser(app)
    stranger = app.test_client()
    assert [attempt(stranger, "carol", WRONG, ip="198.51.100.9").status_code for _ in range(6)][-1] == 429
    assert [attempt(owner, "carol", WRONG, ip="203.0.113.7").status_code for _ in range(6)][-1] == 429
    with app.app_context():
        lockout_lifted.send(app, user=db.session.get(User, carol.id))
    assert attempt(stranger, "carol", WRONG, ip="198.51.100.9").status_code == 401
    assert attempt(owner, "carol", PASSWORD, ip="203.0.113.7").status_code == 302


def test_any_device_cookie_text_is_refused_quietly(app, make_user):
    """Property: whatever a browser sends as the device cookie, it is never trusted unless we
    signed it for this user, and reading it never fails."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from app.auth.devices import device_of

    carol = make_user("carol")
    cookie_text = st.text(
        alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=';,\\"'), max_size=700
    )

    @settings(max_examples=200, deadline=None)
    @given(value=cookie_text)
    def check(value):
        with app.test_request_context(headers={"Cookie": f"{COOKIE_NAME}={value}"}):
            assert device_of(db.session.get(User, carol.id)) is None

    check()


def test_a_bad_device_limit_names_the_variable():
    from app import ConfigError, create_app

    with pytest.raises(ConfigError, match="RATE_LIMIT_AUTH_DEVICE"):
        create_app({"PORTAL_ENV": "testing", "PORTAL_PLUGINS": "security", "RATE_LIMIT_AUTH_DEVICE": "often"})
    with pytest.raises(ConfigError, match="DEVICE_COOKIE_MAX_AGE_DAYS"):
        create_app({"PORTAL_ENV": "testing", "DEVICE_COOKIE_MAX_AGE_DAYS": "0"})
