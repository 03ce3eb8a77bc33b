"""The passkey ceremonies over HTTP with genuine WebAuthn answers (a software authenticator
with a real key pair, verified by py_webauthn): registration, sign-in with a passkey alone and as
the second step, and every refusal an attacker meets (CSRF, reused or expired challenges, an
unknown passkey, a counter set back, another origin or RP ID, no user verification)."""

from __future__ import annotations

import json
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import bytes_to_base64url

from app.extensions import db
from app.models import User
from plugins.mfa import passkey_challenges, passkeys
from plugins.mfa.models import MfaPasskey
from tests.conftest import AuthActions
from tests.mfa.conftest import kinds
from tests.mfa.passkey_device import SoftPasskey
from tests.mfa.passkey_flow import (
    API,
    anonymous,
    register,
    sign_in,
    signed_in,
    signed_in_totp,
    signed_in_with,
    signin_options,
    with_csrf,
)
from tests.support.reauth import age_authentication

pytestmark = pytest.mark.plugins("mfa")


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def device():
    return SoftPasskey()


@pytest.fixture
def registered(app, alice, device):
    """alice with ``device``'s passkey registered (through the API)."""
    response = register(signed_in(app, "alice"), device, name="Laptop")
    assert response.status_code == 201, response.get_json()
    return device


def passkeys_of(app, user_id: int) -> list[MfaPasskey]:
    with app.app_context():
        rows = db.session.scalars(db.select(MfaPasskey).where(MfaPasskey.user_id == user_id)).all()
        for row in rows:
            db.session.expunge(row)
        return list(rows)


def refused(response, reason_text: str | None = None):
    assert response.status_code == 400, (response.status_code, response.get_json())
    body = response.get_json()
    assert body["status"] == 400 and body["field"] == "credential" and body["error"]
    if reason_text:
        assert reason_text in body["error"], body["error"]
    return body


def sign_in_methods(events) -> list[str]:
    """The ``method`` of each LOGIN_SUCCESS event, in order."""
    return [data["metadata"].get("method") for kind, data in events if kind == "LOGIN_SUCCESS"]


def event_reasons(events) -> list[tuple[str, str]]:
    return [
        (kind, data["metadata"].get("reason"))
        for kind, data in events
        if data["metadata"].get("method") == "passkey"
    ]


# --- where the ceremonies live ------------------------------------------------------------------

CEREMONIES = (
    "/register/options",
    "/register/verify",
    "/signin/options",
    "/signin/verify",
    "/reauth/options",
    "/reauth/verify",
)


def test_the_ceremonies_live_under_the_api_passkeys_root_and_in_the_openapi_document(app):
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert API == "/api/v1/passkeys"
    assert {API + path for path in CEREMONIES} <= rules
    assert not any(rule.startswith("/api/v1/mfa/passkeys") for rule in rules)
    paths = app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/passkeys" + path for path in CEREMONIES} <= set(paths)
    assert not any(path.startswith("/mfa/passkeys") for path in paths)


def test_the_old_ceremony_urls_are_gone(app, alice):
    client = signed_in(app, "alice")
    assert client.post("/api/v1/mfa/passkeys/register/options").status_code == 404


# --- registration ----------------------------------------------------------------------------


def test_registration_options_ask_for_a_discoverable_credential_and_user_verification(app, alice):
    response = signed_in(app, "alice").post(f"{API}/register/options")
    options = response.get_json()["publicKey"]
    assert options["rp"]["id"] == "localhost"
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["requireResidentKey"] is True
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["user"]["name"] == "alice"
    # The user handle names no one: neither the username nor the database id.
    assert options["user"]["id"] not in ("alice", str(alice.id))
    assert options["timeout"] == passkey_challenges.CHALLENGE_TTL_S * 1000


def test_a_registered_passkey_is_stored_listed_and_audited(app, alice, device, events):
    client = signed_in(app, "alice")
    response = register(client, device, name="Work laptop")
    assert response.status_code == 201
    passkey = response.get_json()["passkey"]
    assert passkey["name"] == "Work laptop" and passkey["last_used_at"] is None
    [stored] = passkeys_of(app, alice.id)
    assert stored.credential_id == device.credential_id and stored.transports == "internal"
    page = client.get("/account/security").get_data(as_text=True)
    assert f'data-passkey="{stored.id}"' in page and "Work laptop" in page
    [(kind, data)] = [(k, d) for k, d in events if k == "MFA_ENABLED"]
    assert data["metadata"] == {"method": "passkey", "passkey_id": stored.id}


