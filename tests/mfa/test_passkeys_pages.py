"""Passkeys on the pages: the sign-in button through the core's login hook, the account page's
list with rename and remove (each after a recent sign-in), settings, adoption and the audit log."""

from __future__ import annotations

import re

import pytest

from app import create_app
from app.account.notices import notice_kind
from app.config import ConfigError
from app.events import EventType
from app.extensions import db
from app.models import User
from plugins.mfa import passkeys, service
from plugins.mfa.models import MfaPasskey
from plugins.mfa.settings import as_origins, as_rp_id
from tests.conftest import AuthActions, csrf_from
from tests.mfa.passkey_device import SoftPasskey
from tests.mfa.passkey_flow import API, anonymous, register, sign_in, signed_in, signed_in_with
from tests.support.reauth import age_authentication

pytestmark = pytest.mark.plugins("mfa")
SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S)


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def device(app, alice):
    device = SoftPasskey()
    assert register(signed_in(app, "alice"), device, name="Laptop").status_code == 201
    return device


def passkey_id(app, user_id: int) -> int:
    with app.app_context():
        return db.session.scalar(db.select(MfaPasskey.id).where(MfaPasskey.user_id == user_id))


def form_post(client, path: str, data: dict | None = None):
    token = client.environ_base["HTTP_X_CSRFTOKEN"]
    return client.post(path, data={**(data or {}), "csrf_token": token})


def no_inline_script(html: str) -> bool:
    return all("src=" in attributes and not body.strip() for attributes, body in SCRIPT.findall(html))


def test_the_login_page_offers_a_passkey_through_the_hook(client):
    page = client.get("/auth/login").get_data(as_text=True)
    assert 'id="passkey-signin"' in page and "/mfa/static/passkeys.js" in page
    assert f'data-verify-url="{API}/signin/verify"' in page
    assert no_inline_script(page)  # the Content-Security-Policy allows script files only


@pytest.mark.plugins()
def test_without_the_mfa_plugin_the_login_page_has_no_passkey(client):
    page = client.get("/auth/login").get_data(as_text=True)
    assert "passkey" not in page.lower()


def test_the_account_page_shows_the_empty_state_and_the_add_button(app, alice):
    page = signed_in(app, "alice").get("/account/security").get_data(as_text=True)
    assert "You have no passkeys yet." in page and 'id="passkey-add"' in page
    assert "data-passkey=" not in page
    assert no_inline_script(page)


def test_each_passkey_is_a_row_with_name_dates_rename_and_remove(app, alice, device):
    client = signed_in_with(app, device)
    page = client.get("/account/security").get_data(as_text=True)
    row = page.split(f'data-passkey="{passkey_id(app, alice.id)}"')[1].split("</tr>")[0]
    assert "Laptop" in row and row.count("<time") == 2  # added, and last used (just now)
    assert "Rename" in row and "Remove" in row and 'data-confirm="Remove the passkey Laptop?' in row
    assert "You have no passkeys yet." not in page


def test_rename_needs_a_recent_sign_in_and_renames_only_ones_own(app, alice, device, make_user):
    client = signed_in_with(app, device)
    own = passkey_id(app, alice.id)
    age_authentication(client, app.config["REAUTH_TIMEOUT_SECONDS"] + 10)
    response = form_post(client, f"/mfa/passkeys/{own}/rename", {"name": "Phone"})
    assert response.status_code == 303 and response.headers["Location"].startswith("/auth/reauth")
    age_authentication(client, 0)
    response = form_post(client, f"/mfa/passkeys/{own}/rename", {"name": "  Phone\x07 "})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(MfaPasskey, own).name == "Phone"
    make_user("bob")
    bob = signed_in(app, "bob")
    assert form_post(bob, f"/mfa/passkeys/{own}/rename", {"name": "Mine"}).status_code == 404
    assert form_post(bob, f"/mfa/passkeys/{own}/remove").status_code == 404


@pytest.mark.parametrize("name", ["", "x" * 65])
def test_a_bad_new_name_changes_nothing(app, alice, device, name):
    client = signed_in_with(app, device)
    own = passkey_id(app, alice.id)
    response = form_post(client, f"/mfa/passkeys/{own}/rename", {"name": name})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(MfaPasskey, own).name == "Laptop"
    assert "error" in client.get("/account/security").get_data(as_text=True)


