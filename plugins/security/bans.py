"""Temporary IP bans: escalating length for repeat offenders, a cached per-worker ban list, admin lift.

Every worker reads the active bans from the database at most every SECURITY_BAN_CACHE_SECONDS,
so a ban (or a lift) made by one worker reaches the others within that time without a query
per request.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from app.events import EventType, Severity
from app.extensions import db
from app.models import as_utc, utcnow
from plugins.security.audit import log_event
from plugins.security.models import IpBan
from plugins.security.state import EXTENSION, state

log = logging.getLogger(__name__)
# Bans within this period count as repeats when the next ban's length is chosen.
REPEAT_MEMORY = timedelta(days=30)


def _as_epoch(value: datetime) -> float:
    return as_utc(value).timestamp()


def invalidate_cache() -> None:
    state().ban_cache.loaded = None


def active_bans() -> dict[str, float]:
    """Banned IPs and when (epoch seconds) each ban ends, at most SECURITY_BAN_CACHE_SECONDS old."""
    app = current_app._get_current_object()  # asked on every request: one proxy lookup
    cache = app.extensions[EXTENSION].ban_cache
    now = time.monotonic()
    max_age = app.config["SECURITY_BAN_CACHE_SECONDS"]
    if cache.loaded is None or now - cache.loaded >= max_age:
        try:
            rows = db.session.execute(
                select(IpBan.ip_address, func.max(IpBan.expires_at))
                .where(IpBan.lifted_at.is_(None), IpBan.expires_at > utcnow())
                .group_by(IpBan.ip_address)
            ).all()
            cache.bans = {ip: _as_epoch(expires) for ip, expires in rows}
            cache.loaded = now
        except Exception:  # an unreadable ban list must not take the portal down
            log.exception("could not load the IP ban list; keeping the previous one")
    return cache.bans


def ban_remaining(ip: str | None) -> int:
    """Seconds left on ``ip``'s ban (0 when it is not banned)."""
    if not ip:
        return 0
    ends = active_bans().get(ip)
    return max(0, int(ends - time.time()) + 1) if ends else 0


def ban_ip(ip: str, reason: str, created_by: str = "auto", seconds: int | None = None) -> IpBan:
    """Ban ``ip``; without ``seconds`` the length doubles with each ban in the last 30 days."""
    config = current_app.config
    since = utcnow() - REPEAT_MEMORY
    previous = db.session.scalar(
        select(func.count(IpBan.id)).where(IpBan.ip_address == ip, IpBan.created_at > since)
    )
    level = (previous or 0) + 1
    if seconds is None:
        seconds = min(
            config["SECURITY_BAN_BASE_SECONDS"] * 2 ** min(level - 1, 30), config["SECURITY_BAN_MAX_SECONDS"]
        )
    now = utcnow()
    ban = IpBan(
        ip_address=ip,
        reason=reason[:300],
        level=level,
        created_at=now,
        expires_at=now + timedelta(seconds=seconds),
        created_by=created_by[:80],
    )
    db.session.add(ban)
    db.session.commit()
    invalidate_cache()
    log_event(
        EventType.SUSPICIOUS_ACTIVITY,
        Severity.HIGH,
        ip=ip,
        description=f"IP banned for {seconds} s (ban #{level}): {reason}",
        metadata={"reason": "ip_ban", "banned_ip": ip, "level": level, "seconds": seconds, "by": created_by},
    )
    return ban


def lift_bans(ip: str | None = None, ban_id: int | None = None, lifted_by: str = "admin") -> int:
    """Lift the active bans of ``ip`` (or the ban ``ban_id``); return how many were lifted."""
    query = select(IpBan).where(IpBan.lifted_at.is_(None), IpBan.expires_at > utcnow())
    if ban_id is not None:
        query = query.where(IpBan.id == ban_id)
    if ip is not None:
        query = query.where(IpBan.ip_address == ip)
    bans = db.session.scalars(query).all()
    for ban in bans:
        ban.lifted_at, ban.lifted_by = utcnow(), lifted_by[:80]
    db.session.commit()
    invalidate_cache()
    for ban in bans:
        log_event(
            EventType.CONFIGURATION_CHANGE,
            Severity.MEDIUM,
            description=f"ban of {ban.ip_address} lifted by {lifted_by}",
            metadata={"reason": "ip_unban", "banned_ip": ban.ip_address, "ban_id": ban.id, "by": lifted_by},
        )
    return len(bans)