def test_the_same_passkey_cannot_be_registered_twice(app, registered):
    client = signed_in_with(app, registered)
    refused(register(client, registered), "already registered")
    options = client.post(f"{API}/register/options").get_json()["publicKey"]
    # The browser is told to refuse it before asking the user.
    assert [item["id"] for item in options["excludeCredentials"]] == [
        bytes_to_base64url(registered.credential_id)
    ]


def test_registration_without_the_csrf_header_is_refused(app, alice, device):
    client = signed_in(app, "alice")
    del client.environ_base["HTTP_X_CSRFTOKEN"]
    assert client.post(f"{API}/register/options").status_code == 400
    assert passkeys_of(app, alice.id) == []


def test_registration_needs_a_recent_sign_in(app, alice, device):
    client = signed_in(app, "alice")
    age_authentication(client, app.config["REAUTH_TIMEOUT_SECONDS"] + 10)
    for path in ("register/options", "register/verify"):
        response = client.post(f"{API}/{path}", json={})
        assert response.status_code == 401
        assert response.get_json()["reauth_url"].startswith("/auth/reauth?next=/account/security")


def test_an_anonymous_caller_cannot_register(app, device):
    response = anonymous(app).post(f"{API}/register/options")
    assert response.status_code == 401 and "login_url" in response.get_json()


def test_registration_from_another_origin_is_refused_and_recorded(app, alice, device, events):
    refused(register(signed_in(app, "alice"), device, origin="https://evil.example"), "evil.example")
    assert ("SUSPICIOUS_ACTIVITY", "origin") in event_reasons(events)
    assert passkeys_of(app, alice.id) == []


def test_registration_for_another_rp_id_is_refused_and_recorded(app, alice, device, events):
    refused(register(signed_in(app, "alice"), device, rp_id="evil.example"), "relying party")
    assert ("SUSPICIOUS_ACTIVITY", "rp_id") in event_reasons(events)


def test_registration_without_user_verification_is_refused(app, alice, device):
    refused(register(signed_in(app, "alice"), device, user_verified=False))
    assert passkeys_of(app, alice.id) == []


def test_a_registration_answer_counts_once(app, alice, device):
    client = signed_in(app, "alice")
    options = client.post(f"{API}/register/options").get_json()
    body = {"credential": device.register(options)}
    assert client.post(f"{API}/register/verify", json=body).status_code == 201
    refused(client.post(f"{API}/register/verify", json=body), "start again")


@pytest.mark.parametrize("name", [123, "x" * 65])
def test_a_bad_name_is_a_400_naming_it(app, alice, device, name):
    client = signed_in(app, "alice")
    client.post(f"{API}/register/options")
    response = client.post(f"{API}/register/verify", json={"credential": {}, "name": name})
    assert response.status_code == 400 and response.get_json()["field"] == "name"


@pytest.mark.parametrize(
    "credential", [None, "text", [], {}, {"id": "x", "rawId": "!!", "type": "public-key"}]
)
def test_a_malformed_credential_is_a_400(app, alice, credential):
    client = signed_in(app, "alice")
    client.post(f"{API}/register/options")
    refused(client.post(f"{API}/register/verify", json={"credential": credential}))


# --- sign-in with a passkey alone ------------------------------------------------------------


def test_a_passkey_alone_signs_in_through_the_core_sign_in(app, alice, registered, events):
    client = anonymous(app)
    options = signin_options(client)["publicKey"]
    assert options["userVerification"] == "required" and options["allowCredentials"] == []
    response = sign_in(client, registered, next_url="/account/security")
    assert response.status_code == 200 and response.get_json() == {"redirect": "/account/security"}
    assert client.get("/account/security").status_code == 200
    assert "LOGIN_SUCCESS" in kinds(events)  # complete_login: session row, device cookie, audit
    assert sign_in_methods(events) == ["passkey"]
    assert client.get_cookie("portal_device") is not None
    [stored] = passkeys_of(app, alice.id)
    assert stored.last_used_at is not None and stored.sign_count == registered.sign_count == 1
    page = client.get("/account/security").get_data(as_text=True)
    assert "never" not in page.split(f'data-passkey="{stored.id}"')[1].split("</tr>")[0]


