"""Responses: the early IP block (expiry, unblock), the signed webhook with retries, e-mail."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import timedelta

import pytest

from app.events import EventType
from app.extensions import db
from tests.security_threats.conftest import alerts, emit, login
from tests.security_threats.servers import closed_port, smtp_server, webhook_receiver

ATTACKER = "203.0.113.66"


def _blocks(app):
    from plugins.security.threats.models import IpBlock

    with app.app_context():
        return [(b.ip_address, b.created_by, b.lifted_by) for b in db.session.scalars(db.select(IpBlock))]


def test_brute_force_blocks_the_ip_first_thing_until_unblocked(app, make_user, admin):
    client = admin
    make_user("alice")
    attacker = app.test_client()
    for _ in range(10):
        response = login(attacker, "alice", password="guess", ip=ATTACKER)
    assert response.status_code == 401  # the tenth failure trips the rule, then the block starts
    assert _blocks(app) == [(ATTACKER, "auto", None)]
    blocked = attacker.get("/auth/login", environ_base={"REMOTE_ADDR": ATTACKER})
    assert blocked.status_code == 403 and int(blocked.headers["Retry-After"]) > 3000
    assert "temporarily blocked" in blocked.get_data(as_text=True)
    api = attacker.get("/api/v1/openapi.json", environ_base={"REMOTE_ADDR": ATTACKER})
    assert api.status_code == 403 and api.get_json()["error"] == "your address is temporarily blocked"
    assert attacker.get("/healthz", environ_base={"REMOTE_ADDR": ATTACKER}).status_code == 200
    # others are not affected; the admin lifts the block from the IP page
    page = client.get(f"/security/ips/{ATTACKER}")
    assert page.status_code == 200 and "blocked" in page.get_data(as_text=True)
    from tests.conftest import csrf_from

    token = csrf_from(page.get_data(as_text=True))
    assert client.post(f"/security/ips/{ATTACKER}/unblock", data={"csrf_token": token}).status_code == 302
    assert attacker.get("/auth/login", environ_base={"REMOTE_ADDR": ATTACKER}).status_code == 200
    assert _blocks(app) == [(ATTACKER, "auto", "root")]


def test_a_block_expires(app):
    from app.models import utcnow
    from plugins.security.threats import blocking
    from plugins.security.threats.models import IpBlock

    with app.app_context():
        blocking.block_ip(ATTACKER, 5, "test", by="pytest")
    client = app.test_client()
    assert client.get("/auth/login", environ_base={"REMOTE_ADDR": ATTACKER}).status_code == 403
    with app.app_context():
        for block in db.session.scalars(db.select(IpBlock)):
            block.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert client.get("/auth/login", environ_base={"REMOTE_ADDR": ATTACKER}).status_code == 200


@pytest.mark.config(SECURITY_NEVER_BLOCK="203.0.113.0/24")
def test_never_block_list_is_respected(app):
    for number in range(10):
        emit(app, EventType.LOGIN_FAILURE, username=f"u{number}", ip=ATTACKER)
    assert alerts(app, rule="brute_force_ip")  # the alert is raised ...
    assert _blocks(app) == []  # ... but the address is not blocked


def _trip(app, ip="192.0.2.99"):
    for number in range(5):
        emit(app, EventType.LOGIN_FAILURE, username="alice", ip=ip)


@pytest.mark.config(
    SECURITY_ALERT_WEBHOOK_SECRET="whsec-test",
    SECURITY_WEBHOOK_BACKOFF_SECONDS=0.05,
    SECURITY_NOTIFY_MODE="thread",
    SECURITY_AUTO_BLOCK=False,
)
def test_webhook_is_signed_retried_with_backoff_and_logged(app):
    from plugins.security.threats import notify
    from plugins.security.threats.models import Notification

    with webhook_receiver(script=[500, 503]) as receiver:
        app.config["SECURITY_ALERT_WEBHOOK_URL"] = receiver.url
        _trip(app)
        notify.wait_for_threads(app)
        _trip(app, ip="192.0.2.100")  # the account alert grows: no second notice
        notify.wait_for_threads(app)
    assert len(receiver.requests) == 3
    keys = {r["headers"]["Idempotency-Key"] for r in receiver.requests}
    assert len(keys) == 1  # the same key on every retry
    last = receiver.requests[-1]
    payload = json.loads(last["body"])
    assert payload["type"] == "security.alert.opened" and payload["alert"]["rule"] == "brute_force_account"
    expected = hmac.new(
        b"whsec-test", last["headers"]["X-Portal-Timestamp"].encode() + b"." + last["body"], hashlib.sha256
    )
    assert hmac.compare_digest(last["headers"]["X-Portal-Signature"], "sha256=" + expected.hexdigest())
    with app.app_context():
        (row,) = db.session.scalars(db.select(Notification))
        assert (row.status, row.attempts, row.last_status_code) == ("sent", 3, 200)
        assert [entry["status"] for entry in row.log] == [500, 503, 200]
        times = [entry["at"] for entry in row.log]
        assert times == sorted(times)


@pytest.mark.config(
    SECURITY_WEBHOOK_MAX_ATTEMPTS=2, SECURITY_WEBHOOK_BACKOFF_SECONDS=0, SECURITY_AUTO_BLOCK=False
)
def test_unreachable_webhook_is_retried_by_the_job_then_given_up(app, caplog):
    from plugins.security.threats.jobs import deliver_notifications
    from plugins.security.threats.models import Notification

    app.config["SECURITY_ALERT_WEBHOOK_URL"] = f"http://127.0.0.1:{closed_port()}/hook/T0K3N"
    _trip(app)
    with app.app_context():
        deliver_notifications()
        deliver_notifications()
        deliver_notifications()  # nothing left to do
        (row,) = db.session.scalars(db.select(Notification))
        assert (row.status, row.attempts) == ("failed", 2)
        assert "Connection refused" in row.last_error or "URLError" in row.last_error
    assert "failed 2 times" in caplog.text and "T0K3N" not in caplog.text  # the URL holds a token


def _build(tmp_path, **config):
    from app import create_app

    return create_app(
        {
            "PORTAL_ENV": "testing",
            "SECRET_KEY": "x" * 40,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
            "INSTANCE_PATH": str(tmp_path),
            "PORTAL_PLUGINS": "security",
            **config,
        }
    )


def test_a_rejected_webhook_url_is_not_echoed(tmp_path):
    from app import ConfigError

    with pytest.raises(ConfigError) as error:
        _build(tmp_path, SECURITY_ALERT_WEBHOOK_URL="hooks.example.com/services/T000/XXXXSECRETTOKEN")
    assert "SECURITY_ALERT_WEBHOOK_URL" in str(error.value) and "SECRETTOKEN" not in str(error.value)


def test_smtp_credentials_need_starttls_unless_the_server_is_local(tmp_path):
    from app import ConfigError

    smtp = {"SECURITY_SMTP_USERNAME": "portal", "SECURITY_SMTP_PASSWORD": "pw"}
    with pytest.raises(ConfigError, match="SECURITY_SMTP_STARTTLS"):
        _build(tmp_path, SECURITY_SMTP_HOST="mail.example.com", **smtp)
    assert _build(tmp_path, SECURITY_SMTP_HOST="mail.example.com", SECURITY_SMTP_STARTTLS=True, **smtp)
    assert _build(tmp_path, SECURITY_SMTP_HOST="127.0.0.1", **smtp)


@pytest.mark.config(SECURITY_ALERT_EMAIL_TO="soc@example.com,oncall@example.com", SECURITY_AUTO_BLOCK=False)
def test_email_over_smtp(app):
    from plugins.security.threats.jobs import deliver_notifications

    with smtp_server() as sink:
        app.config.update(SECURITY_SMTP_HOST="127.0.0.1", SECURITY_SMTP_PORT=sink.port)
        _trip(app)
        with app.app_context():
            deliver_notifications()
    assert sorted(m["to"][0].strip("<>") for m in sink.messages) == ["oncall@example.com", "soc@example.com"]
    message = sink.messages[0]["message"]
    assert message["Subject"] == "[portal security] HIGH: Brute force against account alice"
    assert "Rule: brute_force_account" in message.get_payload()


@pytest.mark.config(SECURITY_ALERT_EMAIL_TO="soc@example.com", SECURITY_AUTO_BLOCK=False)
def test_email_goes_to_the_log_without_an_smtp_server(app, caplog):
    from plugins.security.threats.jobs import deliver_notifications
    from plugins.security.threats.models import Notification

    _trip(app)
    with caplog.at_level(logging.WARNING, logger="plugins.security.threats.notify"), app.app_context():
        deliver_notifications()
        (row,) = db.session.scalars(db.select(Notification))
        assert row.status == "sent"
    assert "Subject: [portal security] HIGH: Brute force against account alice" in caplog.text


@pytest.mark.config(SECURITY_ALERT_EMAIL_TO="soc@example.com", SECURITY_NOTIFY_MIN_SEVERITY="CRITICAL")
def test_alerts_below_the_notify_severity_send_nothing(app):
    from plugins.security.threats.models import Notification

    _trip(app)
    with app.app_context():
        assert db.session.scalars(db.select(Notification)).all() == []
