"""Scheduled jobs of detection and response."""

from __future__ import annotations

import logging

from app.plugin import Job
from plugins.security.threats import notify
from plugins.security.threats.scan import run_scan

log = logging.getLogger(__name__)


def threat_scan() -> None:
    """Run the windowed rules over the events since the last scan."""
    result = run_scan()
    log.info(
        "threat scan: %d new events, %d rows read, %d detections, cursor %d",
        result.events_read,
        result.rows_read,
        len(result.detections),
        result.cursor,
    )


def deliver_notifications() -> None:
    """Retry alert notifications whose next attempt is due."""
    attempted = notify.deliver_due()
    if attempted:
        log.info("security notifications: %d attempted", attempted)


THREAT_JOBS: tuple[Job, ...] = (
    Job(
        name="security.threat_scan",
        func=threat_scan,
        trigger="interval",
        trigger_args={"minutes": 1},
        description="Privilege probing and unusual traffic over the events since the last scan",
    ),
    Job(
        name="security.deliver_notifications",
        func=deliver_notifications,
        trigger="interval",
        trigger_args={"minutes": 1},
        description="Retry alert webhooks and e-mails whose next attempt is due",
    ),
)