def test_no_totp_step_follows_a_passkey_for_a_totp_user(app, enrol, device):
    user = enrol("alice")
    assert register(signed_in_totp(app, user), device).status_code == 201
    client = anonymous(app)
    assert sign_in(client, device).status_code == 200
    assert client.get("/").status_code == 200  # signed in: no /mfa/verify on the way


@pytest.mark.config(MFA_REQUIRED_ROLES="admin")
def test_an_admin_with_only_a_passkey_meets_the_required_roles(app, make_user, device):
    root = make_user("root", role="admin")
    # The passkey is added through the service directly, the code path the API takes (through
    # the pages while enrolment is pending: tests/mfa/test_passkeys_pages.py).
    with app.app_context(), app.test_request_context("/"):
        user = db.session.get(User, root.id)
        options = {"publicKey": json.loads(passkeys.registration_options(user))}
        passkeys.finish_registration(user, device.register(options), "Key")
    client = signed_in_with(app, device)
    assert client.get("/admin/").status_code == 200  # no redirect to /mfa/setup


def test_sign_in_without_the_csrf_header_is_refused(app, registered):
    client = app.test_client()
    client.get("/auth/login")
    assert client.post(f"{API}/signin/options").status_code == 400
    assert client.post(f"{API}/signin/verify", json={"credential": {}}).status_code == 400
    assert client.get("/").status_code == 302


def test_a_reused_challenge_is_refused(app, registered):
    client = anonymous(app)
    options = signin_options(client)
    body = {"credential": registered.assert_(options)}
    assert client.post(f"{API}/signin/verify", json=body).status_code == 200
    client.post("/auth/logout", data={"csrf_token": "x"})
    fresh = anonymous(app)
    refused(fresh.post(f"{API}/signin/verify", json=body), "start again")


def test_a_copied_cookie_cannot_answer_a_challenge_twice(app, registered, events):
    """The challenge lives in the cookie session: a copy taken before the answer still holds it,
    and the server-side mark refuses its second use."""
    client = anonymous(app)
    options = signin_options(client)
    name = app.config["SESSION_COOKIE_NAME"]
    copied = client.get_cookie(name).value
    token = client.environ_base["HTTP_X_CSRFTOKEN"]
    first = {"credential": registered.assert_(options)}
    assert client.post(f"{API}/signin/verify", json=first).status_code == 200
    thief = app.test_client()
    thief.set_cookie(name, copied)
    thief.environ_base["HTTP_X_CSRFTOKEN"] = token
    second = {"credential": registered.assert_(options)}  # even a fresh signature over it
    refused(thief.post(f"{API}/signin/verify", json=second), "already answered")
    assert thief.get("/").status_code == 302
    assert ("SUSPICIOUS_ACTIVITY", "replay") in event_reasons(events)


def test_an_expired_challenge_is_refused(app, registered):
    client = anonymous(app)
    options = signin_options(client)
    with client.session_transaction() as session:
        state = dict(session[passkey_challenges.CHALLENGE_KEY])
        state["at"] = int(time.time()) - passkey_challenges.CHALLENGE_TTL_S - 1
        session[passkey_challenges.CHALLENGE_KEY] = state
    refused(client.post(f"{API}/signin/verify", json={"credential": registered.assert_(options)}), "expired")
    assert client.get("/").status_code == 302


def test_an_answer_without_a_challenge_is_refused(app, registered):
    client = anonymous(app)
    other = anonymous(app)
    options = signin_options(other)
    refused(
        client.post(f"{API}/signin/verify", json={"credential": registered.assert_(options)}), "start again"
    )


def test_a_challenge_answers_only_the_ceremony_it_was_issued_for(app):
    with app.test_request_context("/"):
        passkey_challenges.issue("register", 1)
        with pytest.raises(passkey_challenges.ChallengeMissing):
            passkey_challenges.take("signin")
        # Taken (and gone) even though it did not fit: one answer per challenge, right or wrong.
        with pytest.raises(passkey_challenges.ChallengeMissing):
            passkey_challenges.take("register")


