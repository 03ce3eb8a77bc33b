"""Alerts: detection events aggregated per rule and subject (the pipeline's alert stage), and
their lifecycle.

While an alert is open (ACTIVE or INVESTIGATING) every new detection of its rule for its subject
is linked to it and grows its event count; once closed, the next detection opens a new alert.
The stage returns what it did to the pipeline, which hands it to the response stage.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.events import EventType, Severity
from app.extensions import db
from app.models import utcnow
from plugins.security.audit import append_event
from plugins.security.audit_record import RecordedEvent
from plugins.security.models import SecurityEvent
from plugins.security.repeats import REPEATS
from plugins.security.threats.catalog import RULES, SEVERITY_RANK, at_least, subject_label
from plugins.security.threats.detection import SOURCE, AlertOutcome
from plugins.security.threats.models import OPEN_STATUSES, AlertEvent, AlertStatus, SecurityAlert

log = logging.getLogger(__name__)
NOTES_LIMIT = 4000


def is_detection(event: RecordedEvent) -> bool:
    """Whether ``event`` records a detection (it names a known rule)."""
    return (event.metadata or {}).get("rule") in RULES and event.id is not None


def raise_alerts(events: Iterable[RecordedEvent]) -> list[AlertOutcome]:
    """Open or grow the alert of each detection event; return what was done, for the responses."""
    outcomes = (record_detection(event) for event in events if is_detection(event))
    return [outcome for outcome in outcomes if outcome is not None]


def record_detection(event: RecordedEvent) -> AlertOutcome | None:
    """Open an alert for the detection ``event`` or grow the open one (None: its rule raises none)."""
    rule = RULES[event.metadata["rule"]]
    if not rule.alert:
        return None
    subject = str(event.metadata.get("subject") or f"ip:{event.ip_address}")[:120]
    for _ in range(3):  # a concurrent writer may open the same alert first: then grow theirs
        try:
            alert_id, created, severity = _upsert(rule.name, subject, event)
        except IntegrityError:
            continue
        return AlertOutcome(alert_id, created, severity, rule, event)
    return None


def occurrences(event: RecordedEvent) -> int:
    """How many detections ``event`` stands for: one, or the count of the repeats it records."""
    count = (event.metadata or {}).get(REPEATS)
    return count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else 1


def _upsert(rule_name: str, subject: str, event: RecordedEvent) -> tuple[int, bool, str]:
    rule = RULES[rule_name]
    key = f"{rule_name}:{subject}"
    with Session(db.engine) as session, session.begin():
        alert = session.scalar(select(SecurityAlert).where(SecurityAlert.open_key == key).with_for_update())
        created = alert is None
        if created:
            alert = SecurityAlert(
                title=rule.title.format(label=subject_label(subject))[:200],
                description=event.description,
                severity=event.severity,
                event_count=occurrences(event),
                first_occurrence=event.timestamp,
                last_occurrence=event.timestamp,
                status=AlertStatus.ACTIVE.value,
                details={"rule": rule_name, "ip": event.ip_address, "user_id": event.user_id},
                rule=rule_name,
                subject=subject,
                open_key=key,
            )
            session.add(alert)
            session.flush()
        else:
            alert.event_count += occurrences(event)
            alert.last_occurrence = event.timestamp
            alert.description = event.description
            if SEVERITY_RANK[event.severity] > SEVERITY_RANK[alert.severity]:
                alert.severity = event.severity
        session.add(AlertEvent(alert_id=alert.id, event_id=event.id))
        return alert.id, created, alert.severity


def change_alert(
    alert: SecurityAlert, *, status: str, assigned_to: str | None, notes: str | None, by: str
) -> list[str]:
    """Apply an admin's changes to ``alert`` (in db.session); record one event per change."""
    changes: list[tuple[str, str | None, str | None]] = []
    status = AlertStatus(status).value
    notes = (notes or "").strip()[:NOTES_LIMIT] or None
    assigned_to = (assigned_to or "").strip()[:80] or None
    if status != alert.status:
        changes.append(("status", alert.status, status))
        alert.status = status
        alert.open_key = f"{alert.rule}:{alert.subject}" if status in OPEN_STATUSES else None
    if assigned_to != alert.assigned_to:
        changes.append(("assigned_to", alert.assigned_to, assigned_to))
        alert.assigned_to = assigned_to
    if notes != alert.notes:
        changes.append(("notes", None, None))
        alert.notes = notes
    if not changes:
        return []
    alert.updated_at = utcnow()
    if alert.status not in OPEN_STATUSES:
        _resolve_linked_events(alert.id, by)
    db.session.commit()
    for field, old, new in changes:
        append_event(
            EventType.DATA_MODIFIED,
            Severity.LOW,
            description=f"alert #{alert.id} {field} changed by {by}",
            metadata={"source": SOURCE, "alert_id": alert.id, "field": field, "old": old, "new": new},
        )
    return [field for field, _, _ in changes]


def _resolve_linked_events(alert_id: int, by: str) -> None:
    linked = select(AlertEvent.event_id).where(AlertEvent.alert_id == alert_id)
    db.session.execute(
        update(SecurityEvent)
        .where(SecurityEvent.id.in_(linked), SecurityEvent.resolved.is_(False))
        .values(resolved=True, resolved_at=utcnow(), resolved_by=by[:80])
        .execution_options(synchronize_session=False)
    )


def reopen_conflict(alert: SecurityAlert) -> bool:
    """Whether moving ``alert`` back to an open status would clash with another open alert."""
    key = f"{alert.rule}:{alert.subject}"
    other = db.session.scalar(
        select(SecurityAlert.id).where(SecurityAlert.open_key == key, SecurityAlert.id != alert.id)
    )
    return other is not None


def notify_worthy(severity: str) -> bool:
    return at_least(severity, current_app.config["SECURITY_NOTIFY_MIN_SEVERITY"])
