"""Repeated identical detections from one source: stored once per window, then one event with
the count; the SIEM line follows the stored events; the hash chain stays intact."""

from __future__ import annotations

import json
import logging

import pytest

from app.events import EventType, Severity
from plugins.security import repeats
from plugins.security.audit import log_event
from tests.security.conftest import events

pytestmark = [pytest.mark.plugins("security"), pytest.mark.config(RATE_LIMIT_ENABLED=False)]
PROBER = "203.0.113.66"


def traversal(client, number: int, ip: str = PROBER):
    return client.get(f"/files/{number}/../../../etc/passwd", environ_base={"REMOTE_ADDR": ip})


def close_windows(app) -> None:
    """Age every open window past its end, as the clock would."""
    memory = app.extensions["plugin.security"].repeats
    for window in memory.windows.values():
        window.started -= app.config["SECURITY_REPEAT_WINDOW_SECONDS"] + 1


def siem_lines(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "portal.security"]


def test_three_hundred_identical_probes_are_one_event_then_one_count(app, client, caplog, runner):
    caplog.set_level(logging.INFO, logger="portal.security")
    assert {traversal(client, n).status_code for n in range(300)} == {404}
    (first,) = events(app)
    assert (
        first["metadata"]["attack"] == "path_traversal"
        and first["metadata"]["path"] == "/files/0/../../../etc/passwd"
    )
    assert [line["id"] for line in siem_lines(caplog)] == [first["id"]]  # the SIEM follows the rows
    close_windows(app)
    traversal(client, 300)  # the next occurrence after the window writes the count, then itself
    first, count, again = events(app)
    assert count["metadata"]["repeats"] == 299 and "(299 more like it in" in count["description"]
    assert count["ip_address"] == PROBER and count["event_type"] == first["event_type"]
    assert "repeats" not in again["metadata"]
    assert [line["id"] for line in siem_lines(caplog)] == [first["id"], count["id"], again["id"]]
    assert runner.invoke(args=["security", "verify-audit"]).exit_code == 0


def test_a_closed_window_is_written_by_the_next_request_of_anyone(app, client):
    for number in range(5):
        traversal(client, number)
    close_windows(app)
    app.extensions["plugin.security"].repeats.next_sweep = 0
    assert client.get("/healthz", environ_base={"REMOTE_ADDR": "192.0.2.50"}).status_code == 200
    first, count = events(app)
    assert count["metadata"]["repeats"] == 4
    assert count["ip_address"] == PROBER and count["user_id"] is None  # the source's, not the sweeper's


def test_different_sources_and_different_detections_are_stored_apart(app, client):
    traversal(client, 1, ip="198.51.100.1")
    traversal(client, 2, ip="198.51.100.2")
    client.get("/?id=1' UNION SELECT password FROM users--", environ_base={"REMOTE_ADDR": "198.51.100.1"})
    client.get("/?id=<script>alert(1)</script>", environ_base={"REMOTE_ADDR": "198.51.100.1"})
    assert len(events(app)) == 4
    assert repeats.flush(app) == 0  # nothing repeated, nothing to count


@pytest.mark.config(SECURITY_REPEAT_WINDOW_SECONDS=0)
def test_a_window_of_zero_stores_each_event(app, client):
    for number in range(3):
        traversal(client, number)
    assert len(events(app)) == 3


def test_events_outside_a_request_and_sign_in_events_are_never_counted_away(app, client):
    with app.app_context():
        for _ in range(3):
            log_event(EventType.CSRF_ATTEMPT, Severity.MEDIUM, ip=PROBER, description="job")
    for _ in range(3):
        with app.test_request_context(environ_base={"REMOTE_ADDR": PROBER}):
            log_event(EventType.LOGIN_FAILURE, Severity.MEDIUM, description="wrong password")
    assert len(events(app)) == 6


@pytest.mark.config(SECURITY_REPEAT_MAX_KEYS=10)
def test_the_memory_is_bounded_and_an_evicted_count_is_written(app):
    for source in range(30):
        for _ in range(3):
            with app.test_request_context(environ_base={"REMOTE_ADDR": f"198.51.100.{source}"}):
                log_event(EventType.CSRF_ATTEMPT, Severity.MEDIUM, description="no token")
    assert len(app.extensions["plugin.security"].repeats.windows) == 10
    stored = events(app)
    assert len(stored) == 30 + 20 and sum(e["metadata"].get("repeats", 0) for e in stored) == 40
    repeats.flush(app)
    assert sum(e["metadata"].get("repeats", 0) for e in events(app)) == 60


def test_concurrent_identical_probes_are_stored_once_and_counted_exactly(app):
    from concurrent.futures import ThreadPoolExecutor

    def probe_many(_):
        client = app.test_client()
        return [traversal(client, n).status_code for n in range(25)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = [code for batch in pool.map(probe_many, range(8)) for code in batch]
    assert set(codes) == {404}
    assert len(events(app)) == 1
    repeats.flush(app)
    first, count = events(app)
    assert count["metadata"]["repeats"] == 8 * 25 - 1


def test_probes_of_one_kind_under_other_parameter_names_are_counted_together(app, client):
    for name in ("id", "q", "page", "sort", "x1", "x2"):
        client.get(f"/?{name}=1' UNION SELECT password FROM users--", environ_base={"REMOTE_ADDR": PROBER})
    (first,) = events(app)
    assert first["event_type"] == "SQL_INJECTION_ATTEMPT" and first["metadata"]["parameter"] == "id"
    repeats.flush(app)
    assert events(app)[1]["metadata"]["repeats"] == 5
