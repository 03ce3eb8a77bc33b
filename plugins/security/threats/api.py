"""/api/v1/security/alerts and /api/v1/security/ips: the console's data as JSON (admins only).

Their URLs are on the blueprint ``security_threats_api`` (``plugins/security/threats_api.py``)."""

from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user
from sqlalchemy import func, select

from app.api import fail, json_body, query_choice, query_int
from app.extensions import db
from app.models import Role, User
from plugins.security.threats import blocking, queries
from plugins.security.threats.alerts import NOTES_LIMIT, change_alert, reopen_conflict
from plugins.security.threats.models import OPEN_STATUSES, AlertEvent, AlertStatus, SecurityAlert

STATUS_FILTERS = ("open", "all", *[s.value for s in AlertStatus])
SEVERITIES = ("LOW", "MEDIUM", "HIGH", "CRITICAL")


def list_alerts():
    status = query_choice("status", "open", STATUS_FILTERS)
    severity = query_choice("severity", "", ("", *SEVERITIES))
    after_id = query_int("after_id", 0, 0, 2**31 - 1)
    page = query_int("page", 1, 1, 100_000)
    per_page = query_int("per_page", 25, 1, 200)
    query = select(SecurityAlert).where(SecurityAlert.id > after_id)
    if status == "open":
        query = query.where(SecurityAlert.status.in_(OPEN_STATUSES))
    elif status != "all":
        query = query.where(SecurityAlert.status == status)
    if severity:
        query = query.where(SecurityAlert.severity == severity)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(
        query.order_by(SecurityAlert.id.desc()).offset((page - 1) * per_page).limit(per_page)
    )
    latest = db.session.scalar(select(func.max(SecurityAlert.id))) or 0
    return jsonify(
        alerts=[alert.to_dict() for alert in rows],
        total=total,
        page=page,
        per_page=per_page,
        latest_id=latest,
    )


def _alert_or_404(alert_id: int) -> SecurityAlert:
    alert = db.session.get(SecurityAlert, alert_id)
    if alert is None:
        fail("no alert with this id", "alert_id", 404)
    return alert


def get_alert(alert_id: int):
    alert = _alert_or_404(alert_id)
    event_ids = db.session.scalars(
        select(AlertEvent.event_id)
        .where(AlertEvent.alert_id == alert.id)
        .order_by(AlertEvent.event_id.desc())
        .limit(500)
    )
    return jsonify(alert={**alert.to_dict(), "event_ids": list(event_ids)})


def update_alert(alert_id: int):
    alert = _alert_or_404(alert_id)
    body = json_body(max_keys=10)
    unknown = sorted(set(body) - {"status", "assigned_to", "notes"})
    if unknown:
        fail(f"unknown field {unknown[0]}", unknown[0])
    status = body.get("status", alert.status)
    if not isinstance(status, str) or status not in {s.value for s in AlertStatus}:
        fail(f"status must be one of {', '.join(s.value for s in AlertStatus)}", "status")
    values = {}
    for name, limit in (("assigned_to", 80), ("notes", NOTES_LIMIT)):
        value = body.get(name, getattr(alert, name))
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            fail(f"{name} must be text of at most {limit} characters", name)
        values[name] = value
    if values["assigned_to"] and not _is_admin(values["assigned_to"]):
        fail("assigned_to must be the username of an admin", "assigned_to")
    if status in OPEN_STATUSES and not alert.is_open and reopen_conflict(alert):
        fail("another alert for this rule and subject is open", "status", 409)
    changed = change_alert(alert, status=status, by=current_user.username, **values)
    return jsonify(alert=alert.to_dict(), changed=changed)


def _is_admin(username: str) -> bool:
    return (
        db.session.scalar(select(User.id).where(User.username == username, User.role == Role.ADMIN.value))
        is not None
    )


def _ip_or_400(ip: str) -> str:
    try:
        return blocking.normalize_ip(ip)
    except ValueError:
        fail("not an IPv4 or IPv6 address", "ip")


def get_ip(ip: str):
    summary = queries.ip_summary(_ip_or_400(ip))
    # Datetimes as they are: the JSON provider writes each as RFC 3339 in UTC.
    blocks = [
        {
            "id": b.id,
            "reason": b.reason,
            "created_at": b.created_at,
            "expires_at": b.expires_at,
            "created_by": b.created_by,
            "lifted_at": b.lifted_at,
        }
        for b in summary.pop("blocks")
    ]
    return jsonify(ip={**summary, "blocks": blocks})


def block_ip(ip: str):
    ip = _ip_or_400(ip)
    body = json_body(max_keys=5)
    minutes = body.get("minutes", 60)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 525_600:
        fail("minutes must be a whole number from 1 to 525600", "minutes")
    reason = body.get("reason", "blocked through the API")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 300:
        fail("reason must be text of 1 to 300 characters", "reason")
    if ip == request.remote_addr:
        fail("that is your own address; blocking it would lock you out", "ip", 409)
    block = blocking.block_ip(ip, minutes, reason.strip(), by=current_user.username)
    until = blocking.blocked_until(ip)
    return jsonify(ip=ip, blocked_until=until, created=block is not None), 201


def unblock_ip(ip: str):
    ip = _ip_or_400(ip)
    return jsonify(ip=ip, lifted=blocking.unblock_ip(ip, by=current_user.username))
