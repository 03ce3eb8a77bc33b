"""MFA pages of a signed-in user and of admins: enrolment, backup codes, turning off, policy, API."""

from __future__ import annotations

import re
from html import unescape as html_unescape

import pyotp
import pytest

from app.extensions import db
from app.models import User
from plugins.mfa.totp import qr_svg
from tests.conftest import PASSWORD, AuthActions, csrf_from
from tests.mfa.conftest import MfaFlow, kinds

pytestmark = pytest.mark.plugins("mfa")
SECRET_PATTERN = re.compile(r'id="mfa-secret"[^>]*>([A-Z2-7]{32})<')


def sign_in(app, username: str, code: str | None = None):
    """A new client signed in as ``username`` (with ``code`` for the second step if given)."""
    client = app.test_client()
    flow = MfaFlow(client, AuthActions(client))
    flow.password_step(username)
    if code is not None:
        assert flow.submit_code(code).status_code == 302
    assert flow.signed_in()
    return client


def test_enrolment_page_shows_qr_and_secret_then_codes_once(app, client, auth, make_user, events):
    make_user("alice")
    other = sign_in(app, "alice")
    auth.login("alice")
    page = client.get("/mfa/setup")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<svg" in html and 'class="qr"' in html
    assert "style=" not in html and "<script>" not in html
    secret = SECRET_PATTERN.search(html).group(1)
    assert f"secret={secret}" in html and "issuer=El-Mag%20Insurance%20Portal" in html
    # The QR code encodes exactly the setup link shown as text.
    uri = html_unescape(re.search(r'<code class="uri">([^<]+)</code>', html).group(1))
    assert (
        uri
        == f"otpauth://totp/El-Mag%20Insurance%20Portal:alice?secret={secret}&issuer=El-Mag%20Insurance%20Portal"
    )
    assert qr_svg(uri) in html
    # A wrong code leaves MFA off; the same secret is shown again.
    wrong = client.post("/mfa/setup", data={"code": "000000", "csrf_token": csrf_from(html)})
    assert wrong.status_code == 401 and secret in wrong.get_data(as_text=True)
    done = client.post("/mfa/setup", data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_from(html)})
    body = done.get_data(as_text=True)
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([0-9a-f]{8})</code></li>", body)
    assert len(codes) == 10
    assert 'download="el-mag-backup-codes.txt"' in body and "data:text/plain" in body
    assert kinds(events).count("MFA_ENABLED") == 1
    # This session stays signed in, the other one was ended; the index shows no code again.
    index = client.get("/mfa/").get_data(as_text=True)
    assert 'Backup codes left: <strong id="backup-count">10</strong>' in index
    assert not any(code in index for code in codes)
    assert other.get("/").status_code == 302


def test_setup_rejects_malformed_codes_with_a_form_error(client, auth, make_user):
    make_user("alice")
    auth.login("alice")
    token = auth.csrf_token("/mfa/setup")
    for bad in ["", "abc", "1234567", "abcd1234", "9" * 200]:
        response = client.post("/mfa/setup", data={"code": bad, "csrf_token": token})
        assert response.status_code == 400, bad
        assert 'class="error"' in response.get_data(as_text=True)


def test_setup_keeps_a_safe_next_after_enrolment(client, auth, make_user):
    make_user("alice")
    auth.login("alice")
    html = client.get("/mfa/setup?next=/auth/password").get_data(as_text=True)
    secret = SECRET_PATTERN.search(html).group(1)
    done = client.post(
        "/mfa/setup?next=/auth/password",
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_from(html)},
    )
    assert 'href="/auth/password"' in done.get_data(as_text=True)
    html = client.get("/mfa/setup?next=https://evil.example/").get_data(as_text=True)
    assert "evil.example" not in html


