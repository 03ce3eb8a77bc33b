"""Resource samples, threshold alerts and recommendations from the data."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from plugins.performance.flusher import rollup_rows, upsert_rollups
from plugins.performance.models import PerformanceAlert, ResourceSample, SlowQuery
from plugins.performance.recommendations import recommendations
from plugins.performance.recorder import accumulate
from plugins.performance.resources import sample_resources
from plugins.performance.service import get_performance_stats
from tests.performance.conftest import CACHE_STATS


@pytest.mark.config(PERFORMANCE_MEMORY_ALERT_PERCENT=1.0)
def test_sample_stores_figures_and_raises_an_alert(app, client, admin):
    with app.app_context():
        sample_resources()
        sample = db.session.scalars(select(ResourceSample)).one()
        assert 0 <= sample.cpu_percent <= 100 and sample.process_memory_mb > 10
        alerts = db.session.scalars(select(PerformanceAlert)).all()
    assert "memory" in [a.kind for a in alerts]
    assert "memory at" in client.get("/performance/").get_data(as_text=True)
    app.extensions["plugin.performance"].config.__dict__["memory_alert"] = 100.0  # back under the threshold
    with app.app_context():
        sample_resources()
        memory = db.session.scalars(select(PerformanceAlert).where(PerformanceAlert.kind == "memory")).one()
        assert memory.resolved_at is not None
    assert app.extensions["plugin.performance"].recorder.latest_memory_mb is not None


def test_latest_sample_feeds_request_rows(app, client, flush_now):
    with app.app_context():
        sample_resources()
    client.get("/perftarget/items/1")
    flush_now()
    from plugins.performance.models import PerformanceMetric

    with app.app_context():
        row = db.session.scalars(select(PerformanceMetric)).one()
    assert row.memory_usage is not None and row.memory_usage > 10


def advice_for(app, requests=(), slow=(), hours=1):
    rollups = {}
    for when, rule, method, ms, status in requests:
        accumulate(rollups, (int(when) // 60 * 60, rule, method), ms, status, 300.0, 1, 1.0)
    end = datetime.now(UTC) + timedelta(minutes=1)  # after the rows this helper adds
    start = end - timedelta(hours=hours)
    with app.app_context():
        with db.engine.begin() as conn:
            upsert_rollups(conn, rollup_rows(60, rollups))
        for statement, ms in slow:
            db.session.add(SlowQuery(endpoint="/x", method="GET", statement=statement, fingerprint="f" * 16,
                                     parameters="(int,)", duration_ms=ms))  # fmt: skip
        db.session.commit()
        return recommendations(get_performance_stats(start, end), start, end)


def test_recommendations_name_targets_and_figures(app):
    now = time.time() - 60
    requests = [(now, "/slow-read", "GET", 900.0, 200)] * 20 + [(now, "/flaky", "POST", 20.0, 500)] * 3
    requests += [(now, "/flaky", "POST", 20.0, 200)] * 17
    slow = [("SELECT * FROM plans WHERE plans.state = ? AND plans.premium < ?", 250.0)] * 3
    advice = advice_for(app, requests, slow)
    kinds = {a["kind"]: a for a in advice}
    assert kinds["cache"]["target"] == "GET /slow-read" and "no cache answers" in kinds["cache"]["message"]
    assert kinds["errors"]["target"] == "POST /flaky" and kinds["errors"]["figures"]["error_rate"] == 0.15
    assert kinds["index"]["figures"]["columns"] == ["plans.premium", "plans.state"]
    assert advice[0]["severity"] == "high"


def test_a_good_hit_ratio_silences_the_cache_advice(app):
    CACHE_STATS["cache"] = {"hits": 90, "misses": 10, "ratio": 0.9}
    advice = advice_for(app, [(time.time() - 60, "/slow-read", "GET", 900.0, 200)] * 20)
    assert "cache" not in {a["kind"] for a in advice}


def test_low_hit_ratio_is_quoted(app):
    CACHE_STATS["cache"] = {"hits": 1, "misses": 9, "ratio": 0.1}
    advice = advice_for(app, [(time.time() - 60, "/slow-read", "GET", 900.0, 200)] * 20)
    assert "hit ratio is 10%" in next(a for a in advice if a["kind"] == "cache")["message"]


def test_memory_growth(app):
    now = datetime.now(UTC)
    with app.app_context():
        for n, mb in enumerate((100, 120, 150, 200)):
            db.session.add(ResourceSample(timestamp=now - timedelta(minutes=10 - n), pid=42, cpu_percent=1,
                                          memory_percent=1, memory_used_mb=1, disk_percent=1,
                                          process_cpu_percent=1, process_memory_mb=mb))  # fmt: skip
        db.session.commit()
    advice = advice_for(app)
    assert [a["target"] for a in advice if a["kind"] == "memory"] == ["process 42"]
