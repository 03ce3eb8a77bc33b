"""The "sign-in was locked" notice for the per-account limit on wrong passwords, through a real
SMTP server on 127.0.0.1: the attacker guesses from many addresses, the victim gets one mail
(sent by the guess that locked the account, never by the refused ones), without a password."""

from __future__ import annotations

import random
import threading

import pytest
from limits import RateLimitItemPerHour

from app.extensions import db, limiter
from app.mail import mailer
from app.models import User
from app.signals import lockout_lifted
from tests.account.conftest import body_of
from tests.conftest import PASSWORD, REDIS_URL, csrf_from

pytestmark = [
    pytest.mark.plugins("security"),
    pytest.mark.config(
        TRUSTED_PROXY_COUNT=1,
        RATE_LIMIT_AUTH="10 per 15 minutes",
        RATE_LIMIT_AUTH_ACCOUNT="5 per 15 minutes",
    ),
]
VICTIM = "carol@example.com"
WRONG = "a wrong guess 7731"


@pytest.fixture
def app(mail_app):
    return mail_app


@pytest.fixture
def carol(app, make_user):
    user = make_user("carol")
    with app.app_context():
        db.session.get(User, user.id).email = VICTIM
        db.session.commit()
    return user


def attempt(client, password: str, ip: str, username: str = "carol") -> int:
    headers = {"X-Forwarded-For": ip}
    token = csrf_from(client.get("/auth/login", headers=headers).get_data(as_text=True))
    response = client.post(
        "/auth/login",
        data={"username": username, "password": password, "csrf_token": token},
        headers=headers,
    )
    return response.status_code


def victims_mail(app, smtp_inbox) -> list:
    assert mailer(app).wait_idle(), "the mail queue did not drain"
    return smtp_inbox.to(VICTIM)


def lock_notices(app, smtp_inbox) -> list:
    return [message for message in victims_mail(app, smtp_inbox) if "locked" in message["Subject"]]


def an_hour_passes(app, user_id: int) -> None:
    """The lock notices' hourly allowance is spent again (what an hour's wait would do)."""
    with app.app_context():
        limiter.strategy.clear(RateLimitItemPerHour(1), "account-notice-locked", str(user_id))


def test_many_addresses_lock_the_account_and_the_victim_gets_one_notice(app, carol, smtp_inbox):
    codes = []
    for n in range(30):  # thirty addresses, three guesses each: a botnet's spray
        stranger = app.test_client()
        codes += [attempt(stranger, WRONG, f"198.51.100.{n}") for _ in range(3)]
    assert codes.count(401) == 5 and codes.count(429) == 85
    [notice] = victims_mail(app, smtp_inbox)  # one mail, and nothing else for her
    assert notice["To"] == VICTIM and "Sign-in to your account was locked" in notice["Subject"]
    body = body_of(notice)
    # The address of the guess that locked it: the fifth guess, the second address's second.
    assert "Address: 198.51.100.1" in body.splitlines()
    text = notice.as_string()
    assert WRONG not in text and PASSWORD not in text and "csrf" not in text.lower()


def test_the_guess_that_locks_sends_the_notice_not_the_refused_ones(app, carol, smtp_inbox):
    stranger = app.test_client()
    assert [attempt(stranger, WRONG, f"203.0.113.{n}") for n in range(4)] == [401] * 4
    assert lock_notices(app, smtp_inbox) == []  # four wrong guesses: not locked yet
    assert attempt(stranger, WRONG, "203.0.113.4") == 401  # the fifth takes the last place
    assert len(lock_notices(app, smtp_inbox)) == 1
    an_hour_passes(app, carol.id)  # even with the allowance back, refusals tell nothing
    assert [attempt(stranger, WRONG, f"203.0.113.{n}") for n in range(5, 25)] == [429] * 20
    assert len(lock_notices(app, smtp_inbox)) == 1


def test_each_lock_is_told_once_and_at_most_once_an_hour(app, carol, smtp_inbox):
    stranger = app.test_client()

    def lock_it(first: int) -> None:
        codes = [attempt(stranger, WRONG, f"192.0.2.{first + n}") for n in range(8)]
        assert codes == [401] * 5 + [429] * 3

    def unlock() -> None:  # an administrator's Unlock
        with app.test_request_context():
            lockout_lifted.send(app, user=db.session.get(User, carol.id))

    lock_it(0)
    assert len(lock_notices(app, smtp_inbox)) == 1
    unlock()
    lock_it(10)  # locked again within the hour: the owner heard of it already
    assert len(lock_notices(app, smtp_inbox)) == 1
    unlock()
    an_hour_passes(app, carol.id)
    lock_it(20)  # a lock after the hour is a new notice
    assert len(lock_notices(app, smtp_inbox)) == 2


