"""The audit log: the signal receiver, every enum value, sanitising, the JSON line for a SIEM."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.events import EventType, Severity
from plugins.security.audit import log_event
from plugins.security.chain import verify_chain
from plugins.security.sanitize import clean_metadata, clean_text, is_secret_key
from tests.conftest import PASSWORD
from tests.security.conftest import events

pytestmark = pytest.mark.plugins("security")


def test_every_event_type_and_severity_is_stored(app):
    with app.app_context():
        for kind in EventType:
            for severity in Severity:
                assert log_event(kind, severity, description=kind.value) is not None
        assert verify_chain().checked == len(EventType) * len(Severity)
    stored = events(app)
    assert {e["event_type"] for e in stored} == {k.value for k in EventType}
    assert {e["severity"] for e in stored} == {s.value for s in Severity}


def test_unknown_event_type_is_refused(app):
    with app.app_context(), pytest.raises(ValueError):
        log_event("NOT_A_TYPE", "LOW")


def test_core_signals_are_recorded(client, auth, make_user, app):
    make_user("alice")
    assert auth.login("alice", "wrong password!!").status_code == 401
    assert auth.login("alice", PASSWORD).status_code == 302
    auth.post(
        "/auth/password",
        {
            "current_password": PASSWORD,
            "new_password": "a brand new passphrase",
            "confirm_password": "a brand new passphrase",
        },
    )
    auth.logout()
    kinds = [e["event_type"] for e in events(app)]
    assert kinds == ["LOGIN_FAILURE", "LOGIN_SUCCESS", "PASSWORD_CHANGE", "LOGOUT"]
    failure = events(app, event_type="LOGIN_FAILURE")[0]
    assert failure["metadata"] == {"username": "alice"}
    assert failure["ip_address"] == "127.0.0.1"
    success = events(app, event_type="LOGIN_SUCCESS")[0]
    assert success["user_id"] is not None


def test_csrf_failure_becomes_csrf_attempt(client, app):
    response = client.post("/auth/login", data={"username": "x", "password": "y"})
    assert response.status_code == 400
    assert [e["event_type"] for e in events(app)] == ["CSRF_ATTEMPT"]


@pytest.mark.config(SECURITY_AUDIT_ENABLED=False)
def test_audit_switch_off_stores_nothing(client, auth, make_user, app):
    make_user("alice")
    auth.login("alice", "wrong password!!")
    assert events(app) == []


def test_json_line_per_event_on_portal_security_logger(app, caplog):
    with caplog.at_level(logging.INFO, logger="portal.security"), app.app_context():
        event_id = log_event(
            EventType.DATA_EXPORTED, Severity.HIGH, description="export", metadata={"rows": 3}
        )
    lines = [r for r in caplog.records if r.name == "portal.security"]
    assert len(lines) == 1
    payload = json.loads(lines[0].getMessage())
    assert payload["id"] == event_id and payload["event"] == "DATA_EXPORTED"
    assert payload["metadata"] == {"rows": 3} and payload["stored"] is True
    assert lines[0].levelno == logging.WARNING


def test_user_text_cannot_forge_log_lines(app, caplog):
    forged = 'bob\n2026-01-01 INFO portal.security: {"event": "LOGIN_SUCCESS"}\r\x1b[2J\u2028'
    with caplog.at_level(logging.INFO, logger="portal.security"), app.app_context():
        log_event(
            EventType.LOGIN_FAILURE,
            Severity.MEDIUM,
            description=forged * 100,
            metadata={"username": forged},
            user_agent=forged,
        )
    message = [r for r in caplog.records if r.name == "portal.security"][0].getMessage()
    assert "\n" not in message and "\r" not in message and "\x1b" not in message
    stored = events(app)[0]
    for value in (stored["description"], stored["metadata"]["username"], stored["user_agent"]):
        assert not any(ord(ch) < 32 for ch in value) and "\u2028" not in value
    assert len(stored["description"]) <= 500
    assert "\\x0a" in stored["metadata"]["username"]


def test_secret_looking_metadata_is_redacted(app):
    with app.app_context():
        log_event(
            EventType.MFA_FAILURE,
            metadata={
                "password": "hunter2",
                "totpCode": "123456",
                "nested": {"api_key": "k"},
                "zip": "02139",
            },
        )
    meta = events(app)[0]["metadata"]
    assert meta["password"] == "[redacted]" and meta["totpCode"] == "[redacted]"
    assert "k" not in json.loads(meta["nested"]).values()
    assert meta["zip"] == "02139"


@given(st.text(max_size=3000), st.integers(min_value=1, max_value=600))
@settings(max_examples=200, deadline=None)
def test_clean_text_is_bounded_and_single_line(value, limit):
    cleaned = clean_text(value, limit)
    assert len(cleaned) <= limit
    assert not any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F for ch in cleaned)
    assert "\u2028" not in cleaned and "\u2029" not in cleaned


@given(
    st.dictionaries(
        st.text(max_size=80), st.one_of(st.text(max_size=800), st.integers(), st.none(), st.floats())
    )
)
@settings(max_examples=200, deadline=None)
def test_clean_metadata_is_json_safe_and_bounded(metadata):
    cleaned = clean_metadata(metadata)
    text = json.dumps(cleaned, allow_nan=False)
    assert len(cleaned) <= 30
    assert all(len(k) <= 64 for k in cleaned)
    assert all(not isinstance(v, str) or len(v) <= 500 for v in cleaned.values())
    assert "\n" not in text.replace("\\n", "")


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("password", True),
        ("new_password", True),
        ("backupCodes", True),
        ("csrf_token", True),
        ("username", False),
        ("endpoint", False),
        ("ip", False),
    ],
)
def test_secret_key_names(key, secret):
    assert is_secret_key(key) is secret
