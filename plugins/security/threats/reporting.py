"""The pipeline's report stage: each detection becomes its rule's audit event.

The event carries ``metadata.rule`` and ``metadata.subject``, which the alert stage reads. It is
written with ``append_event`` and returned to the pipeline, which hands it to the alert stage:
it never goes back to the stage that runs the rules.
"""

from __future__ import annotations

from collections.abc import Iterable

from plugins.security.audit import append_event
from plugins.security.audit_record import RecordedEvent
from plugins.security.threats.catalog import RULES, subject_label
from plugins.security.threats.detection import Detection


def report(detections: Iterable[Detection]) -> list[RecordedEvent]:
    """Record each detection as its rule's event; return the events stored (a detection counted
    as a repeat of one stored moments before is not among them: its count is stored later)."""
    stored = (report_one(detection) for detection in detections)
    return [event for event in stored if event is not None]


def report_one(detection: Detection) -> RecordedEvent | None:
    """Record ``detection`` as its rule's event; return it as stored."""
    rule = RULES[detection.rule]
    metadata = {**detection.metadata, "rule": rule.name, "subject": detection.subject[:120]}
    return append_event(
        rule.event_type,
        rule.severity,
        user_id=detection.user_id,
        ip=detection.ip,
        description=f"{rule.title.format(label=subject_label(detection.subject))}: {detection.description}",
        metadata=metadata,
    )
