"""Step-up re-authentication of the MFA actions: a copied session cookie past
REAUTH_TIMEOUT_SECONDS cannot enrol its own authenticator, mint backup codes, turn MFA off or
reset another user's MFA; /auth/reauth asks a user with MFA on for a code too."""

from __future__ import annotations

import re

import pyotp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.extensions import db
from plugins.mfa import service
from plugins.mfa.models import MfaBackupCode, MfaSecret
from tests.conftest import PASSWORD, AuthActions, csrf_from
from tests.mfa.conftest import MfaFlow
from tests.support.reauth import age_authentication, copied_client, reauthenticate

pytestmark = pytest.mark.plugins("mfa")
PAST_TIMEOUT = 301
SECRET_PATTERN = re.compile(r'id="mfa-secret"[^>]*>([A-Z2-7]{32})<')


def post_form(client, path: str, data: dict, page: str = "/mfa/"):
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})


def backup_hashes(app, user_id: int) -> set[str]:
    with app.app_context():
        rows = db.session.scalars(db.select(MfaBackupCode.code_hash).where(MfaBackupCode.user_id == user_id))
        return set(rows)


def enabled(app, user_id: int) -> bool:
    with app.app_context():
        return service.is_enabled(user_id)


def signed_in_with_mfa(app, user, code: str):
    client = app.test_client()
    flow = MfaFlow(client, AuthActions(client))
    flow.password_step(user.username)
    assert flow.submit_code(code).status_code == 302
    return client


def test_a_copied_cookie_past_the_timeout_cannot_enrol_its_own_authenticator(app, client, auth, make_user):
    alice = make_user("alice")
    auth.login("alice")
    thief = copied_client(app, client)
    age_authentication(thief, PAST_TIMEOUT)
    page = thief.get("/mfa/setup")
    assert page.status_code == 302 and page.headers["Location"] == "/auth/reauth?next=/mfa/setup"
    # Even knowing a pending secret (from a page it saw earlier), its code enrols nothing.
    with app.app_context():
        from app.models import User

        secret = service.start_enrolment(db.session.get(User, alice.id))
    refused = post_form(thief, "/mfa/setup", {"code": pyotp.TOTP(secret).now()}, page="/")
    assert refused.status_code == 303 and refused.headers["Location"] == "/auth/reauth?next=/mfa/setup"
    assert "backup" not in refused.get_data(as_text=True).lower()
    assert not enabled(app, alice.id)
    # After re-authenticating, the form shows again and enrolment works.
    guessed = reauthenticate(thief, password="the thief's guess", next_url="/mfa/setup")
    assert guessed.status_code == 401 and thief.get("/mfa/setup").status_code == 302
    assert reauthenticate(client, next_url="/mfa/setup").headers["Location"] == "/mfa/setup"
    html = client.get("/mfa/setup").get_data(as_text=True)
    shown = SECRET_PATTERN.search(html).group(1)
    done = client.post("/mfa/setup", data={"code": pyotp.TOTP(shown).now(), "csrf_token": csrf_from(html)})
    assert done.status_code == 200 and enabled(app, alice.id)


def test_a_copied_cookie_past_the_timeout_cannot_regenerate_backup_codes(app, enrol):
    alice = enrol("alice")
    owner = signed_in_with_mfa(app, alice, alice.code())
    thief = copied_client(app, owner)
    age_authentication(thief, PAST_TIMEOUT)
    before = backup_hashes(app, alice.user_id)
    refused = post_form(thief, "/mfa/backup-codes", {"password": PASSWORD})
    assert refused.status_code == 303 and refused.headers["Location"] == "/auth/reauth?next=/mfa/"
    assert backup_hashes(app, alice.user_id) == before
    # The owner, just signed in, can.
    made = post_form(owner, "/mfa/backup-codes", {"password": PASSWORD})
    assert made.status_code == 200 and backup_hashes(app, alice.user_id) != before