def test_remove_needs_a_recent_sign_in_and_is_audited(app, alice, device, events):
    client = signed_in_with(app, device)
    own = passkey_id(app, alice.id)
    age_authentication(client, app.config["REAUTH_TIMEOUT_SECONDS"] + 10)
    assert form_post(client, f"/mfa/passkeys/{own}/remove").status_code == 303
    assert passkey_id(app, alice.id) == own
    age_authentication(client, 0)
    assert form_post(client, f"/mfa/passkeys/{own}/remove").status_code == 302
    assert passkey_id(app, alice.id) is None
    [data] = [data for kind, data in events if kind == "MFA_DISABLED"]
    assert data["metadata"] == {"method": "passkey", "passkey_id": own}
    assert "You have no passkeys yet." in client.get("/account/security").get_data(as_text=True)
    # The removed passkey no longer signs in.
    assert sign_in(anonymous(app), device).status_code == 400


def test_passkey_changes_call_for_the_passkey_notices():
    assert notice_kind(EventType.MFA_ENABLED, {"method": "passkey"}) == "passkey_added"
    assert notice_kind(EventType.MFA_DISABLED, {"method": "passkey"}) == "passkey_removed"


def test_adoption_counts_users_with_a_passkey(app, alice, device, make_user):
    make_user("bob")
    with app.app_context():
        figures = service.adoption()
    assert figures["enabled_users"] == 1 and figures["passkey_users"] == 1
    assert figures["by_role"]["client"] == {"users": 2, "enabled": 1}
    assert figures["ratio"] == 0.5


@pytest.mark.plugins("mfa", "security")
def test_refusals_reach_the_security_audit_log(app, alice, device):
    from plugins.security.models import SecurityEvent

    sign_in(anonymous(app), device, origin="https://evil.example")
    sign_in(anonymous(app), SoftPasskey())
    with app.app_context():
        rows = db.session.scalars(db.select(SecurityEvent).order_by(SecurityEvent.id)).all()
        found = {
            (row.event_type, row.details.get("reason"))
            for row in rows
            if row.details.get("method") == "passkey"
        }
    assert {
        ("MFA_ENABLED", None),
        ("SUSPICIOUS_ACTIVITY", "origin"),
        ("MFA_FAILURE", "unknown_credential"),
    } <= found


# --- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["127.0.0.1", "::1", "[::1]", "10.0.0.7"])
def test_an_ip_address_is_refused_as_rp_id(value):
    with pytest.raises(ValueError, match="IP address"):
        as_rp_id(value)


@pytest.mark.parametrize("value", ["https://portal.example", "portal.example:443", "a b", "x" * 300])
def test_an_rp_id_is_a_bare_domain_name(value):
    with pytest.raises(ValueError):
        as_rp_id(value)


def test_rp_id_and_origins_parse():
    assert as_rp_id(" Portal.Example.COM ") == "portal.example.com" and as_rp_id("") == ""
    assert as_origins("https://portal.example, http://localhost:5000/") == (
        "https://portal.example",
        "http://localhost:5000",
    )
    for bad in ("ftp://portal.example", "portal.example", "https://portal.example/path", "https://x:99999"):
        with pytest.raises(ValueError):
            as_origins(bad)


def test_origins_outside_the_rp_id_stop_start_up(tmp_path):
    with pytest.raises(ConfigError, match="WEBAUTHN_ORIGINS"):
        create_app(
            {
                "PORTAL_ENV": "testing",
                "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
                "INSTANCE_PATH": str(tmp_path / "instance"),
                "PORTAL_PLUGINS": "mfa",
                "WEBAUTHN_RP_ID": "portal.example",
                "WEBAUTHN_ORIGINS": "https://evil.example",
            }
        )