def test_regenerate_shows_a_new_set_and_the_old_one_stops_working(app, enrol, flow, client, auth):
    user = enrol("alice")
    flow.password_step()
    flow.submit_code(user.code())
    missing = auth.post("/mfa/backup-codes", page="/mfa/")
    assert missing.status_code == 400 and "Enter your password." in missing.get_data(as_text=True)
    wrong = auth.post("/mfa/backup-codes", {"password": "not my password"}, page="/mfa/")
    assert wrong.status_code == 401 and "The password is not correct." in wrong.get_data(as_text=True)
    response = auth.post("/mfa/backup-codes", {"password": PASSWORD}, page="/mfa/")
    new = re.findall(r"<li><code>([0-9a-f]{8})</code></li>", response.get_data(as_text=True))
    assert response.status_code == 200 and len(new) == 10 and not set(new) & set(user.backup_codes)
    auth.logout()
    flow.password_step()
    assert flow.submit_code(user.backup_codes[0]).status_code == 401
    assert flow.submit_code(new[0]).status_code == 302


def test_index_warns_when_three_or_fewer_backup_codes_remain(app, enrol, flow, client):
    from plugins.mfa.checks import verify_code

    user = enrol("alice")
    with app.app_context():
        attached = db.session.get(User, user.user_id)
        for code in user.backup_codes[:7]:
            assert verify_code(attached, code).ok
    flow.password_step()
    flow.submit_code(user.code())
    html = client.get("/mfa/").get_data(as_text=True)
    assert "Only 3 backup codes left." in html


def test_turning_off_needs_password_and_code_and_ends_other_sessions(
    steady_step, app, enrol, flow, client, auth, events
):
    user = enrol("alice")
    other = sign_in(app, "alice", user.code(-1))
    flow.password_step()
    flow.submit_code(user.code())
    missing = auth.post("/mfa/disable", {"password": PASSWORD}, page="/mfa/")
    assert missing.status_code == 400 and "Enter a code." in missing.get_data(as_text=True)
    wrong_password = auth.post("/mfa/disable", {"password": "nope", "code": user.code(1)}, page="/mfa/")
    assert wrong_password.status_code == 401
    assert "The password is not correct." in wrong_password.get_data(as_text=True)
    failures = [details for kind, details in events if kind.endswith("LOGIN_FAILURE")]
    assert failures and failures[-1]["metadata"]["stage"] == "mfa_disable"
    wrong_code = auth.post("/mfa/disable", {"password": PASSWORD, "code": "123123"}, page="/mfa/")
    assert wrong_code.status_code == 401 and "That code is not valid" in wrong_code.get_data(as_text=True)
    done = auth.post("/mfa/disable", {"password": PASSWORD, "code": user.code(1)}, page="/mfa/")
    assert done.status_code == 302
    assert "MFA_DISABLED" in kinds(events)
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302
    auth.logout()
    assert auth.login("alice").headers["Location"] == "/"  # one step again


def test_required_role_enrols_before_any_other_page(client, auth, make_user):
    make_user("root", role="admin")
    auth.login("root")
    response = client.get("/admin/")
    assert response.status_code == 302 and response.headers["Location"] == "/mfa/setup?next=/admin/"
    assert client.get("/").headers["Location"].startswith("/mfa/setup")
    assert client.get("/mfa/admin/users").headers["Location"].startswith("/mfa/setup")
    assert client.get("/api/v1/mfa/status").get_json()["required"] is True
    setup = client.get("/mfa/setup")
    assert setup.status_code == 200
    token = csrf_from(setup.get_data(as_text=True))
    assert client.post("/auth/logout", data={"csrf_token": token}).headers["Location"] == "/auth/login"


def test_required_role_api_answers_json_403(client, auth, make_user):
    make_user("root", role="admin")
    auth.login("root")
    response = client.get("/api/v1/openapi.json", headers={"Accept": "application/json"})
    assert response.status_code == 200  # public endpoints stay reachable
    response = client.get("/admin/jobs", headers={"Accept": "application/json"})
    assert response.status_code == 403 and "/mfa/setup" in response.get_json()["error"]


