"""The scheduled threat scan: privilege probing, unusual traffic, and flat work as history grows."""

from __future__ import annotations

import time

import pytest

from app.events import EventType
from app.extensions import db
from tests.security_threats.conftest import alerts, emit


def _scan(app, now=None):
    from plugins.security.threats.scan import run_scan

    with app.app_context():
        return run_scan(now)


def test_privilege_probing_hit_and_near_miss(app, make_user):
    mallory, eve = make_user("mallory"), make_user("eve")
    for _ in range(4):
        emit(app, EventType.ACCESS_DENIED, user=mallory)
        emit(app, EventType.ACCESS_DENIED, user=eve)
    assert _scan(app).detections == []  # 4 each: below the threshold of 5
    emit(app, EventType.ACCESS_DENIED, user=mallory)
    result = _scan(app)
    assert [d.subject for d in result.detections] == [f"user:{mallory.id}"]
    (alert,) = alerts(app, rule="privilege_probing")
    assert alert.subject == f"user:{mallory.id}"


def test_probing_through_real_requests(app, make_user):
    from tests.security_threats.conftest import login

    make_user("mallory")
    client = app.test_client()
    login(client, "mallory")
    for path in ("/security/", "/security/alerts", "/admin/", "/security/ips/192.0.2.1", "/admin/users"):
        assert client.get(path).status_code == 403
    result = _scan(app)
    assert [d.rule for d in result.detections] == ["privilege_probing"]


def test_scan_reads_only_new_events_so_its_work_stays_flat(app, make_user):
    """Rows read per run depend on the new events, not on how many old events exist."""
    user = make_user("mallory")
    rows = []
    for history in (0, 40, 120):
        for number in range(history):
            emit(app, EventType.DATA_VIEWED, ip=f"10.0.{number // 200}.{number % 200}")
        _scan(app)  # the history is read once, by the run that sees it arrive
        for _ in range(3):
            emit(app, EventType.ACCESS_DENIED, user=user)
        rows.append(_scan(app).rows_read)
    # each measured run reads the 3 new events and the denied events inside the window
    # (3, 6, 9 as they accumulate): never the 160 events of history
    assert rows == [3 + 3, 3 + 6, 3 + 9]
    with app.app_context():
        from plugins.security.threats.models import ScanState

        state = db.session.get(ScanState, "threat_scan")
        assert state.rows_read == rows[-1] and state.last_event_id > 160


@pytest.mark.config(
    SECURITY_TRAFFIC_MIN_REQUESTS=20, SECURITY_TRAFFIC_BASELINE_BUCKETS=5, SECURITY_TRAFFIC_FACTOR=4.0
)
def test_unusual_traffic_against_the_ips_own_baseline(app):
    from plugins.security.threats.models import TrafficCount

    size = app.config["SECURITY_TRAFFIC_BUCKET_SECONDS"]
    now = time.time()
    current = int(now // size) * size
    with app.app_context():
        # a busy regular: 30 a bucket all along; a quiet one: 2; both measured in the last bucket
        for back in range(1, 7):
            bucket = current - back * size
            db.session.add(
                TrafficCount(bucket=bucket, kind="ip", subject="198.51.100.1", count=30 if back > 1 else 100)
            )
            db.session.add(
                TrafficCount(bucket=bucket, kind="ip", subject="198.51.100.2", count=2 if back > 1 else 25)
            )
        db.session.commit()
    result = _scan(app, now)
    # 198.51.100.1: 100 < 4 x 30 (near-miss); 198.51.100.2: 25 >= 4 x 2 and >= 20 (hit)
    assert [d.subject for d in result.detections] == ["ip:198.51.100.2"]
    assert _scan(app, now).detections == []  # a bucket is judged once


@pytest.mark.config(SECURITY_TRAFFIC_MIN_REQUESTS=5, SECURITY_TRAFFIC_BUCKET_SECONDS=60)
def test_requests_are_counted_per_ip_and_endpoint(app):
    from plugins.security.threats.models import TrafficCount

    client = app.test_client()
    for _ in range(16):
        client.get("/auth/login", environ_base={"REMOTE_ADDR": "192.0.2.200"})
    from plugins.security.threats import traffic

    traffic.flush(app)  # requests only count in memory; the writer adds them up
    with app.app_context():
        rows = list(db.session.scalars(db.select(TrafficCount)))
    assert sum(row.count for row in rows if row.subject == "192.0.2.200") == 16
    assert sum(row.count for row in rows if row.subject == "auth.login") == 16
    # judge the bucket that got most of the requests (a burst may straddle two buckets)
    busiest = max((row for row in rows if row.subject == "192.0.2.200"), key=lambda row: row.count)
    result = _scan(app, busiest.bucket + 61)
    assert {d.subject for d in result.detections} >= {"ip:192.0.2.200", "endpoint:auth.login"}
