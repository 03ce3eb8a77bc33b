"""Sign in and out in a real browser (Debian chromium through Playwright)."""

import pytest

from tests.conftest import PASSWORD
from tests.support.browser import chromium_page, screenshot
from tests.support.servers import serve_in_thread

pytestmark = pytest.mark.browser


def test_sign_in_wrong_password_then_right_one(app, make_user):
    make_user("alice")
    with serve_in_thread(app) as base, chromium_page() as page:
        page.goto(base + "/")
        assert page.url.startswith(base + "/auth/login")
        page.fill("input[name=username]", "alice")
        page.fill("input[name=password]", "not the password")
        page.click("button[type=submit]")
        assert page.locator(".error").inner_text() == "Invalid username or password."
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/")
        assert "Welcome, alice" in page.content()
        screenshot(page, "core-home")
        page.click("text=Sign out")
        page.wait_for_url(base + "/auth/login")
        assert "You are signed out." in page.content()
