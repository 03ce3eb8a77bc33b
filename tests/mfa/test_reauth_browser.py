"""Step-up re-authentication with a second factor in a real browser (Debian chromium through
Playwright): an old session asked for new backup codes confirms with password and code first."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from tests.support.browser import chromium_page, screenshot
from tests.support.reauth import age_browser_session
from tests.support.servers import serve_in_thread

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.plugins("mfa")]


def test_an_old_session_confirms_password_and_code_before_new_backup_codes(steady_step, app, enrol):
    alice = enrol("alice")
    with serve_in_thread(app) as base, chromium_page() as page:
        page.on("dialog", lambda dialog: dialog.accept())
        page.goto(base + "/auth/login")
        page.fill("input[name=username]", "alice")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/mfa/verify")
        page.fill("input[name=code]", alice.code(-1))  # the next step's code stays unused
        page.click("main button[type=submit]")
        page.wait_for_url(base + "/")
        age_browser_session(app, page, 3600)
        page.goto(base + "/mfa/")
        page.fill("#mfa-status input[name=password]", PASSWORD)
        page.click("text=Make new backup codes")
        page.wait_for_url(base + "/auth/reauth?next=/mfa/")
        assert "Nothing was changed yet" in page.content()
        assert page.locator("input[name=code]").is_visible()
        screenshot(page, "reauth-with-code")
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=code]", alice.code())
        page.click("main button[type=submit]")
        page.wait_for_url(base + "/mfa/")
        assert page.locator("#backup-count").inner_text() == "10"
        page.fill("#mfa-status input[name=password]", PASSWORD)
        page.click("text=Make new backup codes")
        codes = page.locator("#backup-codes code").all_inner_texts()
        assert len(codes) == 10 and not set(codes) & set(alice.backup_codes)
