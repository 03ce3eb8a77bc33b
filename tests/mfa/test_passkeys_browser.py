"""Passkeys in a real browser: Debian's chromium through Playwright with the Chrome DevTools
Protocol's virtual authenticator (a CTAP2 platform authenticator with resident keys and user
verification), on http://localhost (browsers refuse an IP address as the relying party id).
The real ceremony end to end: the page's script, navigator.credentials, py_webauthn."""

from __future__ import annotations

import json
import re
import struct

import pytest
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from tests.conftest import PASSWORD
from tests.support.browser import chromium_page, screenshot
from tests.support.reauth import age_browser_session
from tests.support.servers import serve_in_thread

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.plugins("mfa")]

VIRTUAL_AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
}


def on_localhost(base: str) -> str:
    return base.replace("127.0.0.1", "localhost")


def add_virtual_authenticator(page) -> tuple:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": VIRTUAL_AUTHENTICATOR})
    return cdp, authenticator["authenticatorId"]


def credentials(cdp, authenticator_id: str) -> list[dict]:
    return cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]


def sign_in_with_password(page, base: str, username: str) -> None:
    page.goto(base + "/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")


def sign_out(page, base: str) -> None:
    page.click("header button:has-text('Sign out')")
    page.wait_for_url(base + "/auth/login")


def add_passkey(page, base: str, name: str) -> None:
    page.goto(base + "/account/security")
    page.fill("#passkey-new-name", name)
    page.click("#passkey-add")
    page.wait_for_selector("tr[data-passkey]")


