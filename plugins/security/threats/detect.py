"""Detections become audit events; the events of detections become alerts.

The receiver of the audit log's ``event_recorded`` signal runs the inline rules on input events
(failed and successful sign-ins, wrong second-factor codes). A rule that trips logs its own
event (BRUTE_FORCE_ATTEMPT, ...) carrying ``metadata.rule``; when that event comes back through
the same signal it is aggregated into an alert and never fed to the rules again.
"""

from __future__ import annotations

import contextvars
import logging
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app

from app.connection_hold import release_request_connection
from plugins.security.audit import RecordedEvent, log_event
from plugins.security.threats.catalog import INPUT_TYPES, RULES, subject_label

log = logging.getLogger(__name__)

# Marks events the threat module writes about its own work (alert changes, blocks); never input.
SOURCE = "threats"
_running_rules: contextvars.ContextVar[bool] = contextvars.ContextVar("security_rules_running", default=False)


@dataclass
class Detection:
    """A rule that tripped: for which subject (``ip:...``, ``user:...``), and what it saw."""

    rule: str
    subject: str
    description: str
    user_id: int | None = None
    ip: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def report(detection: Detection) -> int | None:
    """Record ``detection`` as its rule's event; return the event id."""
    rule = RULES[detection.rule]
    metadata = {**detection.metadata, "rule": rule.name, "subject": detection.subject[:120]}
    return log_event(
        rule.event_type,
        rule.severity,
        user_id=detection.user_id,
        ip=detection.ip,
        description=f"{rule.title.format(label=subject_label(detection.subject))}: {detection.description}",
        metadata=metadata,
    )


def on_event_recorded(sender: Flask, event: RecordedEvent, **_: Any) -> None:
    """Receiver: alert on detection events, run the inline rules on input events."""
    if not current_app.config["SECURITY_DETECTION_ENABLED"]:
        return
    # The rules and alerts commit on connections of their own: give back the request's first.
    release_request_connection()
    metadata = event.metadata or {}
    try:
        if metadata.get("rule") in RULES and event.id is not None:
            from plugins.security.threats.alerts import record_detection

            record_detection(event)
            return
        if event.event_type not in INPUT_TYPES or metadata.get("source") == SOURCE or _running_rules.get():
            return
        token = _running_rules.set(True)
        try:
            from plugins.security.threats.rules import inline_detections

            detections = inline_detections(event)
        finally:
            _running_rules.reset(token)
        for detection in detections:
            report(detection)
    except Exception:  # detection must never break the request or job that logged the event
        log.exception("threat detection failed on event %s", event.id)