@pytest.mark.config(
    WEBAUTHN_RP_ID="portal.example", WEBAUTHN_ORIGINS="https://portal.example,https://www.portal.example"
)
def test_behind_a_proxy_the_configured_relying_party_counts(app, alice):
    """The portal sees http://localhost (the proxy's request); the browser sees the public site."""
    client = signed_in(app, "alice")
    device = SoftPasskey()
    refused = register(client, device, origin="http://localhost")
    assert refused.status_code == 400 and "not for this site" in refused.get_json()["error"]
    assert register(client, device, origin="https://www.portal.example").status_code == 201
    options = client.post(f"{API}/register/options").get_json()["publicKey"]
    assert options["rp"]["id"] == "portal.example"
    assert sign_in(anonymous(app), device, origin="https://portal.example").status_code == 200


def test_by_default_the_request_host_is_the_relying_party(app):
    with app.test_request_context("/", base_url="http://localhost:5000"):
        party = passkeys.relying_party()
    assert party.id == "localhost" and party.origins == ("http://localhost:5000",)


def test_the_user_handle_is_stable_and_names_no_one(app, alice):
    with app.app_context():
        user = db.session.get(User, alice.id)
        handle = passkeys.user_handle(user)
        assert handle == passkeys.user_handle(user) and len(handle) == 32
        assert b"alice" not in handle and handle != str(alice.id).encode()


def test_a_user_who_signed_in_with_a_password_is_asked_for_the_passkey(app, alice, device):
    client = app.test_client()
    assert AuthActions(client).login("alice").headers["Location"] == "/mfa/verify"


def test_with_only_a_passkey_the_totp_section_says_it_is_the_second_factor(app, alice, device):
    page = signed_in_with(app, device).get("/account/security").get_data(as_text=True)
    assert "Your passkeys are your second factor." in page


# --- a required role enrols a passkey instead of TOTP ------------------------------------------


def page_token(client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code, page.headers.get("Location"))
    return csrf_from(page.get_data(as_text=True))


@pytest.fixture
def root(app, make_user):
    """An admin (a role in MFA_REQUIRED_ROLES) signed in with the password, with no second factor."""
    make_user("root", role="admin")
    client = app.test_client()
    assert AuthActions(client).login("root").status_code == 302
    assert client.get("/admin/").headers["Location"].startswith("/mfa/setup")  # enrolment pending
    return client


@pytest.mark.config(MFA_REQUIRED_ROLES="admin")
def test_the_enrolment_page_offers_a_passkey_instead_of_totp(root):
    page = root.get("/mfa/setup").get_data(as_text=True)
    assert 'id="mfa-setup-passkey"' in page and 'href="/account/security#passkeys"' in page
    account = root.get("/account/security")
    assert account.status_code == 200 and 'id="passkey-add"' in account.get_data(as_text=True)
    assert root.get("/mfa/static/passkeys.js").status_code == 200


@pytest.mark.config(MFA_REQUIRED_ROLES="admin")
def test_a_required_role_enrols_a_passkey_and_is_free(app, root):
    root.environ_base["HTTP_X_CSRFTOKEN"] = page_token(root, "/account/security")
    assert register(root, SoftPasskey(), name="Laptop").status_code == 201
    assert root.get("/admin/").status_code == 200  # no redirect to /mfa/setup any more


@pytest.mark.config(MFA_REQUIRED_ROLES="admin")
def test_a_stale_required_role_is_sent_to_reauth_not_refused(app, root):
    root.environ_base["HTTP_X_CSRFTOKEN"] = page_token(root, "/account/security")
    age_authentication(root, app.config["REAUTH_TIMEOUT_SECONDS"] + 10)
    answer = root.post(f"{API}/register/options")
    assert answer.status_code == 401 and answer.get_json()["reauth_url"].startswith("/auth/reauth")
    assert root.get(answer.get_json()["reauth_url"]).status_code == 200


@pytest.mark.config(MFA_REQUIRED_ROLES="admin")
def test_only_the_passkey_enrolment_is_let_through_while_enrolment_is_pending(app, root):
    token = page_token(root, "/account/security")
    for path in ("/account/sessions/revoke-others", "/account/email", "/auth/password"):
        response = root.post(path, data={"csrf_token": token, "email": "root@example.com"})
        assert response.status_code == 302 and response.headers["Location"].startswith("/mfa/setup"), path
    assert root.get("/auth/password").headers["Location"].startswith("/mfa/setup")
    refused = root.get("/admin/jobs", headers={"Accept": "application/json"})
    assert refused.status_code == 403
