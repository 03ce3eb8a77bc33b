"""Read-side queries of the security console: filters, time series, top IPs, IP summaries."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from werkzeug.datastructures import MultiDict

from app.api import has_control_characters
from app.events import EventType, Severity
from app.extensions import db
from app.models import User, utcnow
from plugins.security.models import SecurityEvent
from plugins.security.threats import blocking, iplists
from plugins.security.threats.models import IpBlock, KnownAddress, TrafficCount

# The IP page lists the usernames of this many of the IP's latest failed sign-ins.
ACCOUNTS_SCANNED = 1000
RANGES = {
    "24h": (timedelta(hours=24), "hour"),
    "7d": (timedelta(days=7), "day"),
    "30d": (timedelta(days=30), "day"),
}


class FilterError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class EventFilters:
    range: str = "24h"
    event_type: str | None = None
    severity: str | None = None
    ip: str | None = None
    username: str | None = None

    @property
    def since(self) -> datetime:
        return utcnow() - RANGES[self.range][0]

    def args(self) -> dict[str, str]:
        pairs = {"range": self.range, "type": self.event_type, "severity": self.severity, "ip": self.ip}
        pairs["user"] = self.username
        return {key: value for key, value in pairs.items() if value}


def parse_filters(args: MultiDict) -> EventFilters:
    """Filters from a query string; FilterError naming the bad field."""
    range_ = args.get("range") or "24h"
    if range_ not in RANGES:
        raise FilterError("range", f"range must be one of {', '.join(RANGES)}")
    event_type = args.get("type") or None
    if event_type and event_type not in EventType.__members__:
        raise FilterError("type", "type must be an event type such as LOGIN_FAILURE")
    severity = args.get("severity") or None
    if severity and severity not in Severity.__members__:
        raise FilterError("severity", "severity must be LOW, MEDIUM, HIGH or CRITICAL")
    ip = (args.get("ip") or "").strip() or None
    if ip:
        try:
            ip = blocking.normalize_ip(ip)
        except ValueError:
            raise FilterError("ip", "ip must be an IPv4 or IPv6 address") from None
    username = (args.get("user") or "").strip() or None
    if username and len(username) > 80:
        raise FilterError("user", "user must be at most 80 characters")
    if username and has_control_characters(username):
        raise FilterError("user", "user cannot contain control characters")
    return EventFilters(range_, event_type, severity, ip, username)


def filtered_events(filters: EventFilters):
    query = select(SecurityEvent).where(SecurityEvent.timestamp >= filters.since)
    if filters.event_type:
        query = query.where(SecurityEvent.event_type == filters.event_type)
    if filters.severity:
        query = query.where(SecurityEvent.severity == filters.severity)
    if filters.ip:
        query = query.where(SecurityEvent.ip_address == filters.ip)
    if filters.username:
        user_id = db.session.scalar(select(User.id).where(User.username == filters.username))
        query = query.where(SecurityEvent.user_id == (user_id if user_id is not None else -1))
    return query.order_by(SecurityEvent.id.desc())


def _bucket(column, unit: str):
    if db.engine.dialect.name == "postgresql":
        return func.to_char(func.date_trunc(unit, func.timezone("UTC", column)), "YYYY-MM-DD HH24:00")
    return func.strftime("%Y-%m-%d %H:00" if unit == "hour" else "%Y-%m-%d 00:00", column)


def bucket_labels(range_: str) -> list[str]:
    """Every bucket of the range, oldest first, as the SQL bucket expressions spell them."""
    span, unit = RANGES[range_]
    now = utcnow()
    if unit == "hour":
        start = now.replace(minute=0, second=0, microsecond=0) - span + timedelta(hours=1)
        return [
            (start + timedelta(hours=i)).strftime("%Y-%m-%d %H:00")
            for i in range(int(span / timedelta(hours=1)))
        ]
    start = now.replace(hour=0, minute=0, second=0, microsecond=0) - span + timedelta(days=1)
    return [(start + timedelta(days=i)).strftime("%Y-%m-%d 00:00") for i in range(span.days)]


def series(range_: str, column) -> dict[str, dict[str, int]]:
    """Event counts per time bucket and value of ``column`` (severity or event type)."""
    _, unit = RANGES[range_]
    bucket = _bucket(SecurityEvent.timestamp, unit)
    rows = db.session.execute(
        select(bucket, column, func.count())
        .where(SecurityEvent.timestamp >= utcnow() - RANGES[range_][0])
        .group_by(bucket, column)
    ).all()
    result: dict[str, dict[str, int]] = {}
    for label, value, count in rows:
        result.setdefault(str(label), {})[value] = count
    return result


def top_ips(since: datetime, limit: int = 10) -> list[dict]:
    failures = func.sum(case((SecurityEvent.event_type == EventType.LOGIN_FAILURE.value, 1), else_=0))
    rows = db.session.execute(
        select(SecurityEvent.ip_address, func.count(), failures, func.max(SecurityEvent.timestamp))
        .where(SecurityEvent.timestamp >= since, SecurityEvent.ip_address != "")
        .group_by(SecurityEvent.ip_address)
        .order_by(func.count().desc(), SecurityEvent.ip_address)
        .limit(limit)
    ).all()
    blocks = blocking.active_blocks()
    return [
        {
            "ip": ip,
            "events": events,
            "failed_logins": int(failed or 0),
            "last_seen": last,
            "blocked": ip in blocks,
        }
        for ip, events, failed, last in rows
    ]


def ip_summary(ip: str) -> dict:
    """Everything known about one IP for its page and the API."""
    stats = db.session.execute(
        select(
            func.count(SecurityEvent.id),
            func.min(SecurityEvent.timestamp),
            func.max(SecurityEvent.timestamp),
            func.sum(case((SecurityEvent.event_type == EventType.LOGIN_FAILURE.value, 1), else_=0)),
        ).where(SecurityEvent.ip_address == ip)
    ).one()
    failure_details = db.session.scalars(
        select(SecurityEvent.details)
        .where(SecurityEvent.ip_address == ip, SecurityEvent.event_type == EventType.LOGIN_FAILURE.value)
        .order_by(SecurityEvent.id.desc())
        .limit(ACCOUNTS_SCANNED)
    )
    tried = {
        str(d.get("username"))[:80] for d in failure_details if isinstance(d, dict) and d.get("username")
    }
    signed_in = db.session.execute(
        select(User.username)
        .join(KnownAddress, KnownAddress.user_id == User.id)
        .where(KnownAddress.ip_address == ip)
    ).scalars()
    requests = db.session.scalar(
        select(func.coalesce(func.sum(TrafficCount.count), 0)).where(
            TrafficCount.kind == "ip", TrafficCount.subject == ip
        )
    )
    blocks = list(
        db.session.scalars(
            select(IpBlock).where(IpBlock.ip_address == ip).order_by(IpBlock.id.desc()).limit(20)
        )
    )
    until = blocking.blocked_until(ip)
    return {
        "ip": ip,
        "events": stats[0],
        "first_seen": stats[1],
        "last_seen": stats[2],
        "failed_logins": int(stats[3] or 0),
        "accounts_tried": sorted(tried),
        "accounts_signed_in": sorted(set(signed_in)),
        "requests": int(requests or 0),
        "blocked_until": until,
        "blocks": blocks,
        "lists": iplists.memberships(ip),
        "version": ipaddress.ip_address(ip).version,
    }
