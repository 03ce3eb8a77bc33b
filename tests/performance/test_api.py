"""GET /api/v1/performance/stats: admin only, clear 400s naming the field, described in OpenAPI."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def test_admin_gets_stats(admin, client):
    client.get("/perftarget/items/1")
    client.get("/perftarget/items/1")
    response = client.get("/api/v1/performance/stats?start=2000-01-01T00:00:00Z&end=2000-01-02T00:00:00Z")
    assert response.status_code == 200
    body = response.get_json()
    assert body["totals"]["count"] == 0
    assert (body["resolution_seconds"], body["step_seconds"]) == (3600, 3600)  # minutes are long gone


def test_recent_traffic_shows_up(app, admin, client, flush_now):
    client.get("/perftarget/items/1")
    flush_now()
    body = client.get("/api/v1/performance/stats?endpoint=/perftarget/items/<int:item_id>").get_json()
    assert [(e["endpoint"], e["count"]) for e in body["endpoints"]] == [
        ("/perftarget/items/<int:item_id>", 1)
    ]


def test_clients_and_anonymous_are_refused(client, make_user, auth):
    assert client.get("/api/v1/performance/stats").status_code == 401
    make_user("alice")
    auth.login("alice")
    assert client.get("/api/v1/performance/stats").status_code == 403


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=yesterday", "start"),
        ("end=2024-13-01", "end"),
        ("start=2024-01-02&end=2024-01-01", "start"),
        ("start=2020-01-01&end=2024-01-01", "start"),
        ("endpoint=", "endpoint"),
        ("endpoint=" + "x" * 300, "endpoint"),
        ("endpoint=/plans/%00", "endpoint"),
        ("start=0001-01-01T00:00:00", "start"),
        # A day before this end is no datetime: it overflowed into a 500 (found by schemathesis).
        ("end=0001-01-01T00:03:00Z", "end"),
        ("end=9999-12-31T23:59:59Z", "end"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(admin, client, query, field):
    response = client.get(f"/api/v1/performance/stats?{query}")
    assert response.status_code == 400
    assert response.get_json()["field"] == field


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(start=st.text(max_size=45), end=st.text(max_size=45), endpoint=st.text(max_size=20))
def test_any_input_answers_200_or_400(admin, client, start, end, endpoint):
    response = client.get(
        "/api/v1/performance/stats", query_string={"start": start, "end": end, "endpoint": endpoint}
    )
    assert response.status_code in (200, 400)


def test_openapi_describes_the_route(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/performance/stats"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"start", "end", "endpoint"}
    assert {"200", "400", "401", "403"} <= set(operation["responses"])
    assert "PerformanceStats" in document["components"]["schemas"]
