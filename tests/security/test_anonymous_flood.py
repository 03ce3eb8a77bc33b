"""Anonymous traffic cannot flood the audit log: one address probing unknown URLs, query strings
and the sign-in form is limited and banned like any other client, its repeated identical
detections are stored once with a count, and a real user elsewhere is unaffected."""

from __future__ import annotations

import pytest

from app.extensions import db
from plugins.security.models import SecurityEvent
from tests.conftest import csrf_from

pytestmark = pytest.mark.plugins("security")
PROBER, OFFICE = "203.0.113.66", "192.0.2.50"


def _rows(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count(SecurityEvent.id)))


def probe(client, number: int):
    """One of three probes a scanner cycles through, from the prober's address."""
    environ = {"REMOTE_ADDR": PROBER}
    kind = number % 3
    if kind == 0:
        return client.get(f"/files/{number}/../../../etc/passwd", environ_base=environ)
    if kind == 1:
        return client.get(f"/?id=1' UNION SELECT password FROM users--&n={number}", environ_base=environ)
    return client.post("/auth/login", data={"username": f"u{number}", "password": "x"}, environ_base=environ)


def test_three_hundred_anonymous_probes_write_a_hundred_rows_at_most(app, client, make_user):
    make_user("alice")
    before = _rows(app)
    statuses = [probe(client, number).status_code for number in range(300)]
    written = _rows(app) - before
    refused = sum(code in (403, 429) for code in statuses)
    assert written <= 100, (written, refused)
    assert refused >= 100, statuses
    assert 500 not in statuses
    office = app.test_client()
    environ = {"REMOTE_ADDR": OFFICE}
    token = csrf_from(office.get("/auth/login", environ_base=environ).get_data(as_text=True))
    signed_in = office.post(
        "/auth/login",
        data={"username": "alice", "password": "correct horse battery staple", "csrf_token": token},
        environ_base=environ,
    )
    assert signed_in.status_code == 302
    assert [office.get("/", environ_base=environ).status_code for _ in range(5)] == [200] * 5


@pytest.mark.config(
    RATE_LIMIT_MAX_REQUESTS=3, SECURITY_BAN_THRESHOLD="2 per minute", SECURITY_BAN_CACHE_SECONDS=0
)
def test_unknown_urls_count_under_the_default_limit_and_lead_to_a_ban(app, client):
    environ = {"REMOTE_ADDR": PROBER}
    codes = [client.get(f"/no-such-page-{n}", environ_base=environ).status_code for n in range(5)]
    assert codes == [404, 404, 404, 429, 429]
    banned = client.get("/auth/login", environ_base=environ)  # a known page: the address is banned
    assert banned.status_code == 429 and int(banned.headers["Retry-After"]) > 0
    assert client.get("/auth/login", environ_base={"REMOTE_ADDR": OFFICE}).status_code == 200


@pytest.mark.config(RATE_LIMIT_AUTH="3 per minute")
def test_sign_in_posts_without_a_csrf_token_meet_the_sign_in_limit(app, client):
    environ = {"REMOTE_ADDR": PROBER}
    codes = [
        client.post("/auth/login", data={"username": "x", "password": "y"}, environ_base=environ).status_code
        for _ in range(5)
    ]
    assert codes == [400, 400, 400, 429, 429]
    page = client.get("/auth/login", environ_base=environ)
    assert page.status_code == 200  # viewing the sign-in page is never limited


@pytest.mark.config(RATE_LIMIT_AUTH="2 per minute", RATE_LIMIT_AUTH_ACCOUNT="50 per minute")
def test_a_signed_in_users_password_form_errors_do_not_meet_the_sign_in_limit(app, client, auth, make_user):
    make_user("alice")
    auth.login()
    for _ in range(4):
        mismatch = {"current_password": "correct horse battery staple", "new_password": "a" * 20}
        response = auth.post("/auth/password", {**mismatch, "confirm_password": "b" * 20})
        assert response.status_code == 400
