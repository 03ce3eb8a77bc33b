"""The scheduler runner: holds the runner lock, and while it holds it runs APScheduler 3 with the
enabled plugins' jobs. Without the lock it stands by and takes over when the holder goes away.

It starts only where asked: inside ``flask serve`` (embedded) or as ``flask jobs serve`` (its
own process in production); never in create_app, so never once per gunicorn worker.
"""

from __future__ import annotations

import logging
import threading
import time

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from app.jobs import run_job, runner_id
from app.runner_lock import make_runner_lock

log = logging.getLogger(__name__)


def build_scheduler(app: Flask) -> BackgroundScheduler:
    """An APScheduler with one entry per enabled plugin job."""
    scheduler = BackgroundScheduler(timezone="UTC")
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

    def __init__(self, app: Flask, poll_seconds: float = 5.0):
        self.app = app
        self.poll_seconds = poll_seconds
        self.lock = make_runner_lock(app)
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
