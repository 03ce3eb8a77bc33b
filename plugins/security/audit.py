"""The audit log: ``log_event`` appends a hash-chained row and writes a JSON line for a SIEM.

Writers in several processes are serialised on the chain head row: ``SELECT ... FOR UPDATE`` on
PostgreSQL and a write transaction taken up front (``BEGIN IMMEDIATE``) on SQLite. Each event is
written on its own connection and committed at once, independent of the request's session.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from blinker import Namespace
from flask import Flask, current_app, has_app_context, has_request_context, request
from sqlalchemy import insert, select, update

from app.database import upsert_insert
from app.events import EventType, Severity
from app.extensions import db
from app.models import utcnow
from app.signals import security_event
from plugins.security import repeats
from plugins.security.models import GENESIS_HASH, AuditChainHead, SecurityEvent
from plugins.security.sanitize import clean_metadata, clean_text

log = logging.getLogger(__name__)
siem = logging.getLogger("portal.security")

# Sent (sender=app) after an event is stored, with ``event=RecordedEvent``; the detection rules
# subscribe to it instead of wrapping log_event.
event_recorded = Namespace().signal("security-event-recorded")
HEAD_ID = 1
SIEM_LEVELS = {
    "LOW": logging.INFO,
    "MEDIUM": logging.INFO,
    "HIGH": logging.WARNING,
    "CRITICAL": logging.ERROR,
}


@dataclass(frozen=True)
class RecordedEvent:
    """A stored event as receivers of ``event_recorded`` see it."""

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


def event_hash(key: bytes | None, prev_hash: str, row: dict[str, Any]) -> str:
    """The hash over an event's immutable content and its predecessor's hash."""
    content = json.dumps(
        [
            row["id"],
            canonical_time(row["timestamp"]),
            row["event_type"],
            row["severity"],
            row["user_id"],
            row["ip_address"],
            row["user_agent"],
            row["description"],
            row["metadata"],
            prev_hash,
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    ).encode()
    if key:
        return hmac.new(key, content, hashlib.sha256).hexdigest()
    return hashlib.sha256(content).hexdigest()


def audit_key() -> bytes | None:
    key = current_app.config.get("SECURITY_AUDIT_KEY")
    return key.encode() if key else None


def lock_chain(conn) -> Any:
    """Start the writer's transaction and lock the chain head (creating it once); return it."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    head = AuditChainHead.__table__
    conn.execute(
        upsert_insert(conn)(head)
        .values(id=HEAD_ID, last_id=0, last_hash=GENESIS_HASH, anchor_id=0, anchor_hash=GENESIS_HASH)
        .on_conflict_do_nothing(index_elements=["id"])
    )
    return conn.execute(select(head).where(head.c.id == HEAD_ID).with_for_update()).one()


def _append(row: dict[str, Any]) -> dict[str, Any]:
    events, head_table = SecurityEvent.__table__, AuditChainHead.__table__
    with db.engine.connect() as conn:
        head = lock_chain(conn)
        row = {**row, "id": head.last_id + 1, "timestamp": utcnow()}
        row["prev_hash"] = head.last_hash
        row["hash"] = event_hash(audit_key(), head.last_hash, row)
        conn.execute(insert(events).values(**{**row, "resolved": False}))
        conn.execute(
            update(head_table)
            .where(head_table.c.id == HEAD_ID)
            .values(last_id=row["id"], last_hash=row["hash"], updated_at=row["timestamp"])
        )
        conn.commit()
    return row


def _request_defaults(ip: str | None, user_agent: str | None, user_id: int | None):
    if not has_request_context():
        return ip or "", user_agent or "", user_id
    from flask_login import current_user

    if user_id is None and current_user and current_user.is_authenticated:
        user_id = current_user.id
    agent = user_agent if user_agent is not None else request.user_agent.string
    return ip or request.remote_addr or "", agent, user_id


def log_event(
    kind: EventType | str,
    severity: Severity | str = Severity.LOW,
    *,
    user: Any = None,
    user_id: int | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    description: str = "",
    metadata: dict[str, Any] | None = None,
) -> int | None:
    """Record one security event; return its id (None when recording is off or failed, or the
    event was counted as a repeat of one stored moments before).

    Never raises for a storage problem: the JSON line is written even when the row cannot be.
    """
    kind, severity = EventType(kind), Severity(severity)
    if user is not None and user_id is None:
        user_id = getattr(user, "id", None)
    ip, user_agent, user_id = _request_defaults(ip, user_agent, user_id)
    row: dict[str, Any] = {
        "event_type": kind.value,
        "severity": severity.value,
        "user_id": user_id,
        "ip_address": clean_text(ip, 64),
        "user_agent": clean_text(user_agent, 300),
        "description": clean_text(description, 500),
        "metadata": clean_metadata(metadata or {}),
        "timestamp": utcnow(),
        "id": None,
    }
    if repeats.absorbed(row):  # a repeat of a detection stored within its window: counted
        return None
    stored = False
    if has_app_context() and current_app.config.get("SECURITY_AUDIT_ENABLED", True):
        try:
            row = _append(row)
            stored = True
        except Exception:  # the audit must never break the request that is being audited
            log.exception("could not store security event %s", kind.value)
    _write_siem_line(row, stored)
    if stored:
        event_recorded.send(
            current_app._get_current_object(),
            event=RecordedEvent(
                id=row["id"],
                event_type=row["event_type"],
                severity=row["severity"],
                user_id=row["user_id"],
                ip_address=row["ip_address"],
                user_agent=row["user_agent"],
                description=row["description"],
                metadata=row["metadata"],
                timestamp=row["timestamp"],
            ),
        )
    return row["id"] if stored else None


def _write_siem_line(row: dict[str, Any], stored: bool) -> None:
    line = {
        "event": row["event_type"],
        "severity": row["severity"],
        "id": row["id"],
        "time": canonical_time(row["timestamp"]) + "Z",
        "user_id": row["user_id"],
        "ip": row["ip_address"],
        "user_agent": row["user_agent"],
        "description": row["description"],
        "metadata": row["metadata"],
        "hash": row.get("hash"),
        "stored": stored,
    }
    siem.log(SIEM_LEVELS[row["severity"]], json.dumps(line, sort_keys=True, ensure_ascii=True))


def record_signal(sender: Flask, **kwargs: Any) -> None:
    """Receiver of the core's ``security_event`` signal."""
    log_event(
        kwargs["kind"],
        kwargs.get("severity", Severity.LOW),
        user=kwargs.get("user"),
        ip=kwargs.get("ip") or None,
        user_agent=kwargs.get("user_agent"),
        description=kwargs.get("description", ""),
        metadata=kwargs.get("metadata"),
    )


def setup(app: Flask) -> None:
    security_event.connect(record_signal, sender=app)
    if app.config["PORTAL_ENV"] == "production" and not app.config.get("SECURITY_AUDIT_KEY"):
        log.warning(
            "SECURITY_AUDIT_KEY is not set: the audit log's hash chain is plain SHA-256, which "
            "anyone who can write to the database can recompute after changing a row. Set "
            "SECURITY_AUDIT_KEY (a long random string kept out of the database) before the "
            "first event is stored."
        )
