"""A scheduler runner process for the single-runner tests: python -m tests.support.scheduler_proc
CONFIG_JSON SECONDS [POLL]. It runs one job every second for SECONDS, under the configured lock,
looking at the lock every POLL seconds (default 0.2)."""

from __future__ import annotations

import json
import sys

from app import create_app
from app.plugin import Job, Plugin
from app.scheduler import SchedulerRunner

TICKER = Plugin(
    name="ticker",
    jobs=(Job("ticker.tick", func=lambda: None, trigger_args={"seconds": 1}, description="tick"),),
)


def main() -> None:
    config = json.loads(sys.argv[1])
    config.update(PORTAL_PLUGINS="ticker", PORTAL_EXTRA_PLUGINS=[TICKER])
    app = create_app(config)
    print("started", flush=True)
    poll = float(sys.argv[3]) if len(sys.argv) > 3 else 0.2
    SchedulerRunner(app, poll_seconds=poll).run(max_seconds=float(sys.argv[2]))


if __name__ == "__main__":
    main()
