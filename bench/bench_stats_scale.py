"""get_performance_stats over one day with 100k and with 1M raw rows: it reads roll-ups only, so
the ratio of the two times should stay near 1. A GROUP BY over the raw rows is timed beside it
for contrast (that ratio grows with the rows).

    .venv/bin/python bench/bench_stats_scale.py [--postgres postgresql://postgres@127.0.0.1/db]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def timed(function, repeat: int = 5) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def run(url: str, small: int, large: int) -> None:
    from sqlalchemy import func, select

    from app import create_app
    from app.extensions import db
    from plugins.performance.models import PerformanceMetric, rollup_table
    from plugins.performance.service import get_performance_stats
    from plugins.performance.synthetic import write_synthetic

    app = create_app({"PORTAL_ENV": "testing", "DATABASE_URL": url, "INSTANCE_PATH": tempfile.mkdtemp(),
                      "PORTAL_PLUGINS": "performance"})  # fmt: skip
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    start = end - timedelta(days=1)
    results = {}
    with app.app_context():
        db.drop_all()
        db.create_all()
        loaded = 0
        for target in (small, large):
            with db.engine.begin() as conn:
                loaded += write_synthetic(conn, start.timestamp(), end.timestamp(), target - loaded)
            db.session.remove()
            rollups = db.session.scalar(select(func.count()).select_from(rollup_table))
            stats = timed(lambda: get_performance_stats(start, end))
            raw = timed(
                lambda: db.session.execute(
                    select(
                        PerformanceMetric.endpoint, func.count(), func.avg(PerformanceMetric.response_time)
                    )
                    .where(PerformanceMetric.timestamp >= start)
                    .group_by(PerformanceMetric.endpoint)
                ).all(),
                repeat=3,
            )
            results[target] = (stats, raw)
            print(f"  {target:>9,} raw rows ({rollups:,} roll-up rows): get_performance_stats {stats * 1000:8.1f} ms; "
                  f"raw GROUP BY {raw * 1000:9.1f} ms")  # fmt: skip
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
    (s_small, r_small), (s_large, r_large) = results[small], results[large]
    print(f"  ratio {large:,} / {small:,}: get_performance_stats {s_large / s_small:.2f} "
          f"(goal: near 1); raw GROUP BY {r_large / r_small:.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--postgres", help="also run on this PostgreSQL database (its tables are replaced)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-stats-"))
    print("SQLite:")
    run(f"sqlite:///{workdir / 'stats.db'}", args.small, args.large)
    if args.postgres:
        print("PostgreSQL:")
        run(args.postgres, args.small, args.large)


if __name__ == "__main__":
    main()
