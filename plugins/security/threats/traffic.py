"""Request counts per IP and per endpoint in time buckets, the baseline of unusual traffic.

The request path only bumps an in-memory counter; each worker writes its counts to
``security_traffic`` (one upsert per key) at most every SECURITY_TRAFFIC_FLUSH_SECONDS.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

from flask import Flask, current_app, request
from sqlalchemy.orm import Session

from app.database import upsert_insert
from app.extensions import db
from plugins.security.threats.models import TrafficCount

log = logging.getLogger(__name__)
UNMATCHED = "(no route)"


class TrafficBuffer:
    """Counts of one worker not yet written; safe under threaded servers."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[tuple[int, str, str]] = Counter()
        self.last_flush = time.monotonic()

    def add(self, bucket: int, ip: str, endpoint: str | None) -> None:
        with self.lock:
            self.counts[(bucket, "ip", ip[:120])] += 1
            if endpoint is not None:
                self.counts[(bucket, "endpoint", endpoint[:120])] += 1

    def take(self) -> Counter:
        with self.lock:
            counts, self.counts = self.counts, Counter()
            self.last_flush = time.monotonic()
            return counts


def buffer_of(app: Flask) -> TrafficBuffer:
    return app.extensions["security_threats"]["traffic"]


def bucket_of(epoch: float, size: int) -> int:
    return int(epoch // size) * size


def count_request() -> None:
    """before_request: count this request for its IP and endpoint."""
    config = current_app.config
    endpoint = request.endpoint or UNMATCHED
    if endpoint == "static" or endpoint.endswith(".static"):
        endpoint = None  # files count for the address, not as an endpoint of their own
    buffer = buffer_of(current_app)
    buffer.add(
        bucket_of(time.time(), config["SECURITY_TRAFFIC_BUCKET_SECONDS"]), request.remote_addr or "", endpoint
    )
    if time.monotonic() - buffer.last_flush >= config["SECURITY_TRAFFIC_FLUSH_SECONDS"]:
        flush(current_app)


def flush(app: Flask) -> int:
    """Write this worker's buffered counts; return how many keys were written."""
    counts = buffer_of(app).take()
    if not counts:
        return 0
    rows = [{"bucket": b, "kind": k, "subject": s, "count": n} for (b, k, s), n in counts.items()]
    table = TrafficCount.__table__
    try:
        with Session(db.engine) as session, session.begin():
            statement = upsert_insert(session.connection())(table)
            statement = statement.on_conflict_do_update(
                index_elements=["bucket", "kind", "subject"],
                set_={"count": table.c.count + statement.excluded.count},
            )
            session.execute(statement, rows)
    except Exception:  # counting must never fail a request; the counts of this flush are lost
        log.exception("could not write %d traffic counts", len(rows))
        return 0
    return len(rows)
