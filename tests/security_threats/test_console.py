"""Alerts lifecycle, the dashboard, the IP page, CSV export, the API and the report."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.events import EventType
from tests.conftest import csrf_from
from tests.security_threats.conftest import alerts, emit, events_of

pytestmark = pytest.mark.config(SECURITY_AUTO_BLOCK=False)


def _trip(app, username="alice", ip="192.0.2.99"):
    for _ in range(5):
        emit(app, EventType.LOGIN_FAILURE, username=username, ip=ip)


def test_alert_lifecycle_through_the_form_records_each_change(app, admin):
    _trip(app, ip="192.0.2.1")
    (alert,) = alerts(app)
    page = admin.get(f"/security/alerts/{alert.id}")
    assert page.status_code == 200 and "Brute force against account alice" in page.get_data(as_text=True)
    token = csrf_from(page.get_data(as_text=True))
    data = {"csrf_token": token, "status": "INVESTIGATING", "assigned_to": "root", "notes": "looking"}
    assert admin.post(f"/security/alerts/{alert.id}", data=data).status_code == 302
    (alert,) = alerts(app)
    assert (alert.status, alert.assigned_to, alert.notes) == ("INVESTIGATING", "root", "looking")
    _trip(app, ip="192.0.2.2")  # still open: the same alert grows
    (alert,) = alerts(app)
    assert alert.event_count == 2
    data.update(status="RESOLVED")
    admin.post(f"/security/alerts/{alert.id}", data=data)
    changes = [
        e.details for e in events_of(app, EventType.DATA_MODIFIED) if e.details.get("alert_id") == alert.id
    ]
    assert [(c["field"], c["new"]) for c in changes] == [
        ("status", "INVESTIGATING"),
        ("assigned_to", "root"),
        ("notes", None),
        ("status", "RESOLVED"),
    ]
    assert all(e.resolved for e in events_of(app, EventType.BRUTE_FORCE_ATTEMPT))
    _trip(app, ip="192.0.2.3")  # closed: the next detection opens a new alert
    assert [a.status for a in alerts(app)] == ["RESOLVED", "ACTIVE"]
    bad = admin.post(f"/security/alerts/{alert.id}", data={**data, "status": "BOGUS"})
    assert bad.status_code == 400
    reopen = admin.post(f"/security/alerts/{alert.id}", data={**data, "status": "ACTIVE"})
    assert reopen.status_code == 400 and "Another alert" in reopen.get_data(as_text=True)


def test_dashboard_renders_charts_without_inline_style_or_script(app, admin):
    _trip(app)
    emit(app, EventType.ACCESS_DENIED, ip="192.0.2.5")
    response = admin.get("/security/?range=7d")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="severity-chart"' in html and 'class="sev-high"' in html and "<polyline" in html
    assert "style=" not in html and not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert (
        "Brute force against account alice" in html
        and 'data-poll-url="/api/v1/security/alerts?status=open"' in html
    )
    assert "The MFA plugin is not enabled" in html  # first_hook_result gave None
    js = admin.get("/security/console-static/security-console.js")
    assert js.status_code == 200 and "after_id" in js.get_data(as_text=True)
    js.close()
    filtered = admin.get("/security/?type=ACCESS_DENIED&severity=MEDIUM&ip=192.0.2.5").get_data(as_text=True)
    assert filtered.count("<td>ACCESS_DENIED</td>") == 1 and "<td>LOGIN_FAILURE</td>" not in filtered
    for bad in ("range=1y", "type=NOPE", "severity=x", "ip=999.1.1.1", "user=" + "x" * 81):
        assert admin.get(f"/security/?{bad}").status_code == 400


@pytest.mark.plugins("mfa", "security")
@pytest.mark.config(MFA_REQUIRED_ROLES="")
def test_dashboard_shows_mfa_adoption_when_the_mfa_plugin_is_on(app, admin):
    html = admin.get("/security/").get_data(as_text=True)
    assert "0 of 1 active users have two-factor sign-in" in html


def test_pagination_and_csv_export(app, admin):
    for number in range(30):
        emit(app, EventType.DATA_VIEWED, ip=f"192.0.2.{number}")
    emit(app, EventType.DATA_VIEWED, ip="192.0.2.250", username="=HYPERLINK(1)")
    first = admin.get("/security/").get_data(as_text=True)
    assert "Page 1 of 2" in first and 'rel="next"' in first
    second = admin.get("/security/?page=2").get_data(as_text=True)
    assert "Page 2 of 2" in second
    csv_response = admin.get("/security/events.csv?type=DATA_VIEWED")
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"
    lines = csv_response.get_data(as_text=True).strip().splitlines()
    assert lines[0].startswith("id,timestamp,event_type") and len(lines) == 32
    assert admin.get("/security/events.csv?range=5y").status_code == 400


def test_ip_page_block_and_unblock(app, admin):
    _trip(app, ip="198.51.100.44")
    page = admin.get("/security/ips/198.51.100.44")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="failed-logins">5<' in html and "alice" in html
    token = csrf_from(html)
    assert (
        admin.post(
            "/security/ips/198.51.100.44/block", data={"csrf_token": token, "minutes": "0", "reason": "x"}
        ).status_code
        == 400
    )
    assert (
        admin.post(
            "/security/ips/127.0.0.1/block", data={"csrf_token": token, "minutes": "5", "reason": "x"}
        ).status_code
        == 400
    )
    response = admin.post(
        "/security/ips/198.51.100.44/block", data={"csrf_token": token, "minutes": "30", "reason": "manual"}
    )
    assert response.status_code == 302
    blocked = app.test_client().get("/", environ_base={"REMOTE_ADDR": "198.51.100.44"})
    assert blocked.status_code == 403
    assert "blocked</span> until" in admin.get("/security/ips/198.51.100.44").get_data(as_text=True)
    admin.post("/security/ips/198.51.100.44/unblock", data={"csrf_token": token})
    assert (
        app.test_client().get("/auth/login", environ_base={"REMOTE_ADDR": "198.51.100.44"}).status_code == 200
    )
    assert admin.get("/security/ips/not-an-ip").status_code == 400


def test_console_is_for_admins_only(app, make_user):
    from tests.security_threats.conftest import login

    make_user("alice")
    client = app.test_client()
    login(client, "alice")
    for path in ("/security/", "/security/alerts", "/security/ips/192.0.2.1", "/security/events.csv"):
        assert client.get(path).status_code == 403
    assert client.get("/api/v1/security/alerts").status_code == 403


def test_alerts_api_list_detail_update(app, admin):
    _trip(app)
    token = csrf_from(admin.get("/security/alerts").get_data(as_text=True))
    listing = admin.get("/api/v1/security/alerts").get_json()
    assert listing["total"] == 1 and listing["alerts"][0]["rule"] == "brute_force_account"
    alert_id = listing["alerts"][0]["id"]
    assert admin.get(f"/api/v1/security/alerts?after_id={alert_id}").get_json()["alerts"] == []
    detail = admin.get(f"/api/v1/security/alerts/{alert_id}").get_json()["alert"]
    assert len(detail["event_ids"]) == 1
    headers = {"X-CSRFToken": token}
    ok = admin.patch(
        f"/api/v1/security/alerts/{alert_id}",
        json={"status": "FALSE_POSITIVE", "notes": "pentest"},
        headers=headers,
    )
    assert ok.status_code == 200 and ok.get_json()["alert"]["status"] == "FALSE_POSITIVE"
    for body, field in (
        ({"status": "DONE"}, "status"),
        ({"status": ["OPEN"]}, "status"),
        ({"status": {}}, "status"),
        ({"assigned_to": "nobody"}, "assigned_to"),
        ({"notes": 5}, "notes"),
        ({"color": "red"}, "color"),
    ):
        bad = admin.patch(f"/api/v1/security/alerts/{alert_id}", json=body, headers=headers)
        assert bad.status_code == 400 and bad.get_json()["field"] == field
    assert admin.get("/api/v1/security/alerts/999").status_code == 404
    assert admin.get(f"/api/v1/security/alerts/{2**31}").status_code == 404  # beyond any id
    assert admin.get("/api/v1/security/alerts?per_page=0").get_json()["field"] == "per_page"
    blocked = admin.post(
        "/api/v1/security/ips/203.0.113.9/block", json={"minutes": 10, "reason": "api"}, headers=headers
    )
    assert blocked.status_code == 201 and blocked.get_json()["created"] is True
    assert admin.get("/api/v1/security/ips/203.0.113.9").get_json()["ip"]["blocked_until"]
    assert admin.delete("/api/v1/security/ips/203.0.113.9/block", headers=headers).get_json()["lifted"] == 1
    assert admin.post("/api/v1/security/ips/x/block", json={}, headers=headers).get_json()["field"] == "ip"
    for scoped in ("fe80::1%25eth0", "::1%25" + "x" * 300, "::1%25%00"):  # an IPv6 zone is free text
        refused = admin.post(f"/api/v1/security/ips/{scoped}/block", json={"minutes": 5}, headers=headers)
        assert refused.status_code == 400 and refused.get_json()["field"] == "ip", scoped


def test_openapi_describes_every_alert_route(app):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    for path in (
        "/security/alerts",
        "/security/alerts/{alert_id}",
        "/security/ips/{ip}",
        "/security/ips/{ip}/block",
    ):
        assert path in document["paths"]
    assert set(document["paths"]["/security/alerts/{alert_id}"]) == {"get", "patch"}
    assert "SecurityAlert" in document["components"]["schemas"]


@pytest.mark.parametrize("path", ["/security/", "/security/alerts", "/security/ips/203.0.113.9"])
def test_page_numbers_beyond_any_database_integer_are_a_400_not_a_500(app, admin, path):
    """Found by the property test below: Flask-SQLAlchemy took any integer as the page, and the
    OFFSET it made overflowed SQLite's integer (a 500)."""
    for page in ("400000000000000000", "100001", "0", "-1", "2x", "\u00b2", "9" * 5000):
        response = admin.get(path, query_string={"page": page})
        assert response.status_code == 400, page
        assert "page must be a whole number from 1 to 100000" in response.get_data(as_text=True)
    for page in ("", "1", "100000"):
        assert admin.get(path, query_string={"page": page}).status_code == 200, page


