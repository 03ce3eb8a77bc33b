"""The /cache/ dashboard in a real browser (Debian chromium through Playwright)."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from tests.support.browser import chromium_page, screenshot
from tests.support.servers import serve_in_thread

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.plugins("cache")]


def test_admin_invalidates_a_tag_and_clears_the_cache(app, quick_user):
    quick_user("root", role="admin")
    service = app.extensions["plugin.cache"]
    for number in range(3):
        service.set(f"plan:{number}", number, tags=("plans",))
    service.set("user:1", "u", tags=("users",))
    service.get("plan:0")
    errors: list[str] = []
    with serve_in_thread(app) as base, chromium_page() as page:
        # A CSP violation or a script error shows as a console error; the browser's own
        # favicon request is the one 404 a page without an icon causes.
        page.on("console", lambda m: m.type == "error" and "404" not in m.text and errors.append(m.text))
        page.on("response", lambda r: r.status >= 400 and "favicon" not in r.url and errors.append(r.url))
        page.goto(base + "/cache/")
        page.fill("input[name=username]", "root")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/cache/")
        assert page.locator("svg.chart").count() == 1
        assert page.locator("#cache-entries").inner_text() == "4"
        screenshot(page, "cache-dashboard")

        page.locator("tr", has_text="plans").locator("button", has_text="Invalidate").click()
        page.wait_for_load_state()
        assert "3 entries removed" in page.locator(".flash").inner_text()
        assert page.locator("#cache-entries").inner_text() == "1"

        page.once("dialog", lambda dialog: dialog.dismiss())  # "Remove every cache entry?" - no
        page.click("text=Clear the cache")
        assert page.locator("#cache-entries").inner_text() == "1"
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("text=Clear the cache")
        page.wait_for_selector("text=Cache cleared: 1 entries removed.")
        assert page.locator("#cache-entries").inner_text() == "0"
        screenshot(page, "cache-dashboard-cleared")
    assert service.stats()["entries"] == 0
    assert not errors
