"""Per-request recording: the route rule, the request's figures, sampling, dropping, flushing."""

import time

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import as_utc
from plugins.performance.flusher import _flush_at_exit
from plugins.performance.models import PerformanceMetric, rollup_table


def raw_rows(app):
    with app.app_context():
        return db.session.scalars(select(PerformanceMetric).order_by(PerformanceMetric.id)).all()


def rollup_count(app, endpoint=None):
    with app.app_context():
        query = select(func.coalesce(func.sum(rollup_table.c["count"]), 0)).where(
            rollup_table.c.resolution == 60
        )
        if endpoint:
            query = query.where(rollup_table.c.endpoint == endpoint)
        return db.session.scalar(query)


def test_records_the_route_rule_not_the_path(app, client, flush_now):
    client.get("/perftarget/items/1", headers={"User-Agent": "probe/" + "x" * 400})
    client.get("/perftarget/items/2")
    assert flush_now() == 2
    rows = raw_rows(app)
    assert {r.endpoint for r in rows} == {"/perftarget/items/<int:item_id>"}
    first = rows[0]
    assert (first.method, first.status_code, first.ip_address) == ("GET", 200, "127.0.0.1")
    assert first.user_agent.startswith("probe/") and len(first.user_agent) == 200
    assert first.response_time > 0
    assert rollup_count(app, "/perftarget/items/<int:item_id>") == 2


def test_unmatched_paths_share_one_endpoint_and_static_is_skipped(app, client, flush_now):
    client.get("/no/such/page/1")
    client.get("/no/such/page/2")
    client.get("/static/portal.css").close()
    flush_now()
    assert [r.endpoint for r in raw_rows(app)] == ["<unmatched>", "<unmatched>"]


def test_signed_in_user_and_status_are_recorded(app, client, flush_now, make_user, auth):
    user = make_user("alice")
    auth.login("alice")
    client.get("/perftarget/boom")
    flush_now()
    boom = [r for r in raw_rows(app) if r.endpoint == "/perftarget/boom"]
    assert [(r.status_code, r.user_id) for r in boom] == [(500, user.id)]
    with app.app_context():
        errors = db.session.scalar(
            select(func.sum(rollup_table.c.errors)).where(rollup_table.c.endpoint == "/perftarget/boom")
        )
    assert errors == 1


def test_requests_that_never_reach_their_view_are_measured_from_their_arrival(app, client, flush_now):
    # No signal starts the clock: the request carries its arrival (app.request_pipeline
    # .TimedRequest), so a page that access control turns away, and a method the route does not
    # take, are measured like the others, at the time they arrived.
    before = time.time()
    refused = client.get("/admin/")
    wrong_method = client.delete("/perftarget/items/1")
    after = time.time()
    assert refused.status_code == 302 and wrong_method.status_code == 405
    flush_now()
    rows = {(r.endpoint, r.status_code): r for r in raw_rows(app)}
    assert set(rows) == {("/admin/", 302), ("<unmatched>", 405)}  # a routing error has no rule
    for row in rows.values():
        assert row.response_time > 0
        assert before <= as_utc(row.timestamp).timestamp() <= after


def test_query_count_and_time_are_per_request(app, client, flush_now):
    client.get("/perftarget/count")
    client.get("/perftarget/items/3")
    flush_now()
    by_endpoint = {r.endpoint: r for r in raw_rows(app)}
    assert by_endpoint["/perftarget/count"].db_query_count == 1
    assert by_endpoint["/perftarget/count"].db_time_ms > 0
    assert by_endpoint["/perftarget/items/<int:item_id>"].db_query_count == 0


@pytest.mark.config(PERFORMANCE_SAMPLE_RATE=0.0, PERFORMANCE_SLOW_REQUEST_MS=200.0)
def test_sample_rate_thins_raw_rows_but_rollups_count_everything(app, client, flush_now):
    for n in range(10):
        client.get(f"/perftarget/items/{n}")
    client.get("/perftarget/sleep")  # slower than PERFORMANCE_SLOW_REQUEST_MS: kept whatever the rate
    flush_now()
    assert [r.endpoint for r in raw_rows(app)] == ["/perftarget/sleep"]
    assert rollup_count(app) == 11


@pytest.mark.config(PERFORMANCE_BUFFER_SIZE=10)
def test_full_buffer_drops_and_counts(app, client, flush_now):
    for n in range(15):
        client.get(f"/perftarget/items/{n}")
    recorder = app.extensions["plugin.performance"].recorder
    assert recorder.dropped == 5
    assert flush_now() == 10
    assert rollup_count(app) == 15  # roll-ups are not buffered rows: nothing is lost there
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "portal_performance_dropped_records_total 5.0" in metrics


@pytest.mark.config(PERFORMANCE_FLUSH_INTERVAL_SECONDS=0.05)
def test_background_flusher_writes_without_help(app, client):
    client.get("/perftarget/items/7")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not raw_rows(app):
        time.sleep(0.05)
    assert [r.endpoint for r in raw_rows(app)] == ["/perftarget/items/<int:item_id>"]


def test_exit_handler_flushes_what_is_pending(app, client):
    # The exit handler flushes every recorder of the process: first drain what earlier tests'
    # apps left behind (on a shared PostgreSQL database it would land in this test's tables).
    _flush_at_exit()
    with app.app_context():
        db.session.execute(PerformanceMetric.__table__.delete())
        db.session.commit()
    client.get("/perftarget/items/8")
    assert raw_rows(app) == []
    _flush_at_exit()
    assert len(raw_rows(app)) == 1


@pytest.mark.config(PERFORMANCE_BATCH_SIZE=3, PERFORMANCE_FLUSH_INTERVAL_SECONDS=3600)
def test_a_full_batch_wakes_the_flusher_early(app, client):
    for n in range(3):
        client.get(f"/perftarget/items/{n}")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(raw_rows(app)) < 3:
        time.sleep(0.05)
    assert len(raw_rows(app)) == 3


def test_rollups_add_up_across_flushes(app, client, flush_now):
    client.get("/perftarget/items/1")
    flush_now()
    client.get("/perftarget/items/2")
    client.get("/perftarget/items/3")
    flush_now()
    with app.app_context():
        rows = db.session.execute(
            select(rollup_table).where(rollup_table.c.endpoint == "/perftarget/items/<int:item_id>")
        ).all()
    assert sum(r.count for r in rows) == 3
    assert all(r.min_ms <= r.max_ms for r in rows)
    assert sum(sum(getattr(r, f"h{i:02d}") for i in range(50)) for r in rows) == 3
