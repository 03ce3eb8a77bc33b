"""Records per second the flusher writes (raw rows plus roll-up upserts) on SQLite and PostgreSQL,
and the in-memory cost per request of recording, measured in one run.

    .venv/bin/python bench/bench_flush.py [--postgres postgresql://postgres@127.0.0.1/db]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ENDPOINTS = [(f"/bench/{n}/<int:item_id>", "GET") for n in range(20)]


def fill(recorder, count: int) -> float:
    """Record ``count`` fake requests; return the seconds spent recording (the request-path cost)."""
    from plugins.performance.recorder import RequestPerf

    spent = 0.0
    for n in range(count):
        rule, method = ENDPOINTS[n % len(ENDPOINTS)]
        perf = RequestPerf(slow_ms=recorder.config.slow_query_ms, queries=3, db_ms=1.5)
        started = time.perf_counter()
        recorder.record(started, perf, rule, method, 200, None, "10.0.0.1", "bench-client/1.0")
        spent += time.perf_counter() - started
    return spent


def run(url: str, batches: int, batch: int) -> None:
    from app import create_app
    from app.extensions import db
    from plugins.performance.flusher import flush

    app = create_app({"PORTAL_ENV": "testing", "DATABASE_URL": url, "INSTANCE_PATH": tempfile.mkdtemp(),
                      "PORTAL_PLUGINS": "performance", "PERFORMANCE_BUFFER_SIZE": batch,
                      "PERFORMANCE_BATCH_SIZE": batch})  # fmt: skip
    with app.app_context():
        db.drop_all()
        db.create_all()
    recorder = app.extensions["plugin.performance"].recorder
    written, flushing, recording = 0, 0.0, 0.0
    for _ in range(batches):
        recording += fill(recorder, batch)
        started = time.perf_counter()
        written += flush(recorder)
        flushing += time.perf_counter() - started
    print(f"  flushed {written:,} records in {batches} batches of {batch:,}: {written / flushing:,.0f} records/s; "
          f"recording cost {recording / written * 1e6:.1f} us per request")  # fmt: skip
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--postgres", help="also run on this PostgreSQL database (its tables are replaced)")
    args = parser.parse_args()
    print("SQLite:")
    run(f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-flush-')) / 'flush.db'}", args.batches, args.batch)
    if args.postgres:
        print("PostgreSQL:")
        run(args.postgres, args.batches, args.batch)


if __name__ == "__main__":
    main()
