"""Scheduled jobs of the security plugin: the audit log's, then the threat part's (``threats/jobs.py``)."""

from __future__ import annotations

import logging

from app.plugin import Job
from plugins.security.chain import purge_events
from plugins.security.threats.jobs import THREAT_JOBS

log = logging.getLogger(__name__)


def purge_old_events() -> None:
    """Apply SECURITY_EVENTS_RETENTION_DAYS to the audit log."""
    deleted = purge_events()
    if deleted:
        log.info("purged %d security events past retention", deleted)


JOBS: tuple[Job, ...] = (
    Job(
        name="security.purge_events",
        func=purge_old_events,
        trigger="interval",
        trigger_args={"hours": 6},
        description="Delete audit events older than SECURITY_EVENTS_RETENTION_DAYS",
    ),
    *THREAT_JOBS,
)