def test_a_copied_cookie_past_the_timeout_cannot_turn_mfa_off(steady_step, app, enrol):
    alice = enrol("alice")
    owner = signed_in_with_mfa(app, alice, alice.code(-1))
    thief = copied_client(app, owner)
    age_authentication(thief, PAST_TIMEOUT)
    refused = post_form(thief, "/mfa/disable", {"password": PASSWORD, "code": alice.code()})
    assert refused.status_code == 303 and refused.headers["Location"] == "/auth/reauth?next=/mfa/"
    assert enabled(app, alice.user_id)
    with app.app_context():  # the code was not even checked: it is still unused
        record = db.session.scalar(db.select(MfaSecret).where(MfaSecret.user_id == alice.user_id))
        assert record.failed_attempts == 0
    assert post_form(owner, "/mfa/disable", {"password": PASSWORD, "code": alice.code()}).status_code == 302
    assert not enabled(app, alice.user_id)


def test_a_copied_admin_cookie_past_the_timeout_cannot_reset_a_users_mfa(app, enrol, events):
    root = enrol("root", role="admin")
    alice = enrol("alice")
    admin = signed_in_with_mfa(app, root, root.code())
    thief = copied_client(app, admin)
    age_authentication(thief, PAST_TIMEOUT)
    path = f"/mfa/admin/users/{alice.user_id}/reset"
    refused = post_form(thief, path, {}, page="/mfa/admin/users")
    assert refused.status_code == 303 and refused.headers["Location"] == "/auth/reauth?next=/mfa/admin/users"
    assert enabled(app, alice.user_id)
    assert "MFA_DISABLED" not in [kind for kind, _ in events]
    assert post_form(admin, path, {}, page="/mfa/admin/users").status_code == 302
    assert not enabled(app, alice.user_id)


def test_unlocking_a_user_needs_no_reauthentication(app, enrol):
    """Lifting a lockout gives nobody a credential: it stays a one-click admin action."""
    root = enrol("root", role="admin")
    alice = enrol("alice")
    admin = signed_in_with_mfa(app, root, root.code())
    age_authentication(admin, PAST_TIMEOUT)
    response = post_form(admin, f"/mfa/admin/users/{alice.user_id}/unlock", {}, page="/mfa/admin/users")
    assert response.status_code == 302 and response.headers["Location"] == "/mfa/admin/users"


def test_reauth_with_mfa_asks_for_the_code_too(steady_step, app, enrol, events):
    alice = enrol("alice")
    client = signed_in_with_mfa(app, alice, alice.code(-1))
    age_authentication(client, PAST_TIMEOUT)
    page = client.get("/auth/reauth?next=/mfa/").get_data(as_text=True)
    assert 'name="password"' in page and 'name="code"' in page
    assert "Code from your app or a backup code" in page
    missing = reauthenticate(client, next_url="/mfa/")
    assert missing.status_code == 400 and "Enter a code." in missing.get_data(as_text=True)
    malformed = reauthenticate(client, code="12ab", next_url="/mfa/")
    assert malformed.status_code == 400
    wrong_password = reauthenticate(client, password="not it at all", code=alice.code(), next_url="/mfa/")
    assert wrong_password.status_code == 401  # the code was not checked, so it stays unused
    wrong = reauthenticate(client, code="000000", next_url="/mfa/")
    assert wrong.status_code == 401 and "That code is not valid" in wrong.get_data(as_text=True)
    failure = [kw for kind, kw in events if kind == "MFA_FAILURE"][-1]
    assert failure["metadata"]["stage"] == "reauth" and failure["metadata"]["failed_attempts"] == 1
    assert "000000" not in repr(failure)
    done = reauthenticate(client, code=alice.code(), next_url="/mfa/")
    assert done.status_code == 302 and done.headers["Location"] == "/mfa/"
    success = [kw for kind, kw in events if kind == "LOGIN_SUCCESS"][-1]
    assert success["metadata"] == {"username": "alice", "stage": "reauth", "second_factor": True}


