"""Temporary IP blocks: set by an alert's response or an admin, checked first in every request.

Each worker keeps the active blocks in memory and reloads them every
SECURITY_BLOCK_CACHE_SECONDS (at once after a change made in this worker), so the check costs a
dictionary look-up on almost every request.
"""

from __future__ import annotations

import ipaddress
import time
from datetime import datetime, timedelta

from flask import current_app, jsonify, render_template
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.access import wants_json
from app.connection_hold import release_request_connection
from app.events import EventType, Severity
from app.extensions import db
from app.models import as_utc, utcnow
from plugins.security.audit import append_event
from plugins.security.state import EXTENSION, state
from plugins.security.threats.detection import SOURCE
from plugins.security.threats.models import IpBlock

# Health checks keep answering so that a blocked load balancer address cannot take the site down.
EXEMPT_ENDPOINTS = frozenset({"core.healthz", "core.readyz"})


def normalize_ip(text: str) -> str:
    """The canonical text of an IP address; ValueError when it is not one.

    A scoped IPv6 address (``fe80::1%eth0``) is refused: its zone is free text (any length, NUL
    included) that names an interface of the client's machine, never part of a peer's address."""
    address = ipaddress.ip_address(str(text).strip())
    if getattr(address, "scope_id", None) is not None:
        raise ValueError("an IPv6 zone (the part after %) is not part of a client's address")
    return str(address)


def never_blocked(ip: str) -> bool:
    networks = current_app.config["SECURITY_NEVER_BLOCK"]
    if not networks:
        return False
    address = ipaddress.ip_address(ip)
    return any(address in ipaddress.ip_network(net) for net in networks)


def block_ip(ip: str, minutes: int, reason: str, by: str, alert_id: int | None = None) -> IpBlock | None:
    """Block ``ip`` for ``minutes`` (extending a shorter active block); None if already covered."""
    ip = normalize_ip(ip)
    now = utcnow()
    until = now + timedelta(minutes=minutes)
    release_request_connection()  # its own session next: never two connections at once
    with Session(db.engine, expire_on_commit=False) as session, session.begin():
        current = session.scalar(
            select(IpBlock)
            .where(IpBlock.ip_address == ip, IpBlock.lifted_at.is_(None), IpBlock.expires_at > now)
            .order_by(IpBlock.expires_at.desc())
            .limit(1)
        )
        if current is not None and as_utc(current.expires_at) >= until:
            return None
        block = IpBlock(
            ip_address=ip,
            reason=reason[:300],
            alert_id=alert_id,
            created_at=now,
            expires_at=until,
            created_by=by[:80],
        )
        session.add(block)
    invalidate()
    append_event(
        EventType.CONFIGURATION_CHANGE,
        Severity.MEDIUM,
        ip=ip,
        description=f"IP {ip} blocked for {minutes} min by {by}: {reason}",
        metadata={
            "source": SOURCE,
            "action": "ip_block",
            "blocked_ip": ip,
            "minutes": minutes,
            "alert_id": alert_id,
        },
    )
    return block


def unblock_ip(ip: str, by: str) -> int:
    """Lift every active block of ``ip``; return how many were lifted."""
    ip = normalize_ip(ip)
    now = utcnow()
    result = db.session.execute(
        update(IpBlock)
        .where(IpBlock.ip_address == ip, IpBlock.lifted_at.is_(None), IpBlock.expires_at > now)
        .values(lifted_at=now, lifted_by=by[:80])
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    invalidate()
    if result.rowcount:
        append_event(
            EventType.CONFIGURATION_CHANGE,
            Severity.LOW,
            description=f"IP {ip} unblocked by {by}",
            metadata={"source": SOURCE, "action": "ip_unblock", "blocked_ip": ip},
        )
    return result.rowcount


def active_blocks() -> dict[str, datetime]:
    """Blocked IPs and when their block ends (cached per worker)."""
    app = current_app._get_current_object()  # asked on every request: one proxy lookup
    threats = app.extensions[EXTENSION].threats
    ttl = app.config["SECURITY_BLOCK_CACHE_SECONDS"]
    cached = threats.blocks
    if cached is not None and time.monotonic() - cached[0] < ttl:
        return cached[1]
    now = utcnow()
    release_request_connection()
    with Session(db.engine) as session:
        rows = session.execute(
            select(IpBlock.ip_address, IpBlock.expires_at).where(
                IpBlock.lifted_at.is_(None), IpBlock.expires_at > now
            )
        ).all()
    blocks: dict[str, datetime] = {}
    for ip, expires in rows:
        expires = as_utc(expires)
        blocks[ip] = max(expires, blocks.get(ip, expires))
    threats.blocks = (time.monotonic(), blocks)
    return blocks


def invalidate() -> None:
    state().threats.blocks = None


def blocked_until(ip: str) -> datetime | None:
    until = active_blocks().get(ip)
    if until is None:
        return None
    return until if until > utcnow() else None


def refuse_blocked_ip(ip: str, endpoint: str | None):
    """The threat guard's second step: answer 403 to a blocked client IP."""
    if endpoint in EXEMPT_ENDPOINTS:
        return None
    until = blocked_until(ip)
    if until is None:
        return None
    retry_after = str(max(1, int((until - utcnow()).total_seconds())))
    if wants_json():
        response = jsonify(
            error="your address is temporarily blocked", status=403, retry_after=int(retry_after)
        )
    else:
        response = current_app.make_response(render_template("security_console/blocked.html", until=until))
    response.status_code = 403
    response.headers["Retry-After"] = retry_after
    return response
