"""Tables of detection and response: alerts, IP blocks, IP lists, notifications and scan state."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, Enum, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.events import Severity
from app.extensions import db
from app.models import utcnow
from app.timestamps import rfc3339


class AlertStatus(StrEnum):
    ACTIVE = "ACTIVE"
    INVESTIGATING = "INVESTIGATING"
    RESOLVED = "RESOLVED"
    FALSE_POSITIVE = "FALSE_POSITIVE"


OPEN_STATUSES = (AlertStatus.ACTIVE.value, AlertStatus.INVESTIGATING.value)


class SecurityAlert(db.Model):
    """The seed's ``security_alerts``: one alert per rule and subject while it is open."""

    __tablename__ = "security_alerts"
    __table_args__ = (
        Index("ix_security_alerts_status_last", "status", "last_occurrence"),
        Index("ix_security_alerts_rule_subject", "rule", "subject"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(
        Enum(
            *[s.value for s in Severity],
            name="security_alert_severity",
            native_enum=False,
            create_constraint=True,
            length=16,
        )
    )
    event_count: Mapped[int] = mapped_column(Integer, default=1)
    first_occurrence: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_occurrence: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(
        Enum(
            *[s.value for s in AlertStatus],
            name="security_alert_status",
            native_enum=False,
            create_constraint=True,
            length=16,
        ),
        default=AlertStatus.ACTIVE.value,
    )
    assigned_to: Mapped[str | None] = mapped_column(String(80))
    notes: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    rule: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(120))
    # "rule:subject" while the alert is open, NULL once closed: the unique constraint makes
    # "one open alert per rule and subject" hold across processes.
    open_key: Mapped[str | None] = mapped_column(String(170), unique=True)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "severity": self.severity,
            "status": self.status,
            "rule": self.rule,
            "subject": self.subject,
            "event_count": self.event_count,
            "first_occurrence": rfc3339(self.first_occurrence),
            "last_occurrence": rfc3339(self.last_occurrence),
            "assigned_to": self.assigned_to,
            "notes": self.notes,
            "metadata": self.details or {},
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(self.updated_at),
        }


class AlertEvent(db.Model):
    """An event linked to an alert (the detections it aggregates)."""

    __tablename__ = "security_alert_events"

    alert_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)


class IpBlock(db.Model):
    """A temporary block of one client IP, automatic (from an alert) or by an admin."""

    __tablename__ = "security_ip_blocks"
    __table_args__ = (Index("ix_security_ip_blocks_ip_expires", "ip_address", "expires_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ip_address: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(300), default="")
    alert_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    created_by: Mapped[str] = mapped_column(String(80), default="auto")
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lifted_by: Mapped[str | None] = mapped_column(String(80))


class IpListEntry(db.Model):
    """One network of a named IP list (``tor``, ``vpn``) loaded from a file."""

    __tablename__ = "security_ip_lists"
    __table_args__ = (UniqueConstraint("list_name", "network", name="uq_security_ip_lists_list_network"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_name: Mapped[str] = mapped_column(String(20), index=True)
    network: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(200), default="")
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuthFailure(db.Model):
    """A failed sign-in, indexed by username and IP for the windowed rules (pruned by the scan)."""

    __tablename__ = "security_auth_failures"
    __table_args__ = (
        Index("ix_security_auth_failures_username_time", "username", "occurred_at"),
        Index("ix_security_auth_failures_ip_time", "ip_address", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    ip_address: Mapped[str] = mapped_column(String(64), default="")
    username: Mapped[str] = mapped_column(String(80), default="")
    event_id: Mapped[int | None] = mapped_column(Integer)


class KnownAddress(db.Model):
    """An IP a user signed in from, with its location when a GeoIP database knows it."""

    __tablename__ = "security_user_ips"
    __table_args__ = (
        UniqueConstraint("user_id", "ip_address", name="uq_security_user_ips_user_ip"),
        Index("ix_security_user_ips_user_last", "user_id", "last_seen"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)
    ip_address: Mapped[str] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sign_ins: Mapped[int] = mapped_column(Integer, default=1)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    place: Mapped[str | None] = mapped_column(String(120))


class TrafficCount(db.Model):
    """Requests per IP or endpoint per time bucket: the baseline of the unusual-traffic rule."""

    __tablename__ = "security_traffic"
    __table_args__ = (
        UniqueConstraint("bucket", "kind", "subject", name="uq_security_traffic_bucket_kind_subject"),
        Index("ix_security_traffic_kind_subject_bucket", "kind", "subject", "bucket"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer)  # epoch seconds of the bucket's start
    kind: Mapped[str] = mapped_column(String(10))  # "ip" or "endpoint"
    subject: Mapped[str] = mapped_column(String(120))
    count: Mapped[int] = mapped_column(Integer, default=0)


class Notification(db.Model):
    """One outgoing notice of an alert (webhook or e-mail) and its delivery log."""

    __tablename__ = "security_notifications"
    __table_args__ = (Index("ix_security_notifications_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))  # "webhook" or "email"
    alert_id: Mapped[int] = mapped_column(Integer, index=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    target: Mapped[str] = mapped_column(String(300))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending, sending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(300))
    log: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ScanState(db.Model):
    """Where the scheduled threat scan stopped: the last event id and traffic bucket it read."""

    __tablename__ = "security_scan_state"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(Integer, default=0)
    last_bucket: Mapped[int] = mapped_column(Integer, default=0)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
