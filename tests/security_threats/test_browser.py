"""The dashboard in a real browser: a brute-force alert appears without a reload, then is
investigated and resolved."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import PASSWORD, csrf_from
from tests.support.browser import chromium_page, screenshot
from tests.support.servers import serve_in_thread

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.config(SECURITY_DASHBOARD_POLL_SECONDS=2, SECURITY_AUTO_BLOCK=False),
]


def _failed_sign_ins(base: str, username: str, count: int) -> None:
    with requests.Session() as session:
        for _ in range(count):
            token = csrf_from(session.get(base + "/auth/login", timeout=10).text)
            response = session.post(
                base + "/auth/login",
                data={"username": username, "password": "not-the-password", "csrf_token": token},
                timeout=10,
            )
            assert response.status_code == 401


def test_alert_appears_live_then_is_investigated_and_resolved(app, make_user):
    make_user("root", role="admin")
    make_user("alice")
    with serve_in_thread(app) as base, chromium_page() as page:
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.goto(base + "/auth/login")
        page.fill("input[name=username]", "root")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/")
        page.goto(base + "/security/")
        assert page.locator("#no-alerts").is_visible()
        assert page.locator("#severity-chart").is_visible()

        _failed_sign_ins(base, "alice", 5)  # the brute-force-per-account threshold

        row = page.locator("#active-alerts tbody tr", has_text="Brute force against account alice")
        row.wait_for(timeout=15_000)  # the poller adds it: no reload
        assert page.locator("#new-alerts").inner_text() == "1 new alert since this page opened."
        screenshot(page, "security-dashboard-live-alert")

        row.locator("a").click()
        page.wait_for_url("**/security/alerts/*")
        page.select_option("select[name=status]", "INVESTIGATING")
        page.select_option("select[name=assigned_to]", "root")
        page.fill("textarea[name=notes]", "Checking with alice whether she forgot her password.")
        page.click("#alert-form button[type=submit]")
        assert page.locator("#alert-status").inner_text() == "INVESTIGATING"
        page.select_option("select[name=status]", "RESOLVED")
        page.click("#alert-form button[type=submit]")
        assert page.locator("#alert-status").inner_text() == "RESOLVED"
        screenshot(page, "security-alert-resolved")

        page.goto(base + "/security/")
        assert page.locator("#active-alerts tbody tr").count() == 0
        assert not [e for e in errors if "Content Security Policy" in e], errors
