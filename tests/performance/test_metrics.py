"""/metrics: Prometheus text, restricted to configured addresses or the token; counters."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.events import EventType, Severity
from app.signals import emit_security_event, request_rate_limited
from tests.performance.conftest import CACHE_STATS


def samples(text):
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_duration_histogram_by_endpoint_method_status(client):
    client.get("/perftarget/items/1")
    client.get("/perftarget/items/2")
    client.get("/perftarget/boom")
    found = samples(client.get("/metrics").get_data(as_text=True))
    key = (
        "portal_request_duration_seconds_count",
        (("endpoint", "/perftarget/items/<int:item_id>"), ("method", "GET"), ("status", "200")),
    )
    assert found[key] == 2
    assert (
        found[
            (
                "portal_request_duration_seconds_count",
                (("endpoint", "/perftarget/boom"), ("method", "GET"), ("status", "500")),
            )
        ]
        == 1
    )


def test_other_addresses_are_refused(client):
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 403


@pytest.mark.config(METRICS_ALLOWED_IPS="10.0.0.0/8", METRICS_TOKEN="scrape-token-123")
def test_token_or_network(client):
    assert client.get("/metrics").status_code == 403  # 127.0.0.1 no longer listed
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-token-123"}).status_code == 200
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Basic scrape-token-123"}).status_code == 403


def test_security_events_rate_limits_and_cache(app, client):
    with app.test_request_context():
        emit_security_event(EventType.LOGIN_FAILURE, Severity.MEDIUM, description="test")
        emit_security_event(EventType.LOGIN_FAILURE, Severity.MEDIUM, description="test")
        request_rate_limited.send(app, identifier="ip:1.2.3.4", endpoint="auth.login", limit="5 per minute")
    CACHE_STATS["cache"] = {
        "hits": 30, "misses": 10, "ratio": 0.75, "entries": 4, "bytes": 2048,
        "evictions": 2, "bytes_saved": 900, "errors": 1,
    }  # fmt: skip
    found = samples(client.get("/metrics").get_data(as_text=True))
    kind = EventType.LOGIN_FAILURE.value
    assert found[("portal_security_events_total", (("kind", kind), ("severity", Severity.MEDIUM.value)))] == 2
    assert found[("portal_rate_limited_requests_total", (("endpoint", "auth.login"),))] == 1
    assert found[("portal_cache_hits_total", ())] == 30
    assert found[("portal_cache_misses_total", ())] == 10
    assert found[("portal_cache_hit_ratio", ())] == 0.75
    assert found[("portal_cache_entries", ())] == 4 and found[("portal_cache_bytes", ())] == 2048
    assert found[("portal_cache_evictions_total", ())] == 2
    assert found[("portal_cache_bytes_saved_total", ())] == 900
    assert found[("portal_cache_errors_total", ())] == 1


def test_no_cache_figures_without_a_cache(client):
    text = client.get("/metrics").get_data(as_text=True)
    assert "portal_cache_hits" not in text
