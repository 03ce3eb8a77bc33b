"""In a real browser: while strangers have the account locked, its owner's usual browser (with
its device cookie) signs in; a fresh browser sees the 429 page that says so."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import PASSWORD, csrf_from
from tests.support.browser import chromium_page, screenshot
from tests.support.servers import serve_in_thread

pytestmark = [pytest.mark.browser, pytest.mark.plugins("security")]


def sign_in(page, base: str, password: str) -> None:
    page.goto(base + "/auth/login")
    page.fill("input[name=username]", "carol")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_the_owners_browser_signs_in_while_strangers_have_locked_the_account(app, make_user):
    make_user("carol")
    with serve_in_thread(app) as base, chromium_page() as page:
        sign_in(page, base, PASSWORD)
        page.wait_for_url(base + "/")
        cookie = next(c for c in page.context.cookies() if c["name"] == "portal_device")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
        page.click("text=Sign out")
        page.wait_for_url(base + "/auth/login")
        for _ in range(6):  # a stranger elsewhere, five wrong passwords and more
            stranger = requests.Session()
            token = csrf_from(stranger.get(base + "/auth/login", timeout=30).text)
            stranger.post(
                base + "/auth/login",
                data={"username": "carol", "password": "a guess", "csrf_token": token},
                timeout=30,
            )
        sign_in(page, base, PASSWORD)
        page.wait_for_url(base + "/")
        assert "Welcome, carol" in page.content()
        fresh = page.context.browser.new_context()
        try:
            other = fresh.new_page()
            sign_in(other, base, PASSWORD)
            text = other.content()
            assert "429" in text and "A browser you have signed in with before can still sign in" in text
            screenshot(other, "security-lockout-429")
        finally:
            fresh.close()
