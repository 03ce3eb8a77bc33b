"""Request counts per IP and per endpoint in time buckets, the baseline of unusual traffic.

The request path only bumps an in-memory counter; the security plugin's writer thread (see
``plugins/security/audit_writer.py``) adds each process's counts to ``security_traffic`` in one
upsert at most every SECURITY_TRAFFIC_FLUSH_SECONDS, on its own connection: a request never
writes them, nor waits for a connection to do so.
"""

from __future__ import annotations

import logging
import time

from flask import Flask

from app.access import is_static
from app.database import upsert_insert
from plugins.security.state import EXTENSION
from plugins.security.state_parts import TrafficBuffer
from plugins.security.threats.models import TrafficCount

log = logging.getLogger(__name__)
UNMATCHED = "(no route)"
FLUSHER = "traffic_counts"


def buffer_of(app: Flask) -> TrafficBuffer:
    return app.extensions[EXTENSION].threats.traffic


def bucket_of(epoch: float, size: int) -> int:
    return int(epoch // size) * size


def count_request(app: Flask, ip: str, endpoint: str | None) -> None:
    """Count one request for its IP and endpoint (``endpoint`` None: a URL with no route)."""
    if endpoint is None:
        endpoint = UNMATCHED
    elif is_static(endpoint):
        endpoint = None  # files count for the address, not as an endpoint of their own
    security = app.extensions[EXTENSION]
    bucket = bucket_of(time.time(), app.config["SECURITY_TRAFFIC_BUCKET_SECONDS"])
    if security.threats.traffic.add(bucket, ip, endpoint):
        security.audit_writer.nudge(FLUSHER)


def write_counts(buffer: TrafficBuffer, conn) -> int:
    """Upsert the buffered counts on ``conn`` (the writer commits); return the keys written."""
    counts = buffer.take()
    if not counts:
        return 0
    rows = [{"bucket": b, "kind": k, "subject": s, "count": n} for (b, k, s), n in counts.items()]
    table = TrafficCount.__table__
    statement = upsert_insert(conn)(table)
    statement = statement.on_conflict_do_update(
        index_elements=["bucket", "kind", "subject"],
        set_={"count": table.c.count + statement.excluded.count},
    )
    conn.execute(statement, rows)
    return len(rows)


def flush(app: Flask) -> int:
    """Write this process's buffered counts now (through the writer); return the keys written."""
    return app.extensions[EXTENSION].audit_writer.flush_counts().get(FLUSHER, 0)


def setup_traffic(app: Flask) -> None:
    """Let the security writer flush the buffer of counts kept in ``app``'s state."""
    state = app.extensions[EXTENSION]
    buffer = state.threats.traffic
    state.audit_writer.add_flusher(
        FLUSHER, app.config["SECURITY_TRAFFIC_FLUSH_SECONDS"], lambda conn: write_counts(buffer, conn)
    )
