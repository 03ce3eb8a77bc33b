"""Sign-in context rules (detectors of the pipeline's detect stage): a new IP for the account (a
notice to the user) and impossible travel; and the fingerprint of the signed-in browser that
``signin.check_session_change`` compares on later requests."""

from __future__ import annotations

import hashlib
from functools import lru_cache

from flask import current_app, flash, has_request_context, request, session
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import as_utc
from plugins.security.audit_record import RecordedEvent
from plugins.security.threats import geo
from plugins.security.threats.detection import Detection
from plugins.security.threats.models import KnownAddress

FINGERPRINT_KEY = "_security_fp"
NEW_IP_NOTICE = (
    "This account was just signed in from an address it has not used before ({ip}). "
    "If that was not you, change your password now."
)


def sign_in_rules(event: RecordedEvent) -> list[Detection]:
    """Remember where the user signed in from; flag a new IP and impossible travel."""
    if event.user_id is None or not event.ip_address:
        return []
    config = current_app.config
    found: list[Detection] = []
    place = geo.locate(event.ip_address)
    now = as_utc(event.timestamp)
    with Session(db.engine) as dbs, dbs.begin():
        known = dbs.scalar(
            select(KnownAddress).where(
                KnownAddress.user_id == event.user_id, KnownAddress.ip_address == event.ip_address
            )
        )
        has_history = known is not None or dbs.scalar(
            select(KnownAddress.id).where(KnownAddress.user_id == event.user_id).limit(1)
        )
        if place is not None:
            previous = dbs.scalar(
                select(KnownAddress)
                .where(KnownAddress.user_id == event.user_id, KnownAddress.latitude.is_not(None))
                .order_by(KnownAddress.last_seen.desc())
                .limit(1)
            )
            if previous is not None and previous.ip_address != event.ip_address:
                travel = _impossible_travel(previous, place, now, config)
                if travel is not None:
                    found.append(
                        Detection(
                            "impossible_travel",
                            f"user:{event.user_id}",
                            travel["text"],
                            user_id=event.user_id,
                            ip=event.ip_address,
                            metadata={k: v for k, v in travel.items() if k != "text"},
                        )
                    )
        if known is None:
            dbs.add(
                KnownAddress(
                    user_id=event.user_id,
                    ip_address=event.ip_address,
                    first_seen=now,
                    last_seen=now,
                    latitude=place.latitude if place else None,
                    longitude=place.longitude if place else None,
                    place=place.name if place else None,
                )
            )
        else:
            known.last_seen, known.sign_ins = now, (known.sign_ins or 0) + 1
    if known is None and has_history and config["SECURITY_NEW_IP_NOTICE"]:
        found.append(
            Detection(
                "new_ip",
                f"user:{event.user_id}",
                f"first sign-in from {event.ip_address}",
                user_id=event.user_id,
                ip=event.ip_address,
                metadata={"place": place.name if place else None},
            )
        )
        if has_request_context():
            flash(NEW_IP_NOTICE.format(ip=event.ip_address), "warning")
    if has_request_context():
        session[FINGERPRINT_KEY] = fingerprint()
    return found


def _impossible_travel(previous: KnownAddress, place: geo.Place, now, config) -> dict | None:
    km = geo.distance_km(previous.latitude, previous.longitude, place.latitude, place.longitude)
    hours = max((now - as_utc(previous.last_seen)).total_seconds(), 1.0) / 3600
    speed = km / hours
    if km < config["SECURITY_TRAVEL_MIN_KM"] or speed <= config["SECURITY_TRAVEL_MAX_KMH"]:
        return None
    return {
        "text": f"{previous.place} to {place.name}: {km:.0f} km in {hours * 60:.0f} min ({speed:.0f} km/h)",
        "km": round(km, 1),
        "kmh": round(speed, 1),
        "from_ip": previous.ip_address,
        "from_place": previous.place,
        "to_place": place.name,
    }


def fingerprint() -> list[str]:
    """The request's IP and a short hash of its user agent."""
    asked = request._get_current_object()
    agent = asked.environ.get("HTTP_USER_AGENT", "")
    digest = _remembered_digest(agent) if len(agent) <= 512 else _agent_digest(agent)
    return [asked.remote_addr or "", digest]


def _agent_digest(agent: str) -> str:
    return hashlib.sha256(agent.encode()).hexdigest()[:16]


# Checked on every signed-in request, and a portal's clients send few distinct agents; a bound
# on both the entries and their size keeps a stranger's made-up agents from costing memory.
_remembered_digest = lru_cache(maxsize=1024)(_agent_digest)
