"""The plugin's answer to ``portal_account_activity``: a user's newest audit events, for the
account security page (read only; the chain is not touched)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import as_utc
from plugins.security.models import SecurityEvent

MAX_LIMIT = 100


def account_activity(user, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` (at most MAX_LIMIT) events recorded for ``user``, newest first."""
    limit = max(0, min(int(limit), MAX_LIMIT))
    rows = db.session.execute(
        select(
            SecurityEvent.timestamp,
            SecurityEvent.event_type,
            SecurityEvent.severity,
            SecurityEvent.description,
            SecurityEvent.ip_address,
        )
        .where(SecurityEvent.user_id == user.id)
        .order_by(SecurityEvent.id.desc())
        .limit(limit)
    )
    return [
        {
            "created_at": as_utc(row.timestamp),
            "event_type": row.event_type,
            "severity": row.severity,
            "description": row.description,
            "ip_address": row.ip_address,
        }
        for row in rows
    ]
