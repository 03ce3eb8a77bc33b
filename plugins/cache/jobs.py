"""Scheduled jobs (``JOBS``): the cleanup of expired entries and the size bound."""

from __future__ import annotations

from flask import current_app

from app.plugin import Job
from plugins.cache.state import state


def cleanup_job() -> None:
    """Remove expired entries and enforce the size bound (scheduled as cache.cleanup)."""
    removed = state().cleanup()
    if removed:
        current_app.logger.info("cache cleanup removed %d expired entries", removed)


JOBS = (
    Job(
        name="cache.cleanup",
        func=cleanup_job,
        trigger="interval",
        trigger_args={"minutes": 5},
        description="Remove expired cache entries and enforce the size bound",
    ),
)
