"""Routing answers the API documents: an id beyond the path converter's range names nothing (404),
even when another rule of the same path serves other methods; a real method mismatch stays 405."""

from __future__ import annotations

import pytest

from app.input_limits import LARGEST_ID
from tests.api.conftest import API_PREFIX


@pytest.mark.parametrize("alert_id", [LARGEST_ID + 1, 6847156916979587072, 10**30])
def test_an_id_out_of_range_is_a_404_for_every_method(as_admin, alert_id):
    url = f"{API_PREFIX}/security/alerts/{alert_id}"
    for method in ("get", "patch"):
        response = getattr(as_admin, method)(url, json={"status": "ACTIVE"})
        assert response.status_code == 404, (method, response.status_code)
        assert response.get_json()["status"] == 404


def test_the_largest_id_is_still_looked_up(as_admin):
    response = as_admin.patch(f"{API_PREFIX}/security/alerts/{LARGEST_ID}", json={"status": "ACTIVE"})
    assert response.status_code == 404 and response.get_json()["field"] == "alert_id"


def test_a_method_no_rule_of_the_path_serves_is_still_a_405(as_admin):
    response = as_admin.put(f"{API_PREFIX}/security/alerts/1", json={})
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "PATCH"}
    # The same holds for a number out of range when no rule of that shape serves the method.
    assert as_admin.put(f"{API_PREFIX}/security/alerts/{LARGEST_ID + 1}", json={}).status_code == 404