def test_a_code_replayed_at_reauth_is_refused_and_recorded_as_a_replay(steady_step, app, enrol, events):
    alice = enrol("alice")
    code = alice.code()
    client = signed_in_with_mfa(app, alice, code)
    age_authentication(client, PAST_TIMEOUT)
    replayed = reauthenticate(client, code=code)
    assert replayed.status_code == 401
    failure = [kw for kind, kw in events if kind == "MFA_FAILURE"][-1]
    assert failure["metadata"]["replay"] is True and failure["metadata"]["stage"] == "reauth"
    assert "replayed" in failure["description"]


def test_a_backup_code_reauthenticates_once(app, enrol):
    alice = enrol("alice")
    client = signed_in_with_mfa(app, alice, alice.code())
    age_authentication(client, PAST_TIMEOUT)
    first = reauthenticate(client, code=alice.backup_codes[0])
    assert first.status_code == 302
    assert "You used a backup code; 9 left." in client.get("/").get_data(as_text=True)
    age_authentication(client, PAST_TIMEOUT)
    assert reauthenticate(client, code=alice.backup_codes[0]).status_code == 401


@pytest.mark.config(MFA_LOCKOUT_THRESHOLD=2)
def test_wrong_codes_at_reauth_lead_to_the_same_lockout_as_at_sign_in(app, enrol):
    alice = enrol("alice")
    client = signed_in_with_mfa(app, alice, alice.code())
    age_authentication(client, PAST_TIMEOUT)
    codes = [reauthenticate(client, code=wrong).status_code for wrong in ("000000", "111111")]
    assert codes[0] == 401
    locked = reauthenticate(client, code=alice.code(1))
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert "Too many wrong codes" in locked.get_data(as_text=True)
    other = app.test_client()
    flow = MfaFlow(other, AuthActions(other))
    flow.password_step("alice")
    assert flow.submit_code(alice.code(1)).status_code == 429  # the lockout is the account's


def test_a_required_role_with_a_stale_session_can_reach_reauth_to_enrol(app, client, auth, make_user):
    make_user("root", role="admin")
    auth.login("root")
    age_authentication(client, PAST_TIMEOUT)
    assert client.get("/mfa/setup").headers["Location"] == "/auth/reauth?next=/mfa/setup"
    assert client.get("/auth/reauth?next=/mfa/setup").status_code == 200  # no loop to /mfa/setup
    assert reauthenticate(client, next_url="/mfa/setup").headers["Location"] == "/mfa/setup"
    assert client.get("/mfa/setup").status_code == 200


@pytest.mark.config(MFA_RATE_LIMIT="2 per 5 minutes")
def test_refusals_for_an_old_session_spend_none_of_the_owners_code_attempts(app, enrol):
    """The guard's answer to a form POST is a redirect, JSON asked for or not: the code forms'
    limits count 401 answers, and a stolen cookie must not use them to lock the owner out."""
    alice = enrol("alice")
    owner = signed_in_with_mfa(app, alice, alice.code(-1))
    thief = copied_client(app, owner)
    age_authentication(thief, PAST_TIMEOUT)
    token = csrf_from(thief.get("/mfa/").get_data(as_text=True))
    for path in ["/mfa/backup-codes", "/mfa/disable"] * 3:
        refused = thief.post(
            path,
            data={"password": "x", "code": "000000", "csrf_token": token},
            headers={"Accept": "application/json"},
        )
        assert refused.status_code == 303
    other = app.test_client()
    flow = MfaFlow(other, AuthActions(other))
    flow.password_step("alice")
    assert flow.submit_code(alice.code()).status_code == 302


@given(password=st.text(max_size=300), code=st.text(max_size=80))
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_reauth_input_is_a_clear_refusal_never_an_error(app, enrol_once, password, code):
    client = enrol_once
    token = csrf_from(client.get("/auth/reauth").get_data(as_text=True))
    response = client.post("/auth/reauth", data={"password": password, "code": code, "csrf_token": token})
    assert response.status_code in (400, 401, 429)
    assert 'class="error"' in response.get_data(as_text=True)


@pytest.fixture
def enrol_once(app, enrol):
    """One signed-in client with MFA on, shared by a property test's examples."""
    alice = enrol("alice")
    return signed_in_with_mfa(app, alice, alice.code())
