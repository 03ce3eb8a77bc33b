"""The search page in a real browser (Debian chromium): filter, sort, paginate, open a plan."""

import pytest

from tests.conftest import PASSWORD
from tests.support.browser import chromium_page, screenshot
from tests.support.servers import serve_in_thread

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.plugins("plans")]


def test_search_filter_sort_paginate(app, make_user, runner):
    make_user("carol")
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    with serve_in_thread(app) as base, chromium_page() as page:
        page.goto(base + "/auth/login?next=/plans/")
        page.fill("input[name=username]", "carol")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/plans/")
        assert "plans found" in page.locator(".result-count").inner_text()

        page.select_option("select[name=state]", "CA")
        page.select_option("select[name=type]", "HMO")
        page.fill("input[name=premium_max]", "60")
        page.select_option("select[name=sort]", "-stars")
        page.click("button.primary")
        page.wait_for_url("**/plans/?*state=CA*")
        rows = page.locator(".plans-table tbody tr")
        assert rows.count() == 20
        types = rows.locator("td:nth-child(3)").all_inner_texts()
        assert set(types) == {"HMO"}
        stars = [float(text.split()[0]) for text in rows.locator("td.stars").all_inner_texts()]
        assert stars == sorted(stars, reverse=True)
        premiums = [
            float(text.strip("$").replace(",", "")) for text in rows.locator("td.premium").all_inner_texts()
        ]
        assert max(premiums) <= 60
        screenshot(page, "plans-search")

        page.click("a[rel=next]")
        page.wait_for_url("**page=2*")
        assert "Page 2 of" in page.locator(".pagination").inner_text()
        assert page.locator("select[name=state]").input_value() == "CA"

        page.fill("input[name=carrier]", "no such carrier")
        page.click("button.primary")
        assert "No plans match these filters" in page.locator(".empty").inner_text()

        page.fill("input[name=carrier]", "")
        page.click("button.primary")
        page.locator(".plans-table tbody tr a").first.click()
        page.wait_for_url("**/plans/*")
        assert "Benefits" in page.content()
        screenshot(page, "plans-detail")
