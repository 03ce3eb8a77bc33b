"""GET /api/v1/plans/search: filters, sorting, pagination metadata and clear 400s."""

import pytest

pytestmark = pytest.mark.plugins("plans")


def codes(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["plan_code"] for item in response.get_json()["items"]]


def search(reader, **params):
    return reader.get("/api/v1/plans/search", query_string=params)


def test_anonymous_callers_get_401_json(shared_app):
    response = search(shared_app.test_client())
    assert response.status_code == 401
    assert response.get_json()["error"] == "authentication required"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"state": "ny"}, {"H0006-001", "M0008-001"}),
        ({"state": "CA", "county": "los angeles"}, {"H0001-001", "R0003-001", "S0004-001", "M0005-001"}),
        ({"county": "DOÑA ANA"}, {"R0007-001"}),
        ({"type": "medigap"}, {"M0005-001", "M0008-001"}),
        ({"premium_min": "12.10", "premium_max": "45"}, {"H0002-001", "S0004-001", "R0007-001"}),
        ({"premium_max": "0"}, {"H0001-001", "H0006-001"}),
        ({"min_stars": "4"}, {"H0001-001", "H0002-001", "H0006-001"}),
        ({"carrier": "PIONEER"}, {"H0006-001", "R0007-001"}),
        ({"carrier": "100%"}, {"S0004-001"}),  # the % is a character to find, not a wildcard
        ({"carrier": "_"}, set()),
        ({"state": "TX"}, set()),
    ],
)
def test_each_filter_narrows_the_results(reader, params, expected):
    assert set(codes(search(reader, **params))) == expected


def test_filters_combine(reader):
    found = codes(search(reader, state="CA", type="HMO", min_stars="4.5", premium_max="10"))
    assert found == ["H0001-001"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("premium", ["H0001-001", "H0006-001", "S0004-001"]),
        ("-premium", ["M0005-001", "M0008-001", "R0003-001"]),
        ("-stars", ["H0006-001", "H0001-001", "H0002-001"]),
        ("moop", ["S0004-001", "H0001-001", "H0002-001"]),
    ],
)
def test_sorting_with_ties_broken_by_id(reader, sort, expected):
    assert codes(search(reader, sort=sort))[:3] == expected


@pytest.mark.parametrize("sort", ["stars", "-stars", "moop", "-moop"])
def test_plans_without_a_value_sort_last_either_way(reader, sort):
    found = codes(search(reader, sort=sort))
    column = "star_rating" if "stars" in sort else "max_out_of_pocket"
    items = search(reader, sort=sort).get_json()["items"]
    missing = [item["plan_code"] for item in items if item[column] is None]
    assert missing and found[-len(missing) :] == missing


def test_pagination_metadata_and_pages(reader):
    first = search(reader, per_page=3).get_json()
    assert first["pagination"] == {
        "page": 1, "per_page": 3, "total": 8, "pages": 3,
        "has_prev": False, "has_next": True, "prev_num": None, "next_num": 2,
    }  # fmt: skip
    last = search(reader, per_page=3, page=3).get_json()
    assert len(last["items"]) == 2 and last["pagination"]["has_next"] is False
    every = {code for page in (1, 2, 3) for code in codes(search(reader, per_page=3, page=page))}
    assert len(every) == 8
    assert search(reader, per_page=3, page=9).get_json()["items"] == []


def test_the_response_echoes_the_normalized_filters(reader):
    body = search(reader, state="ca", type="hmo", carrier=" North ", premium_min="0.001").get_json()
    assert body["filters"] == {"state": "CA", "type": "HMO", "carrier": "north", "premium_min": 0.01}
    assert body["sort"] == "premium"
    plan = body["items"][0]
    assert plan["monthly_premium"] == 25.5 and plan["benefits"] == ["Dental"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": "abc"}, "page"),
        ({"page": "0"}, "page"),
        ({"page": "-3"}, "page"),
        ({"page": "9" * 40}, "page"),
        ({"per_page": "101"}, "per_page"),
        ({"premium_min": "-1"}, "premium_min"),
        ({"premium_max": "1e9"}, "premium_max"),
        ({"premium_min": "NaN"}, "premium_min"),
        ({"premium_min": "Infinity"}, "premium_min"),
        ({"premium_min": "twelve"}, "premium_min"),
        ({"premium_min": "50", "premium_max": "10"}, "premium_max"),
        ({"min_stars": "6"}, "min_stars"),
        ({"state": "ZZ"}, "state"),
        ({"type": "HMO-POS"}, "type"),
        ({"sort": "price; drop table plans"}, "sort"),
        ({"carrier": "x" * 10_000}, "carrier"),
        ({"county": "Kings\x00"}, "county"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_input_answers_400_naming_the_field(reader, params, field):
    response = search(reader, **params)
    assert response.status_code == 400
    body = response.get_json()
    assert body["field"] == field and body["status"] == 400
    assert field in body["error"]


def test_a_repeated_parameter_is_refused(reader):
    response = reader.get("/api/v1/plans/search?state=CA&state=NY")
    assert response.status_code == 400
    assert response.get_json()["field"] == "state"


def test_the_page_size_setting_is_the_default(shared_app, reader):
    assert search(reader).get_json()["pagination"]["per_page"] == shared_app.config["PLANS_PAGE_SIZE"] == 20


@pytest.mark.config(PLANS_PAGE_SIZE="5")
def test_the_page_size_setting_is_read(client, plans, signed_in):
    assert len(search(client).get_json()["items"]) == 5


@pytest.mark.config(PLANS_PAGE_SIZE="500")
def test_a_bad_page_size_setting_stops_start_up(request):
    from app import ConfigError

    with pytest.raises(ConfigError, match="PLANS_PAGE_SIZE"):
        request.getfixturevalue("app")
