"""Step-up re-authentication in a real browser (Debian chromium through Playwright): a session
signed in long ago is asked to confirm it is the user before the password change, then comes
back to the form."""

from __future__ import annotations

import pytest

from app.auth.passwords import verify_password
from app.extensions import db
from app.models import User
from tests.conftest import PASSWORD
from tests.support.browser import chromium_page, screenshot
from tests.support.reauth import age_browser_session
from tests.support.servers import serve_in_thread

pytestmark = pytest.mark.browser
NEW_PASSWORD = "a brand new passphrase 42"


def test_an_old_session_confirms_the_password_then_changes_it(app, make_user):
    alice = make_user("alice")
    with serve_in_thread(app) as base, chromium_page() as page:
        page.goto(base + "/auth/login")
        page.fill("input[name=username]", "alice")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/")
        nav = page.locator("header nav").inner_text()
        age_browser_session(app, page, 3600)
        page.click("header nav >> text=Password")
        page.wait_for_url(base + "/auth/reauth?next=/auth/password")
        assert page.locator("h1").inner_text() == "Confirm it is you"
        assert page.locator("header nav").inner_text() == nav  # navigation unchanged
        assert page.locator("input[name=code]").count() == 0
        screenshot(page, "reauth")
        page.fill("input[name=password]", "not the password")
        page.click("main button[type=submit]")
        assert page.locator(".error").inner_text() == "The password is not correct."
        page.fill("input[name=password]", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(base + "/auth/password")
        page.fill("input[name=current_password]", PASSWORD)
        page.fill("input[name=new_password]", NEW_PASSWORD)
        page.fill("input[name=confirm_password]", NEW_PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(base + "/")
        assert "Your password was changed." in page.content()
    with app.app_context():
        assert verify_password(db.session.get(User, alice.id).password_hash, NEW_PASSWORD)


def test_a_stale_form_submission_is_not_replayed_after_reauthentication(app, make_user):
    alice = make_user("alice")
    with serve_in_thread(app) as base, chromium_page() as page:
        page.goto(base + "/auth/login")
        page.fill("input[name=username]", "alice")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/")
        page.goto(base + "/auth/password")
        page.fill("input[name=current_password]", PASSWORD)
        page.fill("input[name=new_password]", NEW_PASSWORD)
        page.fill("input[name=confirm_password]", NEW_PASSWORD)
        age_browser_session(app, page, 3600)  # the form was left open too long
        page.click("main button[type=submit]")
        page.wait_for_url(base + "/auth/reauth?next=/auth/password")
        assert "Nothing was changed yet" in page.content()
        page.fill("input[name=password]", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(base + "/auth/password")
        assert page.locator("input[name=new_password]").input_value() == ""  # a fresh form
    with app.app_context():
        assert verify_password(db.session.get(User, alice.id).password_hash, PASSWORD)
