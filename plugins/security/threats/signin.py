"""Sign-in context rules: a new IP for the account (a notice to the user), impossible travel,
and a session whose IP or user agent changes after sign-in."""

from __future__ import annotations

import hashlib

from flask import current_app, flash, has_request_context, redirect, request, session, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.service import sign_out
from app.auth.sessions import SESSION_KEY
from app.extensions import db
from app.models import as_utc
from plugins.security.audit import RecordedEvent
from plugins.security.reported import may_report
from plugins.security.threats import geo
from plugins.security.threats.detect import Detection, report
from plugins.security.threats.models import KnownAddress

FINGERPRINT_KEY = "_security_fp"
MOVES_REPORTED_PER_SESSION = 5
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
    agent = request.user_agent.string or ""
    return [request.remote_addr or "", hashlib.sha256(agent.encode()).hexdigest()[:16]]


def check_session_change():
    """before_request: flag (or end) a session whose IP or user agent changed since sign-in.

    Each move is reported once per session and new fingerprint, remembered on the server: a
    script replaying a copied cookie drops the updated one the portal sends back, and would
    otherwise be reported (an audit row and an alert update) on every request."""
    action = current_app.config["SECURITY_SESSION_CHANGE_ACTION"]
    if action == "off" or FINGERPRINT_KEY not in session or request.endpoint in (None, "static"):
        return None
    if not current_user.is_authenticated:
        return None
    before, now = session[FINGERPRINT_KEY], fingerprint()
    if before == now:
        return None
    which = _session_digest()
    seconds = current_app.config["SESSION_MAX_AGE_HOURS"] * 3600  # no session lives longer
    # Once per new fingerprint, and a few fingerprints per session: a script that sends a new
    # user agent with every request is reported, but does not write a row per request.
    if may_report(f"session_change:{which}:{now[0]}:{now[1]}", seconds) and may_report(
        f"session_change:{which}", seconds, amount=MOVES_REPORTED_PER_SESSION
    ):
        session[FINGERPRINT_KEY] = now
        changed = [
            name for name, old, new in zip(("ip", "user_agent"), before, now, strict=False) if old != new
        ]
        report(
            Detection(
                "session_change",
                f"user:{current_user.id}",
                f"{' and '.join(changed)} changed during the session",
                user_id=current_user.id,
                metadata={
                    "changed": ",".join(changed),
                    "old_ip": before[0],
                    "new_ip": now[0],
                    "new_agent": now[1],
                    "session": which,
                    "action": action,
                },
            )
        )
    if action == "logout":
        sign_out("session moved to another address or browser")
        flash("Your session was ended because it moved to another address or browser.", "warning")
        return redirect(url_for("auth.login"))
    return None


def _session_digest() -> str:
    """A short name for the current session: a digest of its key, which itself is a secret."""
    key = session.get(SESSION_KEY)
    return hashlib.sha256(str(key).encode()).hexdigest()[:16] if key else f"user-{current_user.id}"
