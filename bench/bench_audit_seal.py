"""What sealing costs an audit append: the time of one append (row, head MAC, high-water mark)
against the time of raising the instance's high-water mark alone, measured in one run, and
appends per second with the mark and with it switched off (alternating rounds; noisy on a
shared machine, hence the first figure).

    .venv/bin/python bench/bench_audit_seal.py [--events 400] [--postgres postgresql://...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def appends_per_second(app, count: int) -> float:
    from app.events import EventType
    from plugins.security.audit import log_event

    with app.app_context():
        started = time.perf_counter()
        for n in range(count):
            log_event(EventType.DATA_VIEWED, description=f"bench {n}")
        return count / (time.perf_counter() - started)


def run(url: str, events: int, rounds: int) -> None:
    from app import create_app
    from app.extensions import db
    from plugins.security import highwater

    app = create_app({"PORTAL_ENV": "testing", "DATABASE_URL": url, "INSTANCE_PATH": tempfile.mkdtemp(),
                      "PORTAL_PLUGINS": "security", "SCHEDULER_ENABLED": False})  # fmt: skip
    with app.app_context():
        db.drop_all()
        db.create_all()
    real_raise = highwater.raise_mark
    sealed = unmarked = 0.0
    for _ in range(rounds):  # alternate, so that a slower moment of the machine hits both
        highwater.raise_mark = real_raise
        sealed += appends_per_second(app, events)
        highwater.raise_mark = lambda *args, **kwargs: None
        unmarked += appends_per_second(app, events)
    highwater.raise_mark = real_raise
    started, marks = time.perf_counter(), events * rounds
    for n in range(marks):
        real_raise(app, b"k" * 32, highwater.Mark(10**9 + n, "0" * 64, 1))
    mark_us = (time.perf_counter() - started) / marks * 1e6
    append_us = 1e6 / (sealed / rounds)
    print(f"  {url.split(':')[0]}: one append {append_us:,.0f} us, of which the mark {mark_us:,.0f} us "
          f"({mark_us / append_us:.1%}); {sealed / rounds:,.0f} appends/s with the mark, "
          f"{unmarked / rounds:,.0f} without")  # fmt: skip
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    run(f"sqlite:///{tempfile.mkdtemp()}/bench.db", args.events, args.rounds)
    if args.postgres:
        run(args.postgres, args.events, args.rounds)


if __name__ == "__main__":
    main()
