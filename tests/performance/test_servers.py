"""Real servers: gunicorn with 2 workers (multiprocess metrics, flush at shutdown), PostgreSQL,
and the dashboard in chromium."""

import concurrent.futures
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from plugins.performance.flusher import flush
from plugins.performance.jobs import retention, rollup_hours
from plugins.performance.models import NPlusOnePattern, PerformanceMetric
from plugins.performance.service import get_performance_stats
from plugins.performance.synthetic import write_synthetic
from tests.conftest import PASSWORD, POSTGRES_URL
from tests.performance.conftest import target_plugin
from tests.support.browser import chromium_page, screenshot
from tests.support.postgres import private_database
from tests.support.servers import gunicorn, serve_in_thread

REQUESTS = 120


def readyz_count(text):
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "portal_request_duration_seconds_count" and sample.labels["endpoint"] == "/readyz"
    )


@pytest.mark.slow
def test_two_gunicorn_workers_add_up_and_shutdown_flushes(tmp_path):
    database = f"sqlite:///{tmp_path / 'g.db'}"
    setup_app = create_app(
        {
            "PORTAL_ENV": "testing",
            "DATABASE_URL": database,
            "INSTANCE_PATH": str(tmp_path),
            "PORTAL_PLUGINS": "performance",
        }
    )
    with setup_app.app_context():
        db.create_all()
    (tmp_path / "prom").mkdir()
    env = {
        "DATABASE_URL": database,
        "PORTAL_INSTANCE_PATH": str(tmp_path),
        "PORTAL_PLUGINS": "performance",
        "SCHEDULER_ENABLED": "false",
        "SECRET_KEY": "gunicorn-test-secret-key-long-enough-for-production",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"),
        "PERFORMANCE_FLUSH_INTERVAL_SECONDS": "3600",  # only the shutdown flush writes
    }

    def worker_files() -> set[str]:
        return {p.name.split("_")[-1] for p in (tmp_path / "prom").glob("histogram_*.db")}

    sent = 0
    with gunicorn(env, workers=2) as base:
        # The kernel hands connections to whichever worker accepts first, and the second may
        # still be starting: send rounds until both have served (each round is counted).
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            for _ in range(20):
                statuses = list(
                    pool.map(
                        lambda _: requests.get(base + "/readyz", timeout=10).status_code, range(REQUESTS)
                    )
                )
                assert statuses == [200] * REQUESTS
                sent += REQUESTS
                if len(worker_files()) == 2:
                    break
        text = requests.get(base + "/metrics", timeout=10).text
        pids = worker_files()
    assert len(pids) == 2, "both workers served requests and wrote their own metric files"
    assert readyz_count(text) == sent
    with setup_app.app_context():
        stored = db.session.scalar(
            select(func.count()).select_from(PerformanceMetric).where(PerformanceMetric.endpoint == "/readyz")
        )
    assert stored == sent


@pytest.mark.postgres
def test_flush_upserts_and_stats_on_postgresql(tmp_path):
    with private_database(POSTGRES_URL, "perf") as url:
        _flush_upserts_and_stats(url, tmp_path)


def _flush_upserts_and_stats(url: str, tmp_path) -> None:
    app = create_app(
        {
            "PORTAL_ENV": "testing",
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(tmp_path),
            "PORTAL_PLUGINS": "performance,perftarget",
            "PORTAL_EXTRA_PLUGINS": (target_plugin,),
            "PERFORMANCE_FLUSH_INTERVAL_SECONDS": 3600,
            "PERFORMANCE_N_PLUS_ONE_THRESHOLD": 10,
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
    try:
        client = app.test_client()
        recorder = app.extensions["plugin.performance"].recorder
        for round_ in range(2):  # the second flush must add to the stored roll-ups
            for n in range(5):
                client.get(f"/perftarget/items/{n}")
            client.get("/perftarget/users")
            flush(recorder)
        with app.app_context():
            write_synthetic(db.session.connection(), time.time() - 3600, time.time(), 500)
            db.session.commit()
            from datetime import UTC, datetime, timedelta

            end = datetime.now(UTC) + timedelta(minutes=1)
            stats = get_performance_stats(end - timedelta(hours=2), end)
            by_rule = {e["endpoint"]: e for e in stats["endpoints"]}
            assert by_rule["/perftarget/items/<int:item_id>"]["count"] == 10
            assert stats["totals"]["count"] == 12 + 500
            pattern = db.session.scalars(select(NPlusOnePattern)).one()
            assert (pattern.requests, pattern.max_repeats) == (2, 12)
            assert rollup_hours() >= 1
            week = get_performance_stats(end - timedelta(days=7), end)
            assert week["resolution_seconds"] == 3600 and week["totals"]["count"] == 512
            assert retention()["raw"] == 0
    finally:
        with app.app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


@pytest.mark.browser
@pytest.mark.slow
def test_dashboard_in_a_browser(app, make_user):
    make_user("root", role="admin")
    with app.app_context():
        write_synthetic(db.session.connection(), time.time() - 86400, time.time(), 3000)
        db.session.commit()
    errors = []
    with serve_in_thread(app) as base, chromium_page() as page:
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.goto(base + "/auth/login?next=/performance/")
        page.fill("input[name=username]", "root")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/performance/")
        for path in ("/perftarget/users", "/perftarget/items/1"):
            page.request.get(base + path)
        assert page.locator("svg.perf-chart polyline").count() >= 3
        assert page.locator("#perf-endpoints tbody tr").count() >= 8
        assert page.locator("#perf-recommendations li").count() >= 1
        screenshot(page, "performance-dashboard")
        page.click("text=GET /plans/")
        page.wait_for_url("**/performance/endpoint?**")
        assert "Apdex" in page.content()
        screenshot(page, "performance-endpoint")
        page.click("text=Resources")
        page.wait_for_url(base + "/performance/resources")
    assert not [e for e in errors if "Content Security Policy" in e], errors
