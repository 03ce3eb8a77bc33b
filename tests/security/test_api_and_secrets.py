"""The events API (admin-only, filters, pagination, 400s naming the field) and the promise that
no password or code ever reaches an event, a log line or a rate-limit row."""

from __future__ import annotations

import json
import logging
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.events import EventType, Severity
from app.extensions import db
from plugins.security.audit import log_event
from plugins.security.rejection import flush_rejections
from tests.conftest import PASSWORD

pytestmark = pytest.mark.plugins("security")


@pytest.fixture
def admin_client(app, client, auth, make_user):
    make_user("root", role="admin")
    auth.login("root")
    return client


def test_events_api_is_admin_only(client, auth, make_user):
    assert client.get("/api/v1/security/events").status_code == 401
    make_user("carol")
    auth.login("carol")
    assert client.get("/api/v1/security/events").status_code == 403


def test_events_api_filters_and_pages(app, admin_client):
    with app.app_context():
        for n in range(5):
            log_event(EventType.DATA_VIEWED, Severity.LOW, ip="203.0.113.5", description=f"view {n}")
        log_event(EventType.XSS_ATTEMPT, Severity.HIGH, ip="198.51.100.1")
    page = admin_client.get("/api/v1/security/events?type=DATA_VIEWED&per_page=2&page=2").json
    assert page["total"] == 5 and page["pages"] == 3 and len(page["items"]) == 2
    assert [i["description"] for i in page["items"]] == ["view 2", "view 1"]
    high = admin_client.get("/api/v1/security/events?severity=HIGH").json["items"]
    assert [i["event_type"] for i in high] == ["XSS_ATTEMPT"]
    by_ip = admin_client.get("/api/v1/security/events?ip=203.0.113.5").json
    assert by_ip["total"] == 5
    assert admin_client.get("/api/v1/security/events?since=2999-01-01T00:00:00").json["total"] == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("type=NOPE", "type"),
        ("severity=x", "severity"),
        ("page=0", "page"),
        ("per_page=1000", "per_page"),
        ("since=yesterday", "since"),
        ("user_id=abc", "user_id"),
        ("page=%C2%B2", "page"),  # "²": str.isdigit() says yes, int() says no (was a 500)
        ("per_page=" + "9" * 13, "per_page"),
        ("ip=" + "1" * 80, "ip"),
        ("since=2025-01-02&until=2025-01-01", "since"),
    ],
)
def test_events_api_bad_input_names_the_field(admin_client, query, field):
    response = admin_client.get(f"/api/v1/security/events?{query}")
    assert response.status_code == 400 and response.json["field"] == field


def test_rate_limits_api_and_openapi(admin_client):
    assert admin_client.get("/api/v1/security/rate-limits").json == {"items": []}
    document = admin_client.get("/api/v1/openapi.json").json
    assert {"/security/events", "/security/rate-limits"} <= set(document["paths"])
    assert "SecurityEvent" in document["components"]["schemas"]


@given(
    query=st.dictionaries(
        st.sampled_from(["type", "severity", "ip", "user_id", "since", "until", "page", "per_page"]),
        st.text(max_size=30),
    )
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_events_api_never_fails_with_500(admin_client, query):
    response = admin_client.get("/api/v1/security/events", query_string=query)
    assert response.status_code in (200, 400)


@pytest.mark.plugins("security", "mfa")
def test_nothing_secret_is_recorded(app, client, auth, make_user, caplog):
    import pyotp

    new_password = "another long passphrase 42"
    make_user("alice")
    secrets_used = [PASSWORD, new_password]
    with caplog.at_level(logging.DEBUG):
        auth.login("alice", "wrong " + PASSWORD)
        auth.login("alice", PASSWORD)
        auth.post(
            "/auth/password",
            {"current_password": PASSWORD, "new_password": new_password, "confirm_password": new_password},
        )
        page = client.get("/mfa/setup").get_data(as_text=True)
        secret = re.search(r'id="mfa-secret"[^>]*>([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
        code = pyotp.TOTP(secret).now()
        secrets_used += [secret, code]
        setup = auth.post("/mfa/setup", {"code": code})
        assert setup.status_code in (200, 302)
        for html in (setup.get_data(as_text=True), client.get("/mfa/").get_data(as_text=True)):
            secrets_used += re.findall(r"\b[0-9a-f]{4}-?[0-9a-f]{4}\b", html)
    flush_rejections(app)
    with app.app_context():
        rows = db.session.execute(db.text("SELECT * FROM security_events")).mappings().all()
        limits = db.session.execute(db.text("SELECT * FROM security_rate_limits")).mappings().all()
    kinds = {row["event_type"] for row in rows}
    assert {"LOGIN_FAILURE", "LOGIN_SUCCESS", "PASSWORD_CHANGE"} <= kinds
    haystack = json.dumps([dict(r) for r in rows] + [dict(r) for r in limits], default=str)
    haystack += "\n".join(record.getMessage() for record in caplog.records)
    for used in secrets_used:
        assert used not in haystack, "a secret reached the audit trail"


@pytest.mark.parametrize("value", ["\x00", "1.2.3.4\x00", "a\nb"])
def test_events_api_refuses_control_characters_naming_the_field(admin_client, value):
    response = admin_client.get("/api/v1/security/events", query_string={"ip": value})
    assert response.status_code == 400
    assert response.json["field"] == "ip"
