"""Rate limiting: policies, failed sign-ins per IP and account, headers, 429 pages, dry run,
escalating bans with admin lift, the client IP, and the core limiter's decorated views."""

from __future__ import annotations

import pytest
from flask import Flask

from app.access import public
from app.auth.service import keyed_digest
from app.extensions import db
from app.signals import request_rate_limited
from plugins.security.models import IpBan, RateLimitRecord
from plugins.security.rejection import flush_rejections
from tests.conftest import PASSWORD, AuthActions
from tests.security.conftest import events

# flask-limiter's headers and Retry-After: a refusal's, not an admitted answer's
ADMITTED_ANSWERS_LACK = {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"}


def _ratelimit_field(answer) -> dict[str, int]:
    """The IETF ``RateLimit`` field, ``"api";r=2;t=59``, as {"r": 2, "t": 59}."""
    _, *parameters = answer.headers["RateLimit"].split(";")
    return {key: int(value) for key, value in (parameter.split("=") for parameter in parameters)}


pytestmark = pytest.mark.plugins("security")


def _account(app, name: str) -> str:
    with app.app_context():
        return "account:" + keyed_digest(name)


def _rejections(app):
    flush_rejections(app)  # a 429 only counts in memory; the writer adds the counts up
    with app.app_context():
        return {
            (r.identifier, r.endpoint): r.request_count
            for r in db.session.scalars(db.select(RateLimitRecord))
        }


@pytest.mark.config(RATE_LIMIT_AUTH_ACCOUNT="3 per minute", RATE_LIMIT_AUTH="50 per minute")
def test_failed_sign_ins_per_account_then_429_even_with_the_right_password(client, auth, make_user, app):
    make_user("alice")
    assert [auth.login("alice", "wrong password!!").status_code for _ in range(3)] == [401, 401, 401]
    blocked = auth.login("alice", PASSWORD)
    assert blocked.status_code == 429
    assert "Too many requests" in blocked.get_data(as_text=True)
    assert blocked.mimetype == "text/html"
    assert 0 < int(blocked.headers["Retry-After"]) <= 60
    assert blocked.headers["X-RateLimit-Limit"] == "3"
    assert blocked.headers["X-RateLimit-Remaining"] == "0"
    assert blocked.headers["RateLimit-Policy"] == '"auth";q=3;w=60'
    assert blocked.headers["RateLimit"].startswith('"auth";r=0;t=')
    assert _rejections(app) == {(_account(app, "alice"), "auth.login"): 1}
    # another account from the same address is still allowed
    make_user("bob")
    assert auth.login("bob", PASSWORD).status_code == 302


@pytest.mark.config(RATE_LIMIT_AUTH_ACCOUNT="3 per minute", RATE_LIMIT_AUTH="50 per minute")
def test_a_password_typed_as_the_username_is_never_recorded(client, auth, app, caplog):
    pasted = "Hunter2-SuperSecret-pw"
    codes = [auth.login(pasted, "wrong password!!").status_code for _ in range(5)]
    assert codes == [401, 401, 401, 429, 429]
    recorded = [str(key) for key in _rejections(app)]
    recorded += [str(event) for event in events(app)]
    recorded += [caplog.text]
    assert recorded and not any(pasted.lower() in text.lower() for text in recorded)
    assert _rejections(app) == {(_account(app, pasted.lower()), "auth.login"): 2}


@pytest.mark.config(RATE_LIMIT_AUTH_ACCOUNT="3 per minute", RATE_LIMIT_AUTH="50 per minute")
def test_wrong_current_passwords_on_password_change_are_limited_per_browser_and_account(
    client, auth, make_user, app
):
    """A stolen session cannot guess the current password it needs to take the account over:
    from the browser that signed in, its own failures count (its device cookie); a copy of the
    session cookie alone is counted against the account. (Before device cookies both were
    counted per account.)"""
    make_user("alice")
    assert auth.login("alice", PASSWORD).status_code == 302
    form = {
        "current_password": "a wrong guess!!",
        "new_password": "new passphrase 99",
        "confirm_password": "new passphrase 99",
    }
    codes = [auth.post("/auth/password", form).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    assert _rejections(app) == {("device:user-1", "auth.password"): 1}
    failures = events(app, event_type="LOGIN_FAILURE")
    assert len(failures) == 3 and all(e["metadata"]["stage"] == "password_change" for e in failures)
    thief = app.test_client()
    thief.set_cookie("portal_session", client.get_cookie("portal_session").value)
    stolen = AuthActions(thief)
    codes = [stolen.post("/auth/password", form).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    assert _rejections(app)[(_account(app, "alice"), "auth.password")] == 1


@pytest.mark.config(RATE_LIMIT_AUTH_ACCOUNT="3 per minute")
def test_successful_sign_ins_are_not_counted(client, auth, make_user):
    make_user("alice")
    for _ in range(5):
        assert auth.login("alice", PASSWORD).status_code == 302
        auth.logout()


@pytest.mark.config(RATE_LIMIT_AUTH="3 per minute", RATE_LIMIT_AUTH_ACCOUNT="50 per minute")
def test_failed_sign_ins_per_ip_across_usernames(client, auth, app):
    codes = [auth.login(f"user{n}", "wrong password!!").status_code for n in range(4)]
    assert codes == [401, 401, 401, 429]
    assert _rejections(app) == {("ip:127.0.0.1", "auth.login"): 1}


@pytest.mark.config(RATE_LIMIT_ENDPOINTS="api.openapi=5 per minute")
def test_api_burst_gets_json_429_counted_recorded_and_signalled(client, app):
    seen = []

    def receiver(sender, **kwargs):
        seen.append(kwargs)

    request_rate_limited.connect(receiver, sender=app)
    try:
        codes = [client.get("/api/v1/openapi.json").status_code for _ in range(8)]
    finally:
        request_rate_limited.disconnect(receiver, sender=app)
    assert codes == [200] * 5 + [429] * 3
    response = client.get("/api/v1/openapi.json")
    assert response.is_json and response.json["status"] == 429 and response.json["retry_after"] > 0
    assert _rejections(app) == {("ip:127.0.0.1", "api.openapi"): 4}
    assert len(seen) == 3 and seen[0] == {
        "identifier": "ip:127.0.0.1",
        "endpoint": "api.openapi",
        "limit": "5 per 1 minute",
    }
    # The four rejections are one stored event and, once its window is over, one with the count.
    from plugins.security.repeats import flush

    assert flush(app) == 1
    limited = [
        e
        for e in events(app, event_type="SUSPICIOUS_ACTIVITY")
        if e["metadata"].get("reason") == "rate_limit"
    ]
    assert len(limited) == 2 and limited[0]["metadata"]["endpoint"] == "api.openapi"
    assert "repeats" not in limited[0]["metadata"] and limited[1]["metadata"]["repeats"] == 3


@pytest.mark.config(RATE_LIMIT_MAX_REQUESTS=3, RATE_LIMIT_WINDOW_MS=60_000)
def test_default_policy_is_keyed_by_user_when_signed_in(app, make_user):
    from tests.conftest import AuthActions

    make_user("alice")
    make_user("bob")
    alice, bob = app.test_client(), app.test_client()
    AuthActions(alice).login("alice")
    AuthActions(bob).login("bob")
    assert [alice.get("/").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert bob.get("/").status_code == 200  # same IP, other user: own allowance
    assert ("user:1", "core.home") in _rejections(app)


@pytest.mark.config(RATE_LIMIT_MAX_REQUESTS=5, RATE_LIMIT_WINDOW_MS=60_000)
def test_counted_requests_carry_their_limit_and_uncounted_ones_none(client, auth, make_user):
    """The IETF rate-limit fields come with every request a limit counts (flask-limiter's only
    with a refusal); a sign-in page's GET, which no limit counts, skips the limiter and carries
    none (and never runs out)."""
    for _ in range(8):
        page = client.get("/auth/login")
        assert page.status_code == 200
        assert "X-RateLimit-Limit" not in page.headers and "RateLimit" not in page.headers
    make_user("alice")
    auth.login("alice")
    remaining = []
    for _ in range(2):
        home = client.get("/")
        assert home.status_code == 200
        assert home.headers["RateLimit-Policy"] == '"default";q=5;w=60'
        assert not ADMITTED_ANSWERS_LACK & set(home.headers.keys())
        remaining.append(_ratelimit_field(home)["r"])
    assert remaining == [remaining[0], remaining[0] - 1]


@pytest.mark.config(RATE_LIMIT_MAX_REQUESTS=2, RATE_LIMIT_WINDOW_MS=60_000)
def test_static_files_and_health_checks_are_exempt(client):
    codes = set()
    for _ in range(6):
        with client.get("/static/portal.css") as response:
            codes.add(response.status_code)
    assert codes == {200}
    assert {client.get("/healthz").status_code for _ in range(6)} == {200}


@pytest.mark.config(RATE_LIMIT_ENDPOINTS="api.openapi=2 per minute", RATE_LIMIT_DRY_RUN=True)
def test_dry_run_logs_without_rejecting(client, app):
    from plugins.security.repeats import flush

    assert {client.get("/api/v1/openapi.json").status_code for _ in range(4)} == {200}
    flush(app)  # the second would-be rejection is counted on the first one's event
    would = [e for e in events(app) if e["metadata"].get("dry_run")]
    assert len(would) == 2 and would[1]["metadata"]["repeats"] == 1
    assert _rejections(app) == {}


@pytest.mark.config(RATE_LIMIT_ENDPOINTS="api.openapi=2 per minute")
def test_forwarded_for_is_ignored_without_trusted_proxies(client):
    codes = [
        client.get("/api/v1/openapi.json", headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
        for n in range(3)
    ]
    assert codes == [200, 200, 429]


@pytest.mark.config(RATE_LIMIT_ENDPOINTS="api.openapi=2 per minute", TRUSTED_PROXY_COUNT=1)
def test_forwarded_for_is_used_behind_a_trusted_proxy(client, app):
    codes = [
        client.get("/api/v1/openapi.json", headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
        for n in range(3)
    ]
    assert codes == [200, 200, 200]
    for _ in range(3):
        client.get("/api/v1/openapi.json", headers={"X-Forwarded-For": "198.51.100.7"})
    assert ("ip:198.51.100.7", "api.openapi") in _rejections(app)


@pytest.mark.config(
    RATE_LIMIT_ENDPOINTS="api.openapi=1 per minute",
    SECURITY_BAN_THRESHOLD="2 per minute",
    SECURITY_BAN_BASE_SECONDS=60,
    SECURITY_BAN_CACHE_SECONDS=0,
)
def test_repeated_breaches_ban_the_ip_with_growing_length_and_admin_lift(
    client, app, auth, make_user, runner
):
    def breach_until_banned():
        codes = [client.get("/api/v1/openapi.json").status_code for _ in range(3)]
        assert codes == [200, 429, 429]
        banned = client.get("/auth/login")
        assert banned.status_code == 429
        return int(banned.headers["Retry-After"])

    first = breach_until_banned()
    assert 55 <= first <= 61
    result = runner.invoke(args=["security", "unban", "127.0.0.1"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        from app.extensions import limiter

        limiter.counting().reset()
    second = breach_until_banned()
    assert 115 <= second <= 121  # the second ban doubles
    with app.app_context():
        bans = db.session.scalars(db.select(IpBan).order_by(IpBan.id)).all()
        assert [b.level for b in bans] == [1, 2] and bans[0].lifted_by == "cli"
        ban_id = bans[1].id
        # the admin page lifts it (sign-in itself is refused while banned, so lift first by CLI)
    assert runner.invoke(args=["security", "unban", "127.0.0.1"]).exit_code == 0
    assert runner.invoke(args=["security", "unban", "127.0.0.1"]).exit_code != 0
    with app.app_context():
        ban = db.session.get(IpBan, ban_id)
        assert ban.lifted_at is not None
    assert client.get("/auth/login").status_code == 200


@pytest.mark.config(SECURITY_BAN_CACHE_SECONDS=0)
def test_admin_bans_page_lists_and_lifts(client, auth, make_user, app):
    from plugins.security.bans import ban_ip

    make_user("root", role="admin")
    make_user("carol")
    with app.app_context():
        ban_ip("198.51.100.9", reason="test ban")
    auth.login("carol")
    assert client.get("/security/bans").status_code == 403
    auth.logout()
    auth.login("root")
    page = client.get("/security/bans").get_data(as_text=True)
    assert "198.51.100.9" in page and "Lift ban" in page
    with app.app_context():
        ban_id = db.session.scalar(db.select(IpBan.id))
    response = auth.post(f"/security/bans/{ban_id}/lift", page="/security/bans")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(IpBan, ban_id).lifted_by == "root"
    assert "lifted by root" in client.get("/security/bans").get_data(as_text=True)


def test_core_limiter_decorated_views_get_the_same_429(app_with_limited_view):
    app = app_with_limited_view
    client = app.test_client()
    assert [client.get("/limited-test").status_code for _ in range(3)] == [200, 200, 429]
    response = client.get("/limited-test", headers={"Accept": "application/json"})
    assert response.status_code == 429 and response.json["status"] == 429
    assert ("ip:127.0.0.1", "limited_test") in _rejections(app)


@pytest.fixture
def app_with_limited_view(app: Flask):
    from app.extensions import limiter

    @public
    def limited_test():
        return "ok"

    app.add_url_rule(
        "/limited-test",
        view_func=limiter.limit("2 per minute", key_func=lambda: "ip:127.0.0.1")(limited_test),
    )
    return app


@pytest.mark.plugins()
def test_without_the_plugin_nothing_is_limited(client):
    assert {client.get("/auth/login").status_code for _ in range(30)} == {200}


@pytest.mark.plugins("security", "cache", "plans")
@pytest.mark.config(RATE_LIMIT_API="3 per minute")
def test_the_general_limit_counts_each_request_once_with_flask_limiters_headers(client, auth, make_user, app):
    # Each request is counted once, on one counter (the user's, for the endpoint and policy),
    # and carries flask-limiter's headers and the IETF ones.
    make_user("alice")
    auth.login("alice")
    answers = [client.get("/api/v1/plans/search?state=CA") for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert [_ratelimit_field(answer)["r"] for answer in answers[:3]] == [2, 1, 0]
    assert all(answer.headers["RateLimit-Policy"] == '"api";q=3;w=60' for answer in answers[:3])
    assert 0 < _ratelimit_field(answers[0])["t"] <= 60
    assert not any(ADMITTED_ANSWERS_LACK & set(answer.headers.keys()) for answer in answers[:3])
    refused = answers[3].headers
    assert refused["X-RateLimit-Limit"] == "3" and refused["X-RateLimit-Remaining"] == "0"
    assert 0 < int(refused["Retry-After"]) <= 60 and _ratelimit_field(answers[3])["r"] == 0
    assert _rejections(app) == {("user:" + str(_user_id(app, "alice")), "plans_api.search"): 1}


def _user_id(app, name: str) -> int:
    from app.models import User

    with app.app_context():
        return db.session.scalar(db.select(User.id).where(User.username == name))
