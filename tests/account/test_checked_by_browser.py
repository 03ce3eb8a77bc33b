"""The account security centre's "Checked by", end to end: the portal served as it is run
(``flask --app wsgi serve``: waitress, migrations, every default plugin) on http://localhost,
its mail going to a real SMTP server on this machine (aiosmtpd), driven by Debian's chromium.

A client signs in in browser A; browser B (a fresh context: no cookies, so no device cookie)
signs in to the same account and the "new browser" notice reaches the SMTP server, with nothing
secret in it; A lists both sessions on /account/security, its own marked, and ends B's; B's next
request is signed out; a breached password is refused on the password change form.

The user is made with ``flask users create --email``, as an operator would; nothing inside the
served process is reached into: what is checked is what a user and a mailbox see.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.auth.breached import BREACHED_MESSAGE
from tests.account.conftest import Inbox, body_of
from tests.conftest import PASSWORD
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, screenshot
from tests.support.servers import free_port, wait_until_up

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
USERNAME = "alice"
ADDRESS = "alice@example.com"
BREACHED = "password1234"  # on zxcvbn's list of common passwords, and long enough otherwise


def portal_env(instance: Path, smtp_port: int) -> dict[str, str]:
    """The environment of a development portal in ``instance`` that mails through the test's
    SMTP server; none of the caller's database, Redis or plugin settings leak in."""
    env = {
        **os.environ,
        "PORTAL_ENV": "development",
        "PORTAL_INSTANCE_PATH": str(instance),
        "PORTAL_DOTENV": str(instance / "none.env"),
        "PYTHONUNBUFFERED": "1",
        "SECRET_KEY": "checked-by-browser-test-secret-key-0123456789",
        "MAIL_SMTP_HOST": "127.0.0.1",
        "MAIL_SMTP_PORT": str(smtp_port),
        "SCHEDULER_ENABLED": "false",
    }
    for name in ("DATABASE_URL", "REDIS_URL", "PORTAL_PLUGINS", "PORTAL_SAFE_MODE", "TEST_DATABASE_URL"):
        env.pop(name, None)
    return env


def flask(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    """Run ``flask --app wsgi ARGS`` as an operator would; its output, or the test fails."""
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stdout


@contextlib.contextmanager
def served_portal(instance: Path, smtp_port: int) -> Iterator[str]:
    """Migrate, create the client with her e-mail address, and serve on a free port; yield
    ``http://localhost:<port>`` (browsers accept localhost, not an IP address, as a WebAuthn
    relying party: the passkey part of the scenario needs this name)."""
    env = portal_env(instance, smtp_port)
    flask(env, "db", "upgrade")
    created = flask(env, "users", "create", USERNAME, "--email", ADDRESS, stdin=PASSWORD + "\n")
    assert f"<{ADDRESS}>" in created
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "serve", "--no-demo", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(process.stdout), daemon=True)
    reader.start()
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", timeout=120, process=process)
        yield f"http://localhost:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=10)


@contextlib.contextmanager
def chromium() -> Iterator:
    """Debian's chromium; the caller opens one context per "browser" (separate cookies)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_browser(browser):
    """A fresh browser context and its page: no cookies, no device cookie."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.on("dialog", lambda dialog: dialog.accept())  # the data-confirm questions
    return context, page


def sign_in(page, base: str, password: str = PASSWORD) -> None:
    page.goto(base + "/auth/login")
    page.fill("input[name=username]", USERNAME)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")
    page.wait_for_url(base + "/")


def test_a_second_browser_is_told_by_mail_then_listed_and_ended_and_a_breached_password_is_refused(
    tmp_path, smtp_inbox: Inbox
):
    with served_portal(tmp_path / "instance", smtp_inbox.port) as base, chromium() as browser:
        assert base.startswith("http://localhost:")
        context_a, a = new_browser(browser)
        sign_in(a, base)
        assert len(smtp_inbox.wait_for(1, timeout=20)) == 1  # A is a new browser too

        context_b, b = new_browser(browser)
        sign_in(b, base)
        messages = smtp_inbox.wait_for(2, timeout=20)
        assert len(messages) == 2, "no notice of the second browser reached the SMTP server"
        notice = messages[1]
        assert notice["To"] == ADDRESS
        assert notice["Subject"] == "[El-Mag portal] New sign-in to your account"
        body = body_of(notice)
        assert "/account/security" in body and "Address: 127.0.0.1" in body.splitlines()
        text = notice.as_string()
        assert PASSWORD not in text and "csrf" not in text.lower()
        for cookie in context_a.cookies() + context_b.cookies():  # session, device: no token leaks
            assert cookie["value"] not in text, f"the {cookie['name']} cookie is in the mail"

        a.click("header nav >> text=Account")  # the account centre is in the navigation
        a.wait_for_url(base + "/account/security")
        rows = a.locator("tr[data-session]")
        assert rows.count() == 2
        own = a.locator("tr[data-session][data-current]")
        assert own.count() == 1 and "(this browser)" in own.inner_text()
        assert own.locator("button", has_text="Sign out").count() == 0  # not ended from the list
        other = a.locator("tr[data-session]:not([data-current])")
        other_id = other.get_attribute("data-session")
        cells = other.locator("td").all_inner_texts()
        assert cells[0].startswith("Headless Chrome") and cells[1] == "127.0.0.1"
        assert cells[2].endswith("UTC") and cells[3].endswith("UTC")  # signed in, last seen
        screenshot(a, "account-checked-by")
        other.locator("button", has_text="Sign out").click()
        a.wait_for_url(base + "/account/security")
        assert "That session is signed out." in a.content()
        assert rows.count() == 1 and a.locator(f'tr[data-session="{other_id}"]').count() == 0

        b.goto(base + "/account/security")  # B's next request: signed out
        b.wait_for_url(base + "/auth/login?next=/account/security")
        assert b.locator("input[name=password]").count() == 1

        a.goto(base + "/auth/password")
        a.fill("input[name=current_password]", PASSWORD)
        a.fill("input[name=new_password]", BREACHED)
        a.fill("input[name=confirm_password]", BREACHED)
        a.click("main button[type=submit]")
        error = a.locator(".field.has-error .error")
        assert error.inner_text() == BREACHED_MESSAGE

        # The password is unchanged: a fresh browser signs in with it, not with the refused one.
        context_c, c = new_browser(browser)
        c.goto(base + "/auth/login")
        c.fill("input[name=username]", USERNAME)
        c.fill("input[name=password]", BREACHED)
        c.click("main button[type=submit]")
        assert "Invalid username or password." in c.locator("main").inner_text()
        sign_in(c, base)
