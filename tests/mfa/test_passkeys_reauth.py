"""A passkey as the second factor at re-authentication, for a user whose only second factor is
a passkey: the password alone no longer re-authenticates them; the ceremony's proof, sent with
the password, does, once (a copied cookie cannot spend it again)."""

from __future__ import annotations

import pytest

from tests.mfa.conftest import kinds
from tests.mfa.passkey_device import SoftPasskey
from tests.mfa.passkey_flow import API, register, signed_in, signed_in_totp, signed_in_with, with_csrf
from tests.support.reauth import age_authentication, copied_client, reauthenticate

pytestmark = pytest.mark.plugins("mfa")


@pytest.fixture
def device(app, make_user):
    """alice, whose only second factor is this passkey."""
    make_user("alice")
    device = SoftPasskey()
    assert register(signed_in(app, "alice"), device, name="Laptop").status_code == 201
    return device


@pytest.fixture
def stale(app, device):
    """alice signed in long enough ago that a sensitive change asks her to re-authenticate."""
    client = signed_in_with(app, device)
    age_authentication(client, app.config["REAUTH_TIMEOUT_SECONDS"] + 10)
    return client


def needs_reauth(client) -> bool:
    return client.post(f"{API}/register/options").status_code == 401


def passkey_proof(client, device: SoftPasskey, **answer) -> str:
    with_csrf(client, "/auth/reauth")
    options = client.post(f"{API}/reauth/options")
    assert options.status_code == 200, options.get_json()
    verified = client.post(
        f"{API}/reauth/verify", json={"credential": device.assert_(options.get_json(), **answer)}
    )
    assert verified.status_code == 200, verified.get_json()
    return verified.get_json()["proof"]


def test_the_reauth_page_asks_a_passkey_only_user_for_the_passkey(stale):
    page = stale.get("/auth/reauth").get_data(as_text=True)
    assert 'id="passkey-reauth"' in page and 'type="hidden"' in page and 'name="code"' in page
    assert f'data-verify-url="{API}/reauth/verify"' in page and "/mfa/static/passkeys.js" in page


def test_the_password_alone_no_longer_re_authenticates_a_passkey_only_user(stale):
    response = reauthenticate(stale)
    assert response.status_code == 400 and "Confirm with your passkey first" in response.get_data(
        as_text=True
    )
    assert reauthenticate(stale, code="made-up-proof").status_code == 401
    assert needs_reauth(stale)


def test_the_password_with_the_passkeys_proof_re_authenticates(app, stale, device, events):
    proof = passkey_proof(stale, device)
    response = reauthenticate(stale, code=proof, next_url="/account/security")
    assert response.status_code == 302 and response.headers["Location"] == "/account/security"
    with_csrf(stale, "/account/security")
    assert not needs_reauth(stale)
    [done] = [
        data for kind, data in events if kind == "LOGIN_SUCCESS" and data["metadata"].get("stage") == "reauth"
    ]
    assert done["metadata"]["second_factor"] is True


def test_the_proof_needs_the_password_too(stale, device):
    proof = passkey_proof(stale, device)
    assert reauthenticate(stale, password="not-the-password", code=proof).status_code == 401
    assert needs_reauth(stale)


def test_a_proof_counts_once_even_from_a_copied_cookie(app, stale, device):
    proof = passkey_proof(stale, device)
    thief = copied_client(app, stale)  # the cookie still carries the proof
    assert reauthenticate(stale, code=proof).status_code == 302
    assert reauthenticate(thief, code=proof).status_code == 401
    with_csrf(thief, "/account/security")
    assert needs_reauth(thief)


def test_an_expired_proof_is_refused(app, stale, device):
    proof = passkey_proof(stale, device)
    with stale.session_transaction() as session:
        state = session["mfa_passkey_reauth_proof"]
        session["mfa_passkey_reauth_proof"] = {**state, "at": state["at"] - 3600}
    assert reauthenticate(stale, code=proof).status_code == 401


def test_another_users_passkey_gives_no_proof(app, stale, make_user, events):
    make_user("bob")
    bobs = SoftPasskey()
    assert register(signed_in(app, "bob"), bobs).status_code == 201
    with_csrf(stale, "/auth/reauth")
    options = stale.post(f"{API}/reauth/options").get_json()
    refused = stale.post(f"{API}/reauth/verify", json={"credential": bobs.assert_(options)})
    assert refused.status_code == 400 and refused.get_json()["field"] == "credential"
    assert "MFA_FAILURE" in kinds(events)


def test_an_answer_from_another_origin_gives_no_proof(stale, device):
    with_csrf(stale, "/auth/reauth")
    options = stale.post(f"{API}/reauth/options").get_json()
    answer = device.assert_(options, origin="https://evil.example")
    assert stale.post(f"{API}/reauth/verify", json={"credential": answer}).status_code == 400


def test_the_reauth_ceremony_needs_a_signed_in_user_with_a_passkey(app, make_user):
    anonymous = with_csrf(app.test_client())
    assert anonymous.post(f"{API}/reauth/options").status_code == 401
    make_user("carol")
    carol = signed_in(app, "carol")
    assert carol.post(f"{API}/reauth/options").status_code == 400


def test_a_totp_user_with_a_passkey_still_gives_a_code(app, enrol):
    user = enrol("dave")
    client = signed_in_totp(app, user)
    assert register(client, SoftPasskey()).status_code == 201
    age_authentication(client, app.config["REAUTH_TIMEOUT_SECONDS"] + 10)
    page = client.get("/auth/reauth").get_data(as_text=True)
    assert 'id="passkey-reauth"' not in page and 'autocomplete="one-time-code"' in page
