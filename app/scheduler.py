"""The scheduler runner: holds the runner lock, and while it holds it runs APScheduler 3 with the
enabled plugins' jobs. Without the lock it stands by and takes over when the holder goes away.

It starts only where asked: inside ``flask serve`` (embedded) or as ``flask jobs serve`` (its
own process in production); never in create_app, so never once per gunicorn worker.
"""

from __future__ import annotations

import logging
import threading
import time

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from app.jobs import run_job, runner_id
from app.runner_lock import RENEW_SECONDS, make_runner_lock

log = logging.getLogger(__name__)
# Jobs that may run at the same time. Each may hold database connections, so the pool is sized
# for them (app.database.BACKGROUND_THREADS) as well as for the request threads.
JOB_THREADS = 3
# Seconds between two looks at the runner lock: the active runner renews it, a standby tries to
# take it. A standby takes over within one period of a clean stop, and within the lock's TTL
# (app.runner_lock.TTL_PERIODS periods) plus one of a runner that died holding it.
POLL_SECONDS = RENEW_SECONDS


def build_scheduler(app: Flask) -> BackgroundScheduler:
    """An APScheduler with one entry per enabled plugin job."""
    scheduler = BackgroundScheduler(timezone="UTC", executors={"default": ThreadPoolExecutor(JOB_THREADS)})
    for job in app.extensions["portal.plugins"].jobs():
        scheduler.add_job(
            run_job,
            trigger=job.trigger,
            args=(app, job),
            id=job.name,
            name=job.name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=60,
            replace_existing=True,
            **dict(job.trigger_args),
        )
    return scheduler


class SchedulerRunner:
    """Acquire the runner lock, run the jobs while holding it, and stand by otherwise."""

    def __init__(self, app: Flask, poll_seconds: float = POLL_SECONDS):
        self.app = app
        self.poll_seconds = poll_seconds
        self.lock = make_runner_lock(app, renew_seconds=poll_seconds)
        self.scheduler: BackgroundScheduler | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return self.scheduler is not None

    def _become_active(self) -> None:
        self.scheduler = build_scheduler(self.app)
        self.scheduler.start()
        log.info("scheduler active in %s with %d job(s)", runner_id(), len(self.scheduler.get_jobs()))

    def _stand_down(self, reason: str) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
            self.scheduler = None
            log.warning("scheduler stood down in %s: %s", runner_id(), reason)

    def run(self, max_seconds: float | None = None) -> None:
        """Run until stop() (or ``max_seconds``); blocks the calling thread."""
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        try:
            while not self._stop.is_set():
                if self.active:
                    if not self.lock.still_held():
                        self._stand_down("runner lock lost")
                elif self.lock.acquire():
                    self._become_active()
                if deadline is not None and time.monotonic() >= deadline:
                    break
                self._stop.wait(self.poll_seconds)
        finally:
            self._stand_down("stopped")
            self.lock.release()

    def start_in_background(self) -> None:
        self._thread = threading.Thread(target=self.run, name="portal-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
