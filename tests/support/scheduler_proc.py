"""A scheduler runner process for the single-runner tests: python -m tests.support.scheduler_proc
CONFIG_JSON SECONDS. It runs one job every second for SECONDS, under the configured lock."""

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
    SchedulerRunner(app, poll_seconds=0.2).run(max_seconds=float(sys.argv[2]))


if __name__ == "__main__":
    main()
