"""Running scheduled jobs: look-up, pause state and a recorded run (start, duration, outcome)."""

from __future__ import annotations

import logging
import os
import socket
import time

from flask import Flask, current_app

from app.extensions import db
from app.models import JobRun, JobState, utcnow
from app.plugin import Job

log = logging.getLogger(__name__)


def runner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def all_jobs() -> dict[str, Job]:
    """The enabled plugins' jobs by name."""
    return {job.name: job for job in current_app.extensions["portal.plugins"].jobs()}


def paused_jobs() -> set[str]:
    return set(db.session.scalars(db.select(JobState.job_name).where(JobState.paused.is_(True))))


def set_paused(name: str, paused: bool, by: str | None) -> None:
    state = db.session.get(JobState, name) or JobState(job_name=name)
    state.paused, state.updated_at, state.updated_by = paused, utcnow(), by
    db.session.add(state)
    db.session.commit()


def run_job(app: Flask, job: Job, trigger: str = "schedule") -> JobRun:
    """Run ``job`` in an app context and record the run; an error is recorded, not raised."""
    with app.app_context():
        if trigger == "schedule" and job.name in paused_jobs():
            log.info("job %s is paused; skipped", job.name)
            return None
        run = JobRun(job_name=job.name, runner=runner_id(), trigger=trigger, started_at=utcnow())
        db.session.add(run)
        db.session.commit()
        run_id = run.id
        started = time.perf_counter()
        outcome, error = "success", None
        try:
            job.func()
        except Exception as exc:  # a failing job must not stop the scheduler
            db.session.rollback()
            outcome, error = "error", f"{type(exc).__name__}: {exc}"[:2000]
            log.exception("job %s failed", job.name)
        run = db.session.get(JobRun, run_id)
        run.outcome, run.error = outcome, error
        run.finished_at = utcnow()
        run.duration_ms = round((time.perf_counter() - started) * 1000, 3)
        db.session.commit()
        db.session.refresh(run)
        db.session.expunge(run)
        return run
