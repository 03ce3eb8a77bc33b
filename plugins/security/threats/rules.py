"""The inline rules, the pipeline's detect stage: they run on the input event (a sign-in, a
wrong second-factor code) of the request that trips them and return what they detected.

A new inline rule is a function ``(RecordedEvent) -> list[Detection]`` called from
``inline_detections``; its rule (event type, severity, title, response) goes in ``catalog.RULES``.

Windowed counts come from indexed tables (``security_auth_failures`` by username or IP, the
audit log by user id), so each check reads only the rows inside its window.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.events import EventType
from app.extensions import db
from plugins.security.audit_record import RecordedEvent
from plugins.security.models import SecurityEvent
from plugins.security.threats import iplists, signin_rules
from plugins.security.threats.catalog import crossed
from plugins.security.threats.detection import Detection
from plugins.security.threats.models import AuthFailure


def inline_detections(event: RecordedEvent) -> list[Detection]:
    """Every detection ``event`` trips right now."""
    found: list[Detection] = []
    if event.event_type == EventType.LOGIN_FAILURE.value:
        found += password_failure_rules(event)
    elif event.event_type == EventType.MFA_FAILURE.value:
        found += mfa_rules(event)
    elif event.event_type == EventType.LOGIN_SUCCESS.value:
        found += signin_rules.sign_in_rules(event)
    if event.event_type in (EventType.LOGIN_FAILURE.value, EventType.LOGIN_SUCCESS.value):
        found += iplists.list_rules(event)
    return found


def password_failure_rules(event: RecordedEvent) -> list[Detection]:
    """Brute force per account and per IP, and credential stuffing (one IP, many usernames)."""
    config = current_app.config
    username = str((event.metadata or {}).get("username") or "")[:80].strip().lower()
    ip = event.ip_address
    found: list[Detection] = []
    with Session(db.engine) as session, session.begin():
        stuffing_since = event.timestamp - timedelta(seconds=config["SECURITY_STUFFING_WINDOW_SECONDS"])
        seen_before = bool(username and ip) and session.scalar(
            select(AuthFailure.id)
            .where(AuthFailure.ip_address == ip, AuthFailure.username == username)
            .where(AuthFailure.occurred_at >= stuffing_since)
            .limit(1)
        )
        session.add(
            AuthFailure(occurred_at=event.timestamp, ip_address=ip, username=username, event_id=event.id)
        )
        session.flush()
        since = event.timestamp - timedelta(seconds=config["SECURITY_BRUTE_FORCE_WINDOW_SECONDS"])
        window = config["SECURITY_BRUTE_FORCE_WINDOW_SECONDS"]
        if username:
            count = _count(session, AuthFailure.username == username, since)
            threshold = config["SECURITY_BRUTE_FORCE_ACCOUNT_THRESHOLD"]
            if crossed(count, threshold):
                found.append(
                    Detection(
                        "brute_force_account",
                        f"user:{username}",
                        f"{count} failed sign-ins in {window} s",
                        user_id=event.user_id,
                        ip=ip,
                        metadata={"count": count, "window_seconds": window, "username": username},
                    )
                )
        if ip:
            count = _count(session, AuthFailure.ip_address == ip, since)
            threshold = config["SECURITY_BRUTE_FORCE_IP_THRESHOLD"]
            if crossed(count, threshold):
                found.append(
                    Detection(
                        "brute_force_ip",
                        f"ip:{ip}",
                        f"{count} failed sign-ins in {window} s",
                        ip=ip,
                        metadata={"count": count, "window_seconds": window},
                    )
                )
        if ip and username and not seen_before:
            names = session.scalar(
                select(func.count(func.distinct(AuthFailure.username)))
                .where(AuthFailure.ip_address == ip, AuthFailure.occurred_at >= stuffing_since)
                .where(AuthFailure.username != "")
            )
            if names >= config["SECURITY_STUFFING_USERNAMES"]:
                stuffing_window = config["SECURITY_STUFFING_WINDOW_SECONDS"]
                found.append(
                    Detection(
                        "credential_stuffing",
                        f"ip:{ip}",
                        f"failed sign-ins for {names} different usernames in {stuffing_window} s",
                        ip=ip,
                        metadata={"usernames": names, "window_seconds": stuffing_window},
                    )
                )
    return found


def _count(session: Session, condition, since) -> int:
    return session.scalar(
        select(func.count(AuthFailure.id)).where(condition, AuthFailure.occurred_at >= since)
    )


def mfa_rules(event: RecordedEvent) -> list[Detection]:
    """MFA brute force: repeated wrong second-factor codes for one user."""
    if event.user_id is None:
        return []
    config = current_app.config
    window = config["SECURITY_MFA_BRUTE_FORCE_WINDOW_SECONDS"]
    since = event.timestamp - timedelta(seconds=window)
    with Session(db.engine) as session:
        count = session.scalar(
            select(func.count(SecurityEvent.id)).where(
                SecurityEvent.user_id == event.user_id,
                SecurityEvent.event_type == EventType.MFA_FAILURE.value,
                SecurityEvent.timestamp >= since,
            )
        )
    if not crossed(count, config["SECURITY_MFA_BRUTE_FORCE_THRESHOLD"]):
        return []
    return [
        Detection(
            "mfa_brute_force",
            f"user:{event.user_id}",
            f"{count} wrong second-factor codes in {window} s",
            user_id=event.user_id,
            ip=event.ip_address,
            metadata={"count": count, "window_seconds": window},
        )
    ]