def test_a_client_adds_a_passkey_after_re_authenticating_and_signs_in_with_it_alone(app, make_user):
    make_user("alice")
    with serve_in_thread(app) as served, chromium_page() as page:
        base = on_localhost(served)
        cdp, authenticator = add_virtual_authenticator(page)
        sign_in_with_password(page, base, "alice")
        page.wait_for_url(base + "/")

        # The sign-in is no longer recent: adding a passkey asks for the password first.
        age_browser_session(app, page, app.config["REAUTH_TIMEOUT_SECONDS"] + 60)
        page.goto(base + "/account/security")
        assert "You have no passkeys yet." in page.content()
        page.click("#passkey-add")
        page.wait_for_url(re.compile(r".*/auth/reauth\?next=/account/security$"))
        page.fill("input[name=password]", PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_url(base + "/account/security")
        add_passkey(page, base, "Test laptop")
        row = page.locator("tr[data-passkey]")
        assert row.count() == 1 and "Test laptop" in row.inner_text()
        assert row.locator(".passkey-last-used").inner_text() == "never"
        [stored] = credentials(cdp, authenticator)
        assert stored["isResidentCredential"] is True  # a discoverable credential
        screenshot(page, "passkey-added")
        sign_out(page, base)

        # A passkey alone: no password, no code.
        page.click("#passkey-signin")
        page.wait_for_url(base + "/")
        assert "alice" in page.locator(".who").inner_text()
        page.goto(base + "/account/security")
        last_used = page.locator("tr[data-passkey] .passkey-last-used").inner_text()
        assert last_used != "never" and last_used.endswith("UTC")
        assert credentials(cdp, authenticator)[0]["signCount"] >= 1
        screenshot(page, "passkey-signed-in")


def test_an_admin_with_totp_gives_the_passkey_at_the_second_step_or_signs_in_with_it_alone(app, enrol):
    """MFA_REQUIRED_ROLES=admin (the default): the passkey is accepted at /mfa/verify instead of
    a code, and alone counts as both factors (no code step)."""
    admin = enrol("root", role="admin")
    with serve_in_thread(app) as served, chromium_page() as page:
        base = on_localhost(served)
        add_virtual_authenticator(page)
        sign_in_with_password(page, base, "root")
        page.wait_for_url(base + "/mfa/verify")
        page.fill("input[name=code]", admin.code())
        page.click("main form button[type=submit]")
        page.wait_for_url(base + "/")
        add_passkey(page, base, "Admin key")
        sign_out(page, base)

        # The second step: password, then the passkey instead of the code.
        sign_in_with_password(page, base, "root")
        page.wait_for_url(base + "/mfa/verify")
        page.click("#passkey-verify")
        page.wait_for_url(base + "/")
        assert "root" in page.locator(".who").inner_text()
        sign_out(page, base)

        # The passkey alone: straight to the admin pages, no code, no enrolment redirect.
        page.goto(base + "/auth/login?next=/admin/")
        page.click("#passkey-signin")
        page.wait_for_url(base + "/admin/")
        assert "root" in page.locator(".who").inner_text()
        screenshot(page, "passkey-admin")


def test_an_admin_without_a_second_factor_enrols_a_passkey_instead_of_totp(app, make_user):
    """MFA_REQUIRED_ROLES=admin: an admin with neither TOTP nor a passkey is held at /mfa/setup,
    which offers a passkey instead; after adding one the admin pages open."""
    make_user("root", role="admin")
    with serve_in_thread(app) as served, chromium_page() as page:
        base = on_localhost(served)
        add_virtual_authenticator(page)
        page.goto(base + "/auth/login?next=/admin/")
        page.fill("input[name=username]", "root")
        page.fill("input[name=password]", PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_url(re.compile(r".*/mfa/setup\?next=/admin/$"))
        page.click("#mfa-setup-passkey")
        page.wait_for_url(base + "/account/security#passkeys")
        page.fill("#passkey-new-name", "Admin laptop")
        page.click("#passkey-add")
        page.wait_for_selector("tr[data-passkey]")
        page.goto(base + "/admin/")
        assert page.url == base + "/admin/"  # enrolled: no redirect to /mfa/setup
        screenshot(page, "passkey-admin-enrolled")


def test_a_passkey_only_user_re_authenticates_with_password_and_passkey(app, make_user):
    """Re-authentication asks a user whose only second factor is a passkey for it: the password
    alone is refused; with the passkey (the page's script, chromium's authenticator) it passes."""
    make_user("alice")
    with serve_in_thread(app) as served, chromium_page() as page:
        base = on_localhost(served)
        add_virtual_authenticator(page)
        sign_in_with_password(page, base, "alice")
        page.wait_for_url(base + "/")
        add_passkey(page, base, "Laptop")

        age_browser_session(app, page, app.config["REAUTH_TIMEOUT_SECONDS"] + 60)
        page.goto(base + "/account/security")
        page.fill("tr[data-passkey] .passkey-rename input[name=name]", "Work laptop")
        page.click("tr[data-passkey] .passkey-rename button")
        page.wait_for_url(re.compile(r".*/auth/reauth\?next=/account/security$"))
        page.fill("input[name=password]", PASSWORD)
        page.click("main form button[type=submit]")  # the password alone
        assert "Confirm with your passkey first" in page.locator("#reauth").inner_text()

        page.fill("input[name=password]", PASSWORD)
        page.click("#passkey-reauth")  # the ceremony, then the form goes with the proof
        page.wait_for_url(base + "/account/security")
        page.fill("tr[data-passkey] .passkey-rename input[name=name]", "Work laptop")
        page.click("tr[data-passkey] .passkey-rename button")
        page.wait_for_url(re.compile(r".*/account/security.*"))
        assert page.locator("tr[data-passkey] .passkey-name").inner_text() == "Work laptop"
        screenshot(page, "passkey-reauth")


def test_on_an_ip_address_the_browser_refuses_and_the_page_says_so(app, make_user):
    """Served on http://127.0.0.1 the browser refuses the ceremony itself (an IP address cannot
    be a relying party id, hence "open http://localhost:5000" in the README): the page says
    so and nothing is stored."""
    make_user("alice")
    with serve_in_thread(app) as base, chromium_page() as page:
        add_virtual_authenticator(page)
        sign_in_with_password(page, base, "alice")
        page.wait_for_url(base + "/")
        page.goto(base + "/account/security")
        page.click("#passkey-add")
        status = page.locator(".passkey-status")
        status.wait_for(state="visible")
        assert status.inner_text()
        assert page.locator("tr[data-passkey]").count() == 0


# Run in the page: fetch sign-in options, let chromium's authenticator answer, and hand the
# answer back instead of sending it, so that the test can tamper with a real one.
CAPTURE_ASSERTION = """async (optionsUrl) => {
  const token = document.querySelector('input[name="csrf_token"]').value;
  const start = await fetch(optionsUrl, {method: "POST", headers: {"X-CSRFToken": token}});
  const json = (await start.json()).publicKey;
  const options = PublicKeyCredential.parseRequestOptionsFromJSON(json);
  const credential = await navigator.credentials.get({publicKey: options});
  return {credential: credential.toJSON(), token: token};
}"""


def captured_assertion(page, base: str) -> tuple[dict, str]:
    page.goto(base + "/auth/login")
    answer = page.evaluate(CAPTURE_ASSERTION, "/api/v1/passkeys/signin/options?step=first")
    return answer["credential"], answer["token"]


def send(page, base: str, credential: dict, token: str):
    return page.request.post(
        base + "/api/v1/passkeys/signin/verify",
        data=json.dumps({"credential": credential}),
        headers={"Content-Type": "application/json", "X-CSRFToken": token},
    )


def with_client_data(credential: dict, **changes) -> dict:
    response = credential["response"]
    data = json.loads(base64url_to_bytes(response["clientDataJSON"]))
    data.update(changes)
    tampered = dict(response, clientDataJSON=bytes_to_base64url(json.dumps(data).encode()))
    return dict(credential, response=tampered)


def with_counter(credential: dict, count: int) -> dict:
    response = credential["response"]
    data = bytearray(base64url_to_bytes(response["authenticatorData"]))
    data[33:37] = struct.pack(">I", count)  # rpIdHash (32), flags (1), signCount (4)
    return dict(credential, response=dict(response, authenticatorData=bytes_to_base64url(bytes(data))))


def test_tampered_answers_of_a_real_authenticator_are_refused(app, make_user):
    """Answers chromium's authenticator really gave, changed as an attacker would: another
    origin, a counter set back, a challenge sent twice; the untouched one signs in."""
    make_user("alice")
    with serve_in_thread(app) as served, chromium_page() as page:
        base = on_localhost(served)
        add_virtual_authenticator(page)
        sign_in_with_password(page, base, "alice")
        page.wait_for_url(base + "/")
        add_passkey(page, base, "Real one")
        sign_out(page, base)

        credential, token = captured_assertion(page, base)
        response = send(page, base, with_client_data(credential, origin="https://evil.example"), token)
        assert response.status == 400 and "evil.example" in response.json()["error"]

        credential, token = captured_assertion(page, base)
        assert send(page, base, credential, token).status == 200  # the real one signs in
        page.goto(base + "/")
        sign_out(page, base)

        credential, token = captured_assertion(page, base)
        response = send(page, base, with_counter(credential, 0), token)
        assert response.status == 400 and "counter" in response.json()["error"]

        credential, token = captured_assertion(page, base)
        assert send(page, base, credential, token).status == 200
        page.goto(base + "/")
        sign_out(page, base)
        fresh_token = page.locator("input[name=csrf_token]").first.get_attribute("value")
        response = send(page, base, credential, fresh_token)  # the same answer again
        assert response.status == 400 and "start again" in response.json()["error"]
        page.goto(base + "/")
        assert page.url.startswith(base + "/auth/login")  # not signed in by it