@pytest.mark.parametrize("path", ["/security/", "/security/alerts", "/admin/users", "/admin/jobs"])
def test_a_page_past_the_end_says_so_and_links_to_the_last_one(app, admin, path):
    response = admin.get(
        path, query_string={"page": "50", "severity": "HIGH"} if path == "/security/" else {"page": "50"}
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "There is no page 50 here." in html
    link = re.search(r'<a href="([^"]+)">Go to page 1</a>, the last one.', html)
    assert link is not None and "page=1" in link.group(1)
    if path == "/security/":
        assert "severity=HIGH" in link.group(1)  # the filters stay
    assert "There is no page" not in admin.get(path).get_data(as_text=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.dictionaries(
        st.sampled_from(["range", "type", "severity", "ip", "user", "page"]), st.text(max_size=30)
    )
)
def test_dashboard_filters_never_fail(app, admin, params):
    response = admin.get("/security/", query_string=params)
    assert response.status_code in (200, 400)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.dictionaries(
        st.text(max_size=12), st.one_of(st.none(), st.integers(), st.text(max_size=20)), max_size=4
    )
)
def test_alert_patch_never_fails(app, admin, body):
    _ = body
    response = admin.patch("/api/v1/security/alerts/1", json=body)
    assert response.status_code in (400, 404)


def test_report_markdown_and_csv(app, runner, tmp_path):
    _trip(app)
    result = runner.invoke(args=["security", "report", "--since", "7d"])
    assert result.exit_code == 0
    assert "# Security report" in result.output and "| HIGH | 1 |" in result.output
    assert "Brute force against account alice" in result.output
    out = tmp_path / "report.csv"
    result = runner.invoke(
        args=["security", "report", "--since", "12h", "--format", "csv", "--output", str(out)]
    )
    assert result.exit_code == 0 and "severity,HIGH,1," in out.read_text()
    bad = runner.invoke(args=["security", "report", "--since", "yesterday"])
    assert bad.exit_code == 2 and "30m, 12h, 7d or 2w" in bad.output


@given(text=st.text(max_size=12))
def test_parse_since_accepts_only_durations(text):
    from plugins.security.threats.report import parse_since

    try:
        delta = parse_since(text)
    except ValueError:
        return
    assert delta.total_seconds() > 0 and text.strip()[-1].lower() in "mhdw"
