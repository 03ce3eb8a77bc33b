"""The admin dashboard pages: content, empty states, access, no inline style, pagination."""

import re

import pytest

from app.extensions import db
from plugins.performance.resources import sample_resources

PAGES = (
    "/performance/",
    "/performance/endpoint?name=/perftarget/users&method=GET",
    "/performance/slow-queries",
    "/performance/n-plus-one",
    "/performance/slow-requests",
    "/performance/resources",
)


def test_pages_are_admin_only(client, make_user, auth):
    for page in PAGES:
        assert client.get(page).status_code == 302
    make_user("alice")
    auth.login("alice")
    for page in PAGES:
        assert client.get(page).status_code == 403


def test_empty_states(admin, client):
    html = client.get("/performance/?range=1h").get_data(as_text=True)
    assert "No requests in this range" in html
    assert "No statement has been slower" in client.get("/performance/slow-queries").get_data(as_text=True)
    assert "No N+1 pattern seen" in client.get("/performance/n-plus-one").get_data(as_text=True)
    assert "No slow request recorded" in client.get("/performance/slow-requests").get_data(as_text=True)
    assert "No resource sample" in client.get("/performance/resources").get_data(as_text=True)


@pytest.mark.config(SLOW_QUERY_THRESHOLD_MS=5.0, PERFORMANCE_SLOW_REQUEST_MS=200.0)
def test_pages_show_recorded_data(app, admin, client, flush_now):
    for path in ("/perftarget/users", "/perftarget/slow-sql", "/perftarget/sleep", "/perftarget/items/1"):
        client.get(path)
    flush_now()
    with app.app_context():
        sample_resources()
    pages = {page: client.get(page) for page in PAGES}
    assert all(r.status_code == 200 for r in pages.values())
    html = {page: r.get_data(as_text=True) for page, r in pages.items()}
    assert "GET /perftarget/users" in html["/performance/"] and "<svg" in html["/performance/"]
    assert "Latency percentiles" in html["/performance/"]
    assert "eager-load" in html["/performance/"]  # the N+1 recommendation
    assert "SELECT username FROM users WHERE id = ?" in html["/performance/n-plus-one"]
    assert (
        "WITH RECURSIVE" in html["/performance/slow-queries"]
        and "hunter2" not in html["/performance/slow-queries"]
    )
    assert "/perftarget/sleep" in html["/performance/slow-requests"]
    assert "Host CPU" in html["/performance/resources"]
    assert "Up to 12 repeats" in html["/performance/endpoint?name=/perftarget/users&method=GET"]
    for page, text in html.items():
        assert not re.search(r"\sstyle=", text), page  # the CSP forbids inline style
        assert "<script>" not in text
    with client.get("/performance/static/performance.css") as css:
        assert css.status_code == 200


def test_bad_arguments_are_400(admin, client):
    assert client.get("/performance/?range=1y").status_code == 400
    assert client.get("/performance/slow-queries?page=0").status_code == 400
    assert client.get("/performance/endpoint?name=nope").status_code == 400


@pytest.mark.config(PERFORMANCE_SAMPLE_RATE=1.0)
def test_endpoint_table_paginates(app, admin, client, flush_now):
    for n in range(30):
        client.get(f"/missing-{n}")  # one "<unmatched>" endpoint: build many through the roll-ups
    from plugins.performance.flusher import rollup_rows, upsert_rollups
    from plugins.performance.recorder import accumulate

    rollups = {}
    import time

    for n in range(30):
        accumulate(rollups, (int(time.time()) // 60 * 60, f"/e/{n}", "GET"), 10.0, 200, 300.0, 0, 0.0)
    with app.app_context(), db.engine.begin() as conn:
        upsert_rollups(conn, rollup_rows(60, rollups))
    first = client.get("/performance/").get_data(as_text=True)
    second = client.get("/performance/?page=2").get_data(as_text=True)
    assert "Page 1 of 2" in first and "Page 2 of 2" in second


def test_nav_item_for_admins(admin, client):
    assert 'href="/performance/"' in client.get("/").get_data(as_text=True)


@pytest.mark.config(PERFORMANCE_SLOW_REQUEST_MS=200.0)
def test_slow_requests_are_flagged_and_listed_through_the_partial_index(app, admin, client, flush_now):
    # The raw table has no index on the response time (a random-place insert per request): the
    # recorder flags the slow rows and the list reads the partial index that holds only those.
    from sqlalchemy import select, text, true

    from plugins.performance.models import PerformanceMetric

    client.get("/perftarget/sleep")
    client.get("/perftarget/items/1")
    flush_now()
    with app.app_context():
        rows = db.session.execute(select(PerformanceMetric.endpoint, PerformanceMetric.slow)).all()
        flagged = sorted(row for row in rows if row[0].startswith("/perftarget/"))
        assert flagged == [("/perftarget/items/<int:item_id>", False), ("/perftarget/sleep", True)]
        query = (
            select(PerformanceMetric)
            .where(PerformanceMetric.slow == true(), PerformanceMetric.response_time >= 200.0)
            .order_by(PerformanceMetric.timestamp.desc())
        )
        compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
        explain = "EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite" else "EXPLAIN "
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table: no shortcut
        plan = " ".join(str(row) for row in db.session.execute(text(explain + str(compiled))))
        assert "ix_performance_metrics_slow" in plan, plan
    html = client.get("/performance/slow-requests").get_data(as_text=True)
    assert "/perftarget/sleep" in html and "/perftarget/items/" not in html
