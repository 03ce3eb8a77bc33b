"""An audit event as stored, the shape every later stage of the security-event pipeline reads.

A leaf: it imports nothing of the audit log or the pipeline, so the audit log, its repeat
counter and the threat stages can all depend on it without depending on each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.models import utcnow


@dataclass(frozen=True)
class RecordedEvent:
    """A stored event as the pipeline's stages and receivers of ``event_recorded`` see it."""

    id: int | None
    event_type: str
    severity: str
    user_id: int | None
    ip_address: str
    user_agent: str
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)
    timestamp: datetime = field(default_factory=utcnow)


def canonical_time(value: datetime) -> str:
    """The timestamp as naive UTC ISO text: the same whether SQLite or PostgreSQL returned it."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")
