"""Enrol and sign in with MFA in a real browser (Debian chromium through Playwright)."""

from __future__ import annotations

import time
from pathlib import Path

import pyotp
import pytest

from tests.conftest import PASSWORD
from tests.support.browser import chromium_page, screenshot
from tests.support.servers import serve_in_thread

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.plugins("mfa")]


def sign_in_with_password(page, base: str) -> None:
    page.goto(base + "/auth/login")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/mfa/verify")


def submit_code(page, code: str) -> None:
    page.fill("input[name=code]", code)
    page.click("main button[type=submit]")


def sign_out(page, base: str) -> None:
    page.click("text=Sign out")
    page.wait_for_url(base + "/auth/login")


def test_enrol_then_sign_in_with_totp_and_with_a_backup_code_once(app, make_user):
    make_user("alice")
    with serve_in_thread(app) as base, chromium_page() as page:
        page.on("dialog", lambda dialog: dialog.accept())
        page.goto(base + "/auth/login")
        page.fill("input[name=username]", "alice")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/")
        page.click("text=Security (MFA)")
        page.click("text=Set up two-factor sign-in")
        page.wait_for_url(base + "/mfa/setup")
        assert page.locator("svg.qr").is_visible()
        secret = page.locator("#mfa-secret").inner_text().strip()
        screenshot(page, "mfa-setup")
        totp = pyotp.TOTP(secret)  # stands in for an independent authenticator app
        # Enrol with the previous step's code (one step of drift is accepted), so that the
        # current code is still unused when signing in below without waiting 30 s.
        submit_code(page, totp.at(time.time() - 30))
        codes = page.locator("#backup-codes code").all_inner_texts()
        assert len(codes) == 10
        with page.expect_download() as download_info:
            page.click("#download-codes")
        downloaded = Path(download_info.value.path()).read_text().split()
        assert set(codes) <= set(downloaded)
        screenshot(page, "mfa-backup-codes")
        page.click("text=I have saved my codes, continue")
        assert "Backup codes left:" in page.locator("#mfa-status").inner_text()
        sign_out(page, base)

        # Password and TOTP.
        sign_in_with_password(page, base)
        submit_code(page, totp.now())
        page.wait_for_url(base + "/")
        assert "alice" in page.locator(".who").inner_text()
        sign_out(page, base)

        # A backup code works once...
        sign_in_with_password(page, base)
        submit_code(page, codes[0])
        page.wait_for_url(base + "/")
        assert "You used a backup code; 9 left." in page.content()
        sign_out(page, base)

        # ...and is refused the second time.
        sign_in_with_password(page, base)
        submit_code(page, codes[0])
        assert page.locator(".error").inner_text().startswith("That code is not valid")
        assert page.url == base + "/mfa/verify"
        screenshot(page, "mfa-backup-code-refused")
