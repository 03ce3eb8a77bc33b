"""The account security centre in a real browser (Debian chromium through Playwright), with a
real SMTP server: a second browser signs in and the notice reaches the server; the first browser
lists the second's session and ends it (the second is signed out); a breached password is
refused."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from app.auth.passwords import verify_password
from app.extensions import db
from app.models import User
from tests.account.conftest import body_of
from tests.conftest import PASSWORD
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, screenshot
from tests.support.servers import serve_in_thread

pytestmark = pytest.mark.browser
ADDRESS = "alice@example.com"


@pytest.fixture
def app(mail_app):
    return mail_app


@contextlib.contextmanager
def two_browsers() -> Iterator[tuple]:
    """Two pages in separate browser contexts: separate cookies, as two browsers would have."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            pages = []
            for _ in range(2):
                page = browser.new_context().new_page()
                page.set_default_timeout(15_000)
                page.on("dialog", lambda dialog: dialog.accept())  # the data-confirm question
                pages.append(page)
            yield tuple(pages)
        finally:
            browser.close()


def sign_in(page, base: str) -> None:
    page.goto(base + "/auth/login")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(base + "/")


def test_a_second_browser_is_told_by_mail_listed_and_signed_out(app, make_user, smtp_inbox):
    alice = make_user("alice")
    with app.app_context():
        db.session.get(User, alice.id).email = ADDRESS
        db.session.commit()
    with serve_in_thread(app) as base, two_browsers() as (first, second):
        sign_in(first, base)
        smtp_inbox.wait_for(1)
        sign_in(second, base)
        messages = smtp_inbox.wait_for(2)
        assert len(messages) == 2 and all(m["To"] == ADDRESS for m in messages)
        assert "New sign-in" in messages[-1]["Subject"] and PASSWORD not in body_of(messages[-1])

        first.click("header nav >> text=Account")
        first.wait_for_url(base + "/account/security")
        rows = first.locator("tr[data-session]")
        assert rows.count() == 2
        assert "this browser" in first.locator("tr[data-current]").inner_text()
        other = first.locator("tr[data-session]:not([data-current])")
        other_id = other.get_attribute("data-session")
        screenshot(first, "account-security")
        other.locator("button", has_text="Sign out").click()
        first.wait_for_url(base + "/account/security")
        assert "That session is signed out." in first.content()
        assert first.locator("tr[data-session]").count() == 1
        assert first.locator(f'tr[data-session="{other_id}"]').count() == 0

        second.goto(base + "/account/security")
        second.wait_for_url(base + "/auth/login?next=/account/security")

        first.goto(base + "/auth/password")
        first.fill("input[name=current_password]", PASSWORD)
        first.fill("input[name=new_password]", "Dragon123456")
        first.fill("input[name=confirm_password]", "Dragon123456")
        first.click("main button[type=submit]")
        assert "breached and common passwords" in first.locator(".error").inner_text()
    with app.app_context():
        assert verify_password(db.session.get(User, alice.id).password_hash, PASSWORD)