def burst(app, username: str, guesses: int, network: str = "198.18") -> list[int]:
    """``guesses`` wrong passwords for ``username`` at once, each from its own address."""
    start = threading.Barrier(guesses)
    codes: list[int] = []

    def guess(n: int) -> None:
        client = app.test_client()
        token = csrf_from(client.get("/auth/login").get_data(as_text=True))
        start.wait()
        response = client.post(
            "/auth/login",
            data={"username": username, "password": WRONG, "csrf_token": token},
            headers={"X-Forwarded-For": f"{network}.{n // 200}.{n % 200}"},
        )
        codes.append(response.status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return codes


def test_a_concurrent_burst_from_many_addresses_sends_one_notice(app, carol, smtp_inbox):
    """Forty guesses at once: the ones that fit the account's five places all see it full."""
    codes = burst(app, "carol", 40)
    assert codes.count(401) == 5 and codes.count(429) == 35
    assert len(lock_notices(app, smtp_inbox)) == 1


@pytest.mark.redis
@pytest.mark.config(RATELIMIT_STORAGE_URI=REDIS_URL or "memory://")
def test_a_concurrent_burst_on_redis_sends_one_notice(app, make_user, smtp_inbox):
    """The limits and the notices' allowance in Redis (as with several workers): a username of
    this run only, and its allowance cleared first, since Redis outlives the test database."""
    name = f"victim{random.randint(10**6, 10**9)}"
    victim = make_user(name)
    with app.app_context():
        db.session.get(User, victim.id).email = VICTIM
        db.session.commit()
    an_hour_passes(app, victim.id)
    codes = burst(app, name, 40, network=f"10.{random.randint(0, 255)}")  # addresses of this run too
    assert codes.count(401) == 5 and codes.count(429) == 35
    assert len(lock_notices(app, smtp_inbox)) == 1


def test_an_unknown_name_and_a_user_without_an_address_send_nothing(app, make_user, smtp_inbox):
    make_user("dave")  # no e-mail address
    stranger = app.test_client()
    for name in ("dave", "nobody-here"):
        codes = [attempt(stranger, WRONG, f"198.51.100.{n}", username=name) for n in range(6)]
        assert codes == [401] * 5 + [429]
    assert mailer(app).wait_idle()
    assert smtp_inbox.messages == []


def test_the_owners_own_browser_signs_in_and_is_not_told_of_a_new_browser(app, carol, smtp_inbox):
    """Her usual browser (a device cookie) still signs in while locked, and the lock notice is
    the only mail the strangers caused."""
    owner = app.test_client()
    assert attempt(owner, PASSWORD, "203.0.113.200") == 302
    victims_mail(app, smtp_inbox)
    smtp_inbox.messages.clear()  # her first sign-in's "new browser" notice
    owner.post(
        "/auth/logout", data={"csrf_token": csrf_from(owner.get("/account/security").get_data(as_text=True))}
    )
    for n in range(8):
        attempt(app.test_client(), WRONG, f"198.51.100.{n}")
    assert attempt(owner, PASSWORD, "203.0.113.200") == 302
    [notice] = victims_mail(app, smtp_inbox)
    assert "locked" in notice["Subject"]
    # The lock is on her account's recent activity too, with the address of the guess that did it.
    html = owner.get("/account/security").get_data(as_text=True)
    activity = html[html.index('id="activity"') :]
    assert activity.count("sign-in locked for new browsers after repeated wrong passwords") == 1
    assert "198.51.100.4" in activity


def test_a_stolen_session_guessing_the_current_password_locks_and_tells(app, carol, smtp_inbox):
    """A thief with the session cookie alone (no device cookie) guesses the current password on
    the change form: those guesses count for the account, and locking it tells the owner."""
    thief = app.test_client()
    assert attempt(thief, PASSWORD, "203.0.113.9") == 302
    thief.delete_cookie("portal_device")
    victims_mail(app, smtp_inbox)
    smtp_inbox.messages.clear()  # the sign-in's "new browser" notice
    codes = []
    for n in range(7):
        token = csrf_from(thief.get("/auth/password").get_data(as_text=True))
        form = {"current_password": f"{WRONG} {n}", "new_password": "x" * 20, "confirm_password": "x" * 20}
        response = thief.post(
            "/auth/password", data={**form, "csrf_token": token}, headers={"X-Forwarded-For": "203.0.113.9"}
        )
        codes.append(response.status_code)
    assert codes == [401] * 5 + [429] * 2
    [notice] = victims_mail(app, smtp_inbox)
    assert "locked" in notice["Subject"] and WRONG not in notice.as_string()