@pytest.mark.config(MFA_REQUIRED_ROLES="")
def test_no_required_roles_leaves_admins_free(client, auth, make_user):
    make_user("root", role="admin")
    auth.login("root")
    assert client.get("/admin/").status_code == 200


def test_client_role_is_not_forced_to_enrol(client, auth, make_user):
    make_user("alice")
    auth.login("alice")
    assert client.get("/").status_code == 200


def test_admin_pages_refuse_clients(client, auth, make_user):
    make_user("alice")
    auth.login("alice")
    assert client.get("/mfa/admin/users").status_code == 403
    assert auth.post("/mfa/admin/users/1/reset", page="/mfa/").status_code == 403


def test_admin_unlocks_and_resets_a_user_audited(app, enrol, flow, events):
    admin = enrol("root", role="admin")
    alice = enrol("alice")
    victim = sign_in(app, "alice", alice.code())
    with app.app_context():
        from datetime import timedelta

        from app.models import utcnow
        from plugins.mfa.models import MfaSecret

        record = db.session.scalar(db.select(MfaSecret).where(MfaSecret.user_id == alice.user_id))
        record.failed_attempts, record.locked_until = 5, utcnow() + timedelta(minutes=5)
        db.session.commit()
    flow.password_step("root")
    flow.submit_code(admin.code())
    listing = flow.client.get("/mfa/admin/users").get_data(as_text=True)
    assert "alice" in listing and "Unlock" in listing and "Reset MFA" in listing
    unlocked = flow.auth.post(f"/mfa/admin/users/{alice.user_id}/unlock", page="/mfa/admin/users")
    assert unlocked.status_code == 302
    assert "PERMISSION_CHANGE" in kinds(events)
    assert victim.get("/").status_code == 200  # unlocking does not sign anyone out
    reset = flow.auth.post(f"/mfa/admin/users/{alice.user_id}/reset", page="/mfa/admin/users")
    assert reset.status_code == 302
    audit = next(kw for kind, kw in events if kind == "MFA_DISABLED")
    assert audit["username"] == "root" and audit["metadata"]["target_username"] == "alice"
    assert victim.get("/").status_code == 302  # their sessions were ended
    fresh = app.test_client()
    assert AuthActions(fresh).login("alice").headers["Location"] == "/"  # password only now
    own = flow.auth.post(f"/mfa/admin/users/{admin.user_id}/reset", page="/mfa/admin/users")
    assert own.status_code == 302
    with app.app_context():
        from plugins.mfa import service

        assert service.is_enabled(admin.user_id)


def test_status_api_nav_stats_and_openapi(app, enrol, flow, client):
    user = enrol("alice")
    assert client.get("/api/v1/mfa/status").status_code == 401
    flow.password_step()
    flow.submit_code(user.code())
    status = client.get("/api/v1/mfa/status").get_json()
    assert status["enabled"] is True and status["backup_codes_remaining"] == 10
    assert status["locked_until"] is None and status["required"] is False
    assert set(status) == {
        "enabled",
        "required",
        "enabled_at",
        "backup_codes_remaining",
        "backup_codes_low",
        "locked_until",
    }
    assert 'href="/mfa/"' in client.get("/").get_data(as_text=True)
    document = client.get("/api/v1/openapi.json").get_json()
    assert "/mfa/status" in document["paths"]
    assert "MfaStatus" in document["components"]["schemas"]
    with app.app_context():
        from app.plugin import first_hook_result

        figures = first_hook_result("portal_mfa_adoption")
        assert figures["enabled_users"] == 1 and figures["by_role"]["client"] == {"users": 1, "enabled": 1}
        with pytest.raises(KeyError, match="unknown hook 'portal_stats'"):  # topics are hooks now
            first_hook_result("portal_stats", topic="mfa_adoption")
