"""Search results go through the portal cache under the "plans" tag; a plan change drops them."""

from dataclasses import fields
from decimal import Decimal

import pytest
from flask import jsonify
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from app.extensions import db
from plugins.plans.forms import SearchForm
from plugins.plans.models import Plan
from plugins.plans.search import SORTS, Criteria, search_plans


def key_for(app, query: str) -> str:
    with app.test_request_context(f"/plans/?{query}"):
        form = SearchForm.from_request()
        assert form.validate(), form.problems
        return form.criteria().cache_key()


@pytest.mark.plugins("plans")
def test_equal_searches_share_a_key_whatever_the_spelling(app):
    assert key_for(app, "state=ca&type=hmo&carrier=North") == key_for(app, "carrier=north&type=HMO&state=CA")
    assert key_for(app, "premium_min=10") == key_for(app, "premium_min=10.00")
    assert key_for(app, "") == key_for(app, "sort=premium&page=1&per_page=20")


money = st.none() | st.decimals(0, 10_000, places=2)
criteria = st.builds(
    Criteria,
    state=st.none() | st.sampled_from(["CA", "NY"]),
    county=st.none() | st.text(max_size=5),
    plan_type=st.none() | st.sampled_from(["HMO", "PDP"]),
    premium_min=money,
    premium_max=money,
    min_stars=st.none() | st.decimals(0, 5, places=1),
    carrier=st.none() | st.text(max_size=5),
    sort=st.sampled_from(sorted(SORTS)),
    page=st.integers(1, 10_000),
    per_page=st.integers(1, 100),
)


@given(criteria, criteria)
def test_different_criteria_never_share_a_key(first, second):
    if first != second:
        assert first.cache_key() != second.cache_key()
    else:
        assert first.cache_key() == second.cache_key()


def test_the_key_covers_every_field():
    base = Criteria()
    changed = {
        "state": "CA", "county": "kings", "plan_type": "HMO", "premium_min": Decimal("1.00"),
        "premium_max": Decimal("2.00"), "min_stars": Decimal("3.0"), "carrier": "x",
        "sort": "-stars", "page": 2, "per_page": 7,
    }  # fmt: skip
    assert set(changed) == {field.name for field in fields(Criteria)}
    for name, value in changed.items():
        assert Criteria(**{name: value}).cache_key() != base.cache_key(), name


@pytest.mark.plugins("cache", "plans")
def test_results_are_cached_until_a_plan_changes(app, client, plans, signed_in):
    def premium() -> float:
        body = client.get("/api/v1/plans/search?carrier=summit+senior").get_json()
        return body["items"][0]["monthly_premium"]

    assert premium() == 162.75
    with app.app_context():
        # A raw UPDATE bypasses the ORM, so nothing invalidates: the cached answer stays.
        db.session.execute(text("UPDATE plans SET monthly_premium = 1 WHERE plan_code = 'M0005-001'"))
        db.session.commit()
    assert premium() == 162.75
    with app.app_context():
        plan = db.session.scalar(db.select(Plan).where(Plan.plan_code == "M0005-001"))
        plan.monthly_premium = Decimal("99.99")
        db.session.commit()
    assert premium() == 99.99


@pytest.mark.plugins("cache", "plans")
def test_demo_seed_invalidates_cached_searches(app, client, runner, signed_in):
    assert client.get("/api/v1/plans/search").get_json()["pagination"]["total"] == 0
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    assert client.get("/api/v1/plans/search").get_json()["pagination"]["total"] > 2000


@pytest.mark.plugins("cache", "plans")
def test_a_repeated_search_is_answered_with_the_stored_json(app, client, plans, signed_in):
    path = "/api/v1/plans/search?state=CA&sort=-stars"
    first = client.get(path)
    with app.test_request_context(path):
        form = SearchForm.from_request()
        assert form.validate()
        criteria = form.criteria()
        uncached = jsonify(search_plans(criteria)).get_data()
    assert first.data == uncached  # the same bytes as jsonify
    service = app.extensions["plugin.cache"]
    with app.app_context():
        assert service.delete(criteria.cache_key())  # the results stored for the page...
    before = service.stats()
    second = client.get(path)
    after = service.stats()
    assert second.status_code == 200 and second.mimetype == "application/json"
    assert second.data == first.data
    # ...are not needed: one lookup, one hit, the stored answer.
    assert (after["hits"], after["misses"]) == (before["hits"] + 1, before["misses"])


@pytest.mark.plugins("cache", "plans")
def test_refused_searches_store_nothing(app, client, plans, signed_in):
    service = app.extensions["plugin.cache"]
    before = service.stats()["entries"]
    for query in ("state=ZZ", "page=0", "bogus=1", "state=CA&state=NY", "premium_min=5&premium_max=1"):
        assert client.get(f"/api/v1/plans/search?{query}").status_code == 400, query
    assert service.stats()["entries"] == before