def test_a_challenge_is_taken_once_and_not_after_it_expired(app):
    with app.test_request_context("/"):
        now = time.time()
        passkey_challenges.issue("signin", None, now=now)
        assert passkey_challenges.take("signin", now=now + 1).user_id is None
        passkey_challenges.issue("signin", None, now=now)
        with pytest.raises(passkey_challenges.ChallengeMissing, match="expired"):
            passkey_challenges.take("signin", now=now + passkey_challenges.CHALLENGE_TTL_S + 1)


def test_an_unknown_passkey_is_refused_and_recorded(app, registered, events):
    stranger = SoftPasskey()
    refused(sign_in(anonymous(app), stranger), "not registered")
    assert ("MFA_FAILURE", "unknown_credential") in event_reasons(events)


def test_a_counter_that_goes_backwards_is_refused_and_recorded(app, alice, registered, events):
    assert sign_in(anonymous(app), registered, sign_count=5).status_code == 200
    for count in (5, 3):  # the same count again, and a lower one: a cloned authenticator
        refused(sign_in(anonymous(app), registered, sign_count=count), "counter")
    reasons = event_reasons(events)
    assert reasons.count(("SUSPICIOUS_ACTIVITY", "counter")) == 2
    [event] = [data for kind, data in events if data["metadata"].get("reason") == "counter"][:1]
    assert event["username"] == "alice" and event["severity"] == "HIGH"
    assert passkeys_of(app, alice.id)[0].sign_count == 5


def test_an_authenticator_without_a_counter_keeps_working(app, registered):
    """Synced passkeys report 0 every time: nothing to compare, nothing refused."""
    for _ in range(2):
        assert sign_in(anonymous(app), registered, sign_count=0).status_code == 200


def test_an_answer_from_another_origin_is_refused_and_recorded(app, registered, events):
    body = refused(sign_in(anonymous(app), registered, origin="https://evil.example"))
    assert "evil.example" in body["error"]
    assert ("SUSPICIOUS_ACTIVITY", "origin") in event_reasons(events)


def test_an_answer_for_another_rp_id_is_refused_and_recorded(app, registered, events):
    refused(sign_in(anonymous(app), registered, rp_id="evil.example"), "relying party")
    assert ("SUSPICIOUS_ACTIVITY", "rp_id") in event_reasons(events)


def test_an_answer_without_user_verification_is_refused(app, registered):
    refused(sign_in(anonymous(app), registered, user_verified=False))


def test_a_signature_by_another_key_is_refused(app, registered, events):
    refused(sign_in(anonymous(app), registered, key=ec.generate_private_key(ec.SECP256R1())))
    assert ("MFA_FAILURE", "invalid") in event_reasons(events)


def test_a_deactivated_account_cannot_sign_in_with_its_passkey(app, alice, registered):
    with app.app_context():
        db.session.get(User, alice.id).active = False
        db.session.commit()
    response = sign_in(anonymous(app), registered)
    assert response.status_code == 401


def test_a_signed_in_browser_is_told_to_sign_out_first(app, registered):
    client = signed_in_with(app, registered)
    response = client.post(f"{API}/signin/verify", json={"credential": {}})
    assert response.status_code == 400 and response.get_json()["field"] == "body"


@pytest.mark.parametrize("step", ["third", ""])
def test_an_unknown_step_is_a_400_naming_it(app, step):
    response = anonymous(app).post(f"{API}/signin/options?step={step}")
    assert response.status_code == 400 and response.get_json()["field"] == "step"


# --- the second step after the password --------------------------------------------------------


