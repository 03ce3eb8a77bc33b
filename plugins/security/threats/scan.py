"""The scheduled threat scan: the windowed rules over events newer than its cursor.

It reads the audit events with ``id`` above the cursor (at most SECURITY_SCAN_BATCH), counts
each subject's ACCESS_DENIED inside the probing window through indexed queries, and compares
each completed traffic bucket with the subject's own baseline. Its work is reported as rows
read, which depends on the new events and the window, never on the length of the history.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from app.events import EventType
from app.extensions import db
from app.models import utcnow
from plugins.security.models import SecurityEvent
from plugins.security.repeats import REPEATS
from plugins.security.threats import pipeline, traffic
from plugins.security.threats.detection import SOURCE, Detection
from plugins.security.threats.models import AuthFailure, ScanState, TrafficCount

STATE_NAME = "threat_scan"
# Traffic counts are kept this long for the IP pages, and at least as long as the baseline.
TRAFFIC_RETENTION_SECONDS = 7 * 86_400
MAX_BUCKETS_PER_RUN = 60


@dataclass
class ScanResult:
    events_read: int = 0
    rows_read: int = 0
    detections: list[Detection] = field(default_factory=list)
    cursor: int = 0


def run_scan(now_epoch: float | None = None) -> ScanResult:
    """Run the windowed rules once; advance the cursor."""
    app = current_app._get_current_object()
    traffic.flush(app)
    state = db.session.get(ScanState, STATE_NAME)
    if state is None:
        state = ScanState(name=STATE_NAME, last_event_id=0, last_bucket=0, rows_read=0)
        db.session.add(state)
    result = ScanResult(cursor=state.last_event_id)
    if current_app.config["SECURITY_DETECTION_ENABLED"]:
        _scan_events(state, result)
        _scan_traffic(state, result, time.time() if now_epoch is None else now_epoch)
    state.rows_read, state.updated_at = result.rows_read, utcnow()
    result.cursor = state.last_event_id
    _prune(now_epoch)
    db.session.commit()
    pipeline.submit(result.detections)  # report, alert, respond
    return result


def _scan_events(state: ScanState, result: ScanResult) -> None:
    config = current_app.config
    rows = db.session.execute(
        select(
            SecurityEvent.id,
            SecurityEvent.event_type,
            SecurityEvent.user_id,
            SecurityEvent.ip_address,
            SecurityEvent.details,
            SecurityEvent.timestamp,
        )
        .where(SecurityEvent.id > state.last_event_id)
        .order_by(SecurityEvent.id)
        .limit(config["SECURITY_SCAN_BATCH"])
    ).all()
    result.events_read = len(rows)
    result.rows_read += len(rows)
    if not rows:
        return
    state.last_event_id = rows[-1].id
    subjects: dict[str, tuple] = {}
    for row in rows:
        if row.event_type != EventType.ACCESS_DENIED.value or (row.details or {}).get("source") == SOURCE:
            continue
        key = f"user:{row.user_id}" if row.user_id is not None else f"ip:{row.ip_address}"
        subjects[key] = (row.user_id, row.ip_address, row.timestamp)
    window = config["SECURITY_PROBE_WINDOW_SECONDS"]
    threshold = config["SECURITY_PROBE_THRESHOLD"]
    for key, (user_id, ip, latest) in subjects.items():
        who = SecurityEvent.user_id == user_id if user_id is not None else SecurityEvent.ip_address == ip
        # An event with the count of repeats of the one before it stands for that many.
        count = db.session.scalar(
            select(
                func.coalesce(func.sum(func.coalesce(SecurityEvent.details[REPEATS].as_integer(), 1)), 0)
            ).where(
                who,
                SecurityEvent.event_type == EventType.ACCESS_DENIED.value,
                SecurityEvent.timestamp >= latest - timedelta(seconds=window),
            )
        )
        result.rows_read += count
        if count >= threshold:
            result.detections.append(
                Detection(
                    "privilege_probing",
                    key,
                    f"{count} refused requests for admin-only pages in {window} s",
                    user_id=user_id,
                    ip=ip,
                    metadata={"count": count, "window_seconds": window},
                )
            )


def _scan_traffic(state: ScanState, result: ScanResult, now_epoch: float) -> None:
    config = current_app.config
    size = config["SECURITY_TRAFFIC_BUCKET_SECONDS"]
    last_complete = traffic.bucket_of(now_epoch, size) - size
    # The first run judges the latest bucket only: older ones would lack their own baseline.
    first = last_complete if not state.last_bucket else state.last_bucket + size
    first = max(first, last_complete - (MAX_BUCKETS_PER_RUN - 1) * size)
    baseline_buckets = config["SECURITY_TRAFFIC_BASELINE_BUCKETS"]
    minimum, factor = config["SECURITY_TRAFFIC_MIN_REQUESTS"], config["SECURITY_TRAFFIC_FACTOR"]
    for bucket in range(first, last_complete + 1, size):
        busy = db.session.execute(
            select(TrafficCount.kind, TrafficCount.subject, TrafficCount.count).where(
                TrafficCount.bucket == bucket, TrafficCount.count >= minimum
            )
        ).all()
        result.rows_read += len(busy)
        for kind, subject, count in busy:
            history = db.session.execute(
                select(func.count(TrafficCount.id), func.coalesce(func.sum(TrafficCount.count), 0)).where(
                    TrafficCount.kind == kind,
                    TrafficCount.subject == subject,
                    TrafficCount.bucket >= bucket - baseline_buckets * size,
                    TrafficCount.bucket < bucket,
                )
            ).one()
            result.rows_read += history[0]
            baseline = history[1] / baseline_buckets
            if count >= factor * max(baseline, 1.0):
                result.detections.append(
                    Detection(
                        f"unusual_traffic_{kind}",
                        f"{kind}:{subject}",
                        f"{count} requests in {size} s against a baseline of {baseline:.1f}",
                        ip=subject if kind == "ip" else None,
                        metadata={"count": count, "baseline": round(baseline, 2), "bucket": bucket},
                    )
                )
    state.last_bucket = max(state.last_bucket, last_complete)


def _prune(now_epoch: float | None) -> None:
    config = current_app.config
    longest = max(config["SECURITY_BRUTE_FORCE_WINDOW_SECONDS"], config["SECURITY_STUFFING_WINDOW_SECONDS"])
    db.session.execute(
        delete(AuthFailure).where(AuthFailure.occurred_at < utcnow() - timedelta(seconds=longest))
    )
    size = config["SECURITY_TRAFFIC_BUCKET_SECONDS"]
    keep = max(TRAFFIC_RETENTION_SECONDS, (config["SECURITY_TRAFFIC_BASELINE_BUCKETS"] + 1) * size)
    oldest = int((time.time() if now_epoch is None else now_epoch) - keep)
    db.session.execute(delete(TrafficCount).where(TrafficCount.bucket < oldest))
