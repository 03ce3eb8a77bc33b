"""What the stages of the security-event pipeline hand each other, and the mark of the threat
part's own events.

A leaf: it imports nothing of the pipeline (only the rule catalogue and the stored-event shape,
leaves themselves), so every stage can use these types without importing another stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from plugins.security.audit_record import RecordedEvent
from plugins.security.threats.catalog import Rule

# Marks events the threat part writes about its own work (alert changes, blocks); never input.
SOURCE = "threats"


@dataclass
class Detection:
    """A rule that tripped: for which subject (``ip:...``, ``user:...``), and what it saw."""

    rule: str
    subject: str
    description: str
    user_id: int | None = None
    ip: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertOutcome:
    """What the alert stage did with one detection event, for the response stage."""

    alert_id: int
    created: bool
    severity: str
    rule: Rule
    event: RecordedEvent