def test_a_passkey_is_the_second_step_after_the_password(app, enrol, device, events):
    user = enrol("alice")
    assert register(signed_in_totp(app, user), device).status_code == 201
    client = app.test_client()
    events.clear()

    response = AuthActions(client).login("alice", next_url="/account/security")
    assert response.headers["Location"] == "/mfa/verify"
    page = client.get("/mfa/verify").get_data(as_text=True)
    assert 'id="passkey-verify"' in page and 'name="code"' in page

    with_csrf(client, "/mfa/verify")
    options = signin_options(client, "second")["publicKey"]
    assert len(options["allowCredentials"]) == 1
    response = client.post(
        f"{API}/signin/verify", json={"credential": device.assert_({"publicKey": options})}
    )
    assert response.status_code == 200 and response.get_json()["redirect"] == "/account/security"
    assert client.get("/account/security").status_code == 200
    assert sign_in_methods(events) == ["passkey"]


def test_a_password_sign_in_records_the_password_method(app, alice, events):
    assert AuthActions(app.test_client()).login("alice").status_code == 302
    assert sign_in_methods(events) == ["password"]


def test_the_second_step_takes_only_the_waiting_users_passkey(app, enrol, make_user, events):
    enrol("alice")
    bob_device = SoftPasskey()
    make_user("bob")
    assert register(signed_in(app, "bob"), bob_device).status_code == 201
    client = app.test_client()

    AuthActions(client).login("alice")
    with_csrf(client, "/mfa/verify")
    refused(sign_in(client, bob_device, step="second"), "another account")
    assert ("MFA_FAILURE", "wrong_account") in event_reasons(events)
    assert client.get("/").status_code == 302


def test_the_second_step_needs_a_waiting_sign_in(app):
    response = anonymous(app).post(f"{API}/signin/options?step=second")
    assert response.status_code == 401


def test_a_user_with_only_a_passkey_gives_it_after_the_password(app, alice, registered):

    client = app.test_client()
    auth = AuthActions(client)
    assert auth.login("alice").headers["Location"] == "/mfa/verify"
    assert client.get("/").status_code == 302  # the password alone does not sign in
    page = client.get("/mfa/verify").get_data(as_text=True)
    assert 'id="passkey-verify"' in page and 'name="code"' not in page
    # No code can stand in for the passkey.
    assert auth.post("/mfa/verify", {"code": "123456"}, page="/mfa/verify").status_code == 401

    with_csrf(client, "/mfa/verify")
    assert sign_in(client, registered, step="second").status_code == 200
    assert client.get("/").status_code == 200


@pytest.mark.redis
def test_a_challenge_counts_once_across_portals_sharing_redis(tmp_path, make_user, app):
    """Two portals (two workers) on one database and one Redis: an answer taken by the first
    is refused by the second, cookie copy and all."""
    import os

    from tests.conftest import portal

    config = {"PORTAL_PLUGINS": "mfa", "RATELIMIT_STORAGE_URI": os.environ["TEST_REDIS_URL"]}
    shared = {"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"]}
    with (
        portal(tmp_path / "one", **config, **shared) as first,
        portal(tmp_path / "two", **config, **shared) as second,
    ):
        make_user("alice")  # after both portals started (on PostgreSQL each resets the schema)
        device = SoftPasskey()
        assert register(signed_in(first, "alice"), device).status_code == 201
        client = anonymous(first)
        options = signin_options(client)
        name = first.config["SESSION_COOKIE_NAME"]
        copied = client.get_cookie(name).value
        token = client.environ_base["HTTP_X_CSRFTOKEN"]
        assert (
            client.post(f"{API}/signin/verify", json={"credential": device.assert_(options)}).status_code
            == 200
        )
        other = second.test_client()
        other.set_cookie(name, copied)
        other.environ_base["HTTP_X_CSRFTOKEN"] = token
        refused(
            other.post(f"{API}/signin/verify", json={"credential": device.assert_(options)}),
            "already answered",
        )


def test_a_credential_stored_meanwhile_is_a_duplicate_not_a_server_error(app, alice, device):
    """Two registrations of one credential racing past the lookup: the unique index decides."""
    from plugins.mfa import passkey_store

    with app.app_context():
        user = db.session.get(User, alice.id)
        fields = {"credential_id": b"c" * 16, "public_key": b"k", "user_handle": b"h", "sign_count": 0}
        passkey_store.add(user, transports="", name="one", **fields)
        with pytest.raises(passkey_store.DuplicatePasskey):
            passkey_store.add(user, transports="", name="two", **fields)
        assert [p.name for p in passkey_store.passkeys_of(alice.id)] == ["one"]
