"""The second sign-in step over HTTP: pending state, next, replay, backup codes, throttling."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.extensions import db
from app.models import User
from plugins.mfa.pending import PENDING_KEY
from tests.mfa.conftest import kinds

pytestmark = pytest.mark.plugins("mfa")


@pytest.mark.plugins()
def test_plugin_off_sign_in_is_one_step_and_no_mfa_route_exists(app, client, auth, make_user):
    make_user("alice")
    assert not [rule.rule for rule in app.url_map.iter_rules() if "mfa" in rule.rule]
    response = auth.login("alice")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.get("/mfa/").status_code == 404
    assert client.get("/mfa/verify").status_code == 404


def test_user_without_mfa_signs_in_in_one_step(client, auth, make_user):
    make_user("alice")
    assert auth.login("alice").headers["Location"] == "/"
    assert client.get("/").status_code == 200


def sign_in_methods(events) -> list[str]:
    return [data["metadata"].get("method") for kind, data in events if kind == "LOGIN_SUCCESS"]


def test_password_then_totp_with_next_kept(enrol, flow, client, events):
    user = enrol("alice")
    response = flow.password_step(next_url="/auth/password")
    assert response.status_code == 302 and response.headers["Location"] == "/mfa/verify"
    # Half signed in: no page that needs sign-in is reachable.
    assert client.get("/").status_code == 302
    assert client.get("/auth/password").headers["Location"].startswith("/auth/login")
    assert client.get("/mfa/").headers["Location"].startswith("/auth/login")
    page = client.get("/mfa/verify")
    assert page.status_code == 200 and 'name="code"' in page.get_data(as_text=True)
    done = flow.submit_code(user.code())
    assert done.status_code == 302 and done.headers["Location"] == "/auth/password"
    assert flow.signed_in()
    assert sign_in_methods(events) == ["totp"]  # what completed the sign-in
    with client.session_transaction() as session:
        assert PENDING_KEY not in session


def test_next_never_leads_off_site(enrol, flow):
    user = enrol("alice")
    flow.password_step(next_url="https://evil.example/")
    response = flow.submit_code(user.code())
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_pending_state_keeps_only_local_next_urls(app, make_user):
    from plugins.mfa import pending

    user = make_user("alice")
    with app.test_request_context():
        attached = db.session.get(User, user.id)
        for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
            pending.begin(attached, target, now=1000)
            assert pending.load(now=1001).next_url is None
        pending.begin(attached, "/plans/?q=a", now=1000)
        assert pending.load(now=1001).next_url == "/plans/?q=a"


def test_wrong_code_answers_401_with_a_form_error_and_an_event(enrol, flow, events):
    enrol("alice")
    flow.password_step()
    response = flow.submit_code("000000")
    assert response.status_code == 401
    assert "That code is not valid" in response.get_data(as_text=True)
    assert "MFA_FAILURE" in kinds(events)
    failure = next(kw for kind, kw in events if kind == "MFA_FAILURE")
    assert failure["username"] == "alice" and failure["metadata"]["stage"] == "sign-in"
    assert "000000" not in repr(failure["metadata"]) + failure["description"]
    assert not flow.signed_in()


BAD_CODES = ["", "   ", "abcdef", "12345z", "1234567", "123456789", "1" * 200, "<script>1</script>"]


@pytest.mark.config(MFA_RATE_LIMIT="1000 per 5 minutes", MFA_LOCKOUT_THRESHOLD=100)
def test_bad_input_is_a_form_error_never_a_500(enrol, flow, client, auth):
    enrol("alice")
    flow.password_step()
    token = auth.csrf_token()
    for bad in BAD_CODES:
        response = client.post("/mfa/verify", data={"code": bad, "csrf_token": token})
        assert response.status_code == 400, bad
        body = response.get_data(as_text=True)
        assert 'class="error"' in body and "<script>1" not in body


@pytest.mark.config(MFA_RATE_LIMIT="1000 per 5 minutes", MFA_LOCKOUT_THRESHOLD=100)
def test_any_code_text_gets_a_clear_answer(enrol, flow, client, auth):
    enrol("alice")
    flow.password_step()
    token = auth.csrf_token()

    @settings(max_examples=40, deadline=None)
    @given(code=st.text(max_size=250))
    def answer(code):
        response = client.post("/mfa/verify", data={"code": code, "csrf_token": token})
        assert response.status_code in (400, 401)
        assert 'class="error"' in response.get_data(as_text=True)

    answer()


def test_a_code_is_refused_when_presented_again(steady_step, enrol, flow, auth):
    user = enrol("alice")
    code = user.code()
    flow.password_step()
    assert flow.submit_code(code).status_code == 302
    auth.logout()
    flow.password_step()
    assert flow.submit_code(code).status_code == 401
    assert flow.submit_code(user.code(-1)).status_code == 401  # an earlier step too
    assert flow.submit_code(user.code(1)).status_code == 302


def test_a_backup_code_works_once(enrol, flow, auth, client, events):
    user = enrol("alice")
    flow.password_step()
    first = flow.submit_code(user.backup_codes[3])
    assert first.status_code == 302
    assert sign_in_methods(events)[-1] == "backup"
    assert "You used a backup code; 9 left." in client.get("/").get_data(as_text=True)
    auth.logout()
    flow.password_step()
    assert flow.submit_code(user.backup_codes[3]).status_code == 401
    assert not flow.signed_in()


def test_verify_without_a_pending_sign_in_goes_back_to_login(client):
    response = client.get("/mfa/verify")
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"


def test_pending_state_expires(enrol, flow, client):
    user = enrol("alice")
    flow.password_step()
    with client.session_transaction() as session:
        session[PENDING_KEY] = {**session[PENDING_KEY], "at": int(time.time()) - 301}
    response = flow.submit_code(user.code())
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    assert not flow.signed_in()


@pytest.mark.config(MFA_PENDING_TTL_SECONDS=60)
def test_pending_state_expiry_follows_the_setting(app, enrol):
    from plugins.mfa import pending

    user = enrol("alice")
    with app.test_request_context():
        attached = db.session.get(User, user.user_id)
        pending.begin(attached, "/x", now=1000)
        assert pending.load(now=1059).next_url == "/x"
        assert pending.load(now=1061) is None
        pending.begin(attached, None, now=1000)
        assert pending.load(now=900) is None  # from the future: refused too


def test_pending_state_is_void_once_the_session_version_changes(app, enrol, flow):
    user = enrol("alice")
    flow.password_step()
    with app.app_context():
        attached = db.session.get(User, user.user_id)
        attached.session_version += 1  # e.g. the password was changed meanwhile
        db.session.commit()
    response = flow.submit_code(user.code())
    assert response.headers["Location"] == "/auth/login"


def test_pending_state_is_bound_to_its_session(app, enrol, flow):
    user = enrol("alice")
    flow.password_step()
    other = app.test_client()
    page = other.get("/mfa/verify")
    assert page.status_code == 302 and page.headers["Location"] == "/auth/login"
    assert flow.submit_code(user.code()).status_code == 302


@pytest.mark.config(MFA_LOCKOUT_THRESHOLD=50)
def test_rate_limit_six_wrong_codes_per_user(enrol, flow, app):
    user = enrol("alice")
    flow.password_step()
    statuses = [flow.submit_code(f"00000{i}").status_code for i in range(6)]
    assert statuses == [401] * 5 + [429]
    refused = flow.submit_code(user.code())  # the limit holds even for the right code
    assert refused.status_code == 429
    assert "Too many wrong codes" in refused.get_data(as_text=True)
    # The limit follows the user, not the browser session.
    fresh = app.test_client()
    from tests.conftest import AuthActions
    from tests.mfa.conftest import MfaFlow

    second = MfaFlow(fresh, AuthActions(fresh))
    second.password_step()
    assert second.submit_code(user.code()).status_code == 429


@pytest.mark.config(MFA_RATE_LIMIT="100 per 5 minutes", MFA_LOCKOUT_SECONDS=60)
def test_lockout_after_repeated_wrong_codes(enrol, flow):
    user = enrol("alice")
    flow.password_step()
    statuses = [flow.submit_code(f"11111{i}").status_code for i in range(6)]
    assert statuses == [401, 401, 401, 401, 429, 429]
    locked = flow.submit_code(user.code())
    assert locked.status_code == 429 and "Retry-After" in locked.headers
    body = locked.get_data(as_text=True)
    assert "code entry is paused" in body and "about 1 minute)" in body
    assert not flow.signed_in()


@pytest.mark.config(MFA_RATE_LIMIT="100 per 5 minutes", MFA_IP_RATE_LIMIT="3 per 5 minutes")
def test_rate_limit_per_ip_across_users(enrol, app):
    from tests.conftest import AuthActions
    from tests.mfa.conftest import MfaFlow

    enrol("alice")
    enrol("bob")
    statuses = []
    for name in ("alice", "bob"):
        client = app.test_client()
        flow = MfaFlow(client, AuthActions(client))
        flow.password_step(name)
        statuses += [flow.submit_code("222222").status_code for _ in range(2)]
    assert statuses == [401, 401, 401, 429]


@pytest.mark.config(MFA_LOCKOUT_THRESHOLD=50)
def test_clearing_the_user_limit_lets_them_try_again(app, enrol, flow):
    from plugins.mfa import throttle

    user = enrol("alice")
    flow.password_step()
    assert [flow.submit_code("333333").status_code for _ in range(6)][-1] == 429
    with app.test_request_context():
        throttle.clear_user_limit(user.user_id)  # what an admin's unlock or reset does
    assert flow.submit_code("333333").status_code == 401
    assert flow.submit_code(user.code()).status_code == 302


def test_a_secret_the_keys_cannot_read_is_explained_not_a_500(app, enrol, flow, caplog):
    """After MFA_ENCRYPTION_KEYS (or SECRET_KEY) changed without the old key: the user is told to
    use a backup code, no failure is counted, and a backup code signs in."""
    from cryptography.fernet import Fernet

    from plugins.mfa.models import MfaSecret

    user = enrol("alice")
    with app.app_context():
        record = db.session.scalar(db.select(MfaSecret).where(MfaSecret.user_id == user.user_id))
        record.secret_ciphertext = Fernet(Fernet.generate_key()).encrypt(user.secret.encode()).decode()
        db.session.commit()
    flow.password_step()
    response = flow.submit_code(user.code())
    assert response.status_code == 503
    assert "Use one of your backup codes" in response.get_data(as_text=True)
    assert "unreadable with the configured keys" in caplog.text
    with app.app_context():
        record = db.session.scalar(db.select(MfaSecret).where(MfaSecret.user_id == user.user_id))
        assert record.failed_attempts == 0
    done = flow.submit_code(user.backup_codes[0])
    assert done.status_code == 302 and flow.signed_in()
