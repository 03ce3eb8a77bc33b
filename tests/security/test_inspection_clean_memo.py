"""Inspection remembers bodiless requests it found clean (by path, query string and inspected
headers) and skips them when they come again; a request differing in anything inspection reads
is inspected anew, and an attack is never remembered as clean."""

from __future__ import annotations

import pytest

from tests.security.conftest import events

pytestmark = pytest.mark.plugins("security")


def test_a_clean_request_is_remembered_and_a_changed_one_still_inspected(client, app):
    clean = app.extensions["plugin.security"].inspected_clean
    for _ in range(3):
        client.get("/auth/login", query_string={"next": "/"}, headers={"User-Agent": "browser"})
    assert len(clean) == 1
    client.get("/auth/login", query_string={"next": "/"}, headers={"User-Agent": "<script>alert(1)</script>"})
    client.get("/auth/login", query_string={"next": "/", "q": "1' UNION SELECT NULL,NULL--"})
    assert len(clean) == 1  # neither was remembered as clean
    assert len(events(app, event_type="XSS_ATTEMPT")) == 1
    assert len(events(app, event_type="SQL_INJECTION_ATTEMPT")) == 1
    # The same attack again is inspected (and reported) again, not skipped.
    client.get("/auth/login", query_string={"next": "/", "q": "1' UNION SELECT NULL,NULL--"})
    assert len(events(app, event_type="SQL_INJECTION_ATTEMPT")) >= 1
    assert len(clean) == 1
