"""Tables of the security plugin: the audit log and its chain head, rate-limit counts, IP bans."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Enum, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.events import EventType, Severity
from app.extensions import db
from app.models import utcnow
from app.timestamps import rfc3339

GENESIS_HASH = "0" * 64


def _values(enum_class) -> list[str]:
    return [member.value for member in enum_class]


class SecurityEvent(db.Model):
    """One audit event (the seed's ``security_events``), chained to its predecessor by hash.

    Ids are assigned by the writer holding the chain lock (head.last_id + 1), so the id order is
    the chain order. ``resolved*`` are the only columns that may change later and are therefore
    left out of the hash.
    """

    __tablename__ = "security_events"
    __table_args__ = (
        Index("ix_security_events_type_time", "event_type", "timestamp"),
        Index("ix_security_events_ip_time", "ip_address", "timestamp"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # No foreign key: the row must outlive its user unchanged (a SET NULL would break the hash).
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    event_type: Mapped[str] = mapped_column(
        Enum(
            *_values(EventType),
            name="security_event_type",
            native_enum=False,
            create_constraint=True,
            length=32,
        )
    )
    severity: Mapped[str] = mapped_column(
        Enum(
            *_values(Severity), name="security_severity", native_enum=False, create_constraint=True, length=16
        )
    )
    description: Mapped[str] = mapped_column(Text, default="")
    ip_address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    details: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    resolved: Mapped[bool] = mapped_column(default=False)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(80))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "timestamp": rfc3339(self.timestamp),
            "event_type": self.event_type,
            "severity": self.severity,
            "user_id": self.user_id,
            "ip_address": self.ip_address,
            "user_agent": self.user_agent,
            "description": self.description,
            "metadata": self.details or {},
            "resolved": self.resolved,
            "hash": self.hash,
        }


class AuditChainHead(db.Model):
    """The single row every audit writer locks: the newest event and the purge anchor, each
    sealed by a MAC under the audit key (``plugins.security.seal``).

    Rows before ``keyed_from`` were written before the chain was keyed by default (by then a
    plain SHA-256 chain unless SECURITY_AUDIT_KEY was set) and are checked by that rule.
    """

    __tablename__ = "security_audit_chain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
    # After retention purges the oldest rows, the first remaining row links to this hash.
    anchor_id: Mapped[int] = mapped_column(Integer, default=0)
    anchor_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
    # The time of the last purged row: an anchor is accepted only behind the retention cutoff.
    anchor_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    anchor_mac: Mapped[str | None] = mapped_column(String(64))
    keyed_from: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    head_mac: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RateLimitRecord(db.Model):
    """Rejections per identifier and endpoint (the seed's ``security_rate_limits``)."""

    __tablename__ = "security_rate_limits"
    __table_args__ = (
        UniqueConstraint("identifier", "endpoint", name="uq_security_rate_limits_identifier_endpoint"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identifier: Mapped[str] = mapped_column(String(120))
    endpoint: Mapped[str] = mapped_column(String(120))
    request_count: Mapped[int] = mapped_column(Integer, default=1)
    first_request: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_request: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class IpBan(db.Model):
    """A temporary ban of a client IP after repeated rate-limit breaches (or by an admin)."""

    __tablename__ = "security_bans"
    __table_args__ = (Index("ix_security_bans_ip_expires", "ip_address", "expires_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ip_address: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(300), default="")
    level: Mapped[int] = mapped_column(Integer, default=1)  # 1 for a first ban, 2 for the next...
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    created_by: Mapped[str] = mapped_column(String(80), default="auto")
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lifted_by: Mapped[str | None] = mapped_column(String(80))
