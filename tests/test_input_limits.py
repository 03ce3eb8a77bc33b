"""Input Flask would pass on unbounded: JSON nesting, JSON bodies sent to HTML forms, integers in
URL paths, query parameters named like url_for's arguments, and the limiter switched off."""

from __future__ import annotations

import io

import pytest

from tests.conftest import PASSWORD

DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.plugins("security", "cache")
def test_deeply_nested_json_is_refused_not_a_server_error(client, make_user, auth):
    assert client.post("/healthz", data=DEEP, content_type="application/json").status_code == 405
    make_user("root", role="admin")
    auth.login("root")
    token = auth.csrf_token("/cache/")
    response = client.post(
        "/api/v1/cache/invalidate", data=DEEP, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert response.status_code == 400 and response.get_json()["field"] == "body"


@pytest.mark.plugins("security")
@pytest.mark.config(WTF_CSRF_ENABLED=False)
@pytest.mark.parametrize(
    "body", ["1", '"x"', "[1]", '{"username": 1, "password": 2}', '{"username": ["a"], "password": {"x": 1}}']
)
def test_a_json_body_sent_to_a_form_fills_no_field(client, make_user, body):
    make_user("alice")
    response = client.post("/auth/login", data=body, content_type="application/json")
    assert response.status_code == 400 and "This field is required" in response.get_data(as_text=True)
    valid_as_json = client.post("/auth/login", json={"username": "alice", "password": PASSWORD})
    assert valid_as_json.status_code == 400  # credentials count only from the HTML form


@pytest.mark.plugins("cache")
def test_a_file_sent_under_a_text_fields_name_fills_nothing(client, make_user, auth):
    make_user("root", role="admin")
    auth.login("root")
    token = auth.csrf_token("/cache/")
    data = {"csrf_token": token, "value": (io.BytesIO(b"plans"), "tag.txt")}
    response = client.post("/cache/invalidate", data=data, follow_redirects=True)
    assert response.status_code == 200 and "Tag: This field is required" in response.get_data(as_text=True)


@pytest.mark.plugins("plans")
def test_a_path_number_beyond_database_integers_is_a_404(client, make_user, auth):
    make_user("alice")
    auth.login("alice")
    for path in (f"/plans/{2**31}", f"/plans/{2**63}", f"/plans/policies/{2**63}", f"/plans/{10**40}"):
        assert client.get(path).status_code == 404, path
    assert client.get(f"/plans/{2**31 - 1}").status_code == 404  # the largest id: looked up, absent


@pytest.mark.plugins("performance")
def test_query_parameters_named_like_url_for_arguments_stay_parameters(client, make_user, auth):
    make_user("root", role="admin")
    auth.login("root")
    response = client.get("/performance/?endpoint=x&_external=1&_anchor=y&page=1")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert (
        'href="/performance/?endpoint=x&amp;_external=1' in page
        and "http://localhost/performance" not in page
    )


@pytest.mark.config(RATELIMIT_ENABLED=False)
def test_the_portal_starts_with_the_limiter_switched_off(client):
    assert client.get("/healthz").status_code == 200
