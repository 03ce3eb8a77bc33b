"""Property-based: any query string gets 200 with plans that match, or 400 naming a parameter."""

from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

NAMES = [
    "state", "county", "type", "premium_min", "premium_max", "min_stars", "carrier", "sort", "page", "per_page",
]  # fmt: skip
NASTY = st.sampled_from(
    ["", " ", "-1", "0", "1e309", "NaN", "-Infinity", "1" * 5000, "x" * 10_240, "\x00", "%", "_",
     "' OR 1=1 --", "<script>", "ca", "hmo", "Medigap", "-stars", "4.5", "0.001", "\u0661\u0662"]
)  # fmt: skip
VALUES = NASTY | st.text(max_size=30) | st.integers(-(10**12), 10**12).map(str) | st.floats().map(str)
QUERIES = st.dictionaries(st.sampled_from(NAMES) | st.text(min_size=1, max_size=8), VALUES, max_size=5)


def matches(plan: dict, filters: dict) -> bool:
    checks = {
        "state": lambda v: plan["state"] == v,
        "county": lambda v: plan["county"].lower() == v,
        "type": lambda v: plan["plan_type"] == v,
        "premium_min": lambda v: plan["monthly_premium"] >= v,
        "premium_max": lambda v: plan["monthly_premium"] <= v,
        "min_stars": lambda v: plan["star_rating"] is not None and plan["star_rating"] >= v,
        "carrier": lambda v: v in plan["carrier"].lower(),
    }
    return all(checks[name](value) for name, value in filters.items())


@settings(max_examples=150, deadline=None)
@given(query=QUERIES)
def test_api_answers_matching_plans_or_a_400_naming_the_field(reader, query):
    response = reader.get("/api/v1/plans/search?" + urlencode(query))
    body = response.get_json()
    assert response.status_code in (200, 400), body
    if response.status_code == 400:
        assert body["field"] and body["field"] in {name[:80] for name in query}
        assert body["field"] in body["error"]
    else:
        assert all(matches(plan, body["filters"]) for plan in body["items"])


@settings(max_examples=60, deadline=None)
@given(query=QUERIES)
def test_the_page_never_fails_on_bad_filters(reader, query):
    response = reader.get("/plans/?" + urlencode(query))
    assert response.status_code in (200, 400)
    html = response.get_data(as_text=True)
    assert ("error-summary" in html) == (response.status_code == 400)


@pytest.mark.parametrize("value", ["1e-999999999999999999", "9e+999999999999999999", "-0", "0e0"])
def test_extreme_exponents_are_answered(reader, value):
    response = reader.get("/api/v1/plans/search", query_string={"premium_min": value})
    assert response.status_code in (200, 400)
