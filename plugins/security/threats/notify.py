"""Notifications of new alerts: a signed JSON webhook and e-mail, through a delivery log.

Each notice is a row of ``security_notifications`` (the outbox and its delivery log). A worker
claims a row before sending it, so two processes never send the same notice; a failed attempt
is retried with exponential backoff up to SECURITY_WEBHOOK_MAX_ATTEMPTS, by the thread that
made the first attempt or later by the ``security.deliver_notifications`` job.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta
from email.message import EmailMessage

from flask import Flask, current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import mail
from app.extensions import db
from app.models import utcnow
from plugins.security.state import EXTENSION
from plugins.security.threats.models import Notification, SecurityAlert

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Portal-Signature"
TIMESTAMP_HEADER = "X-Portal-Timestamp"
LOG_LIMIT = 20


def enqueue(alert_id: int) -> list[int]:
    """Queue the notices of a new alert for every configured channel; start sending them."""
    config = current_app.config
    targets = [("email", address) for address in config["SECURITY_ALERT_EMAIL_TO"]]
    if config["SECURITY_ALERT_WEBHOOK_URL"]:
        targets.insert(0, ("webhook", config["SECURITY_ALERT_WEBHOOK_URL"]))
    if not targets:
        return []
    # Its own session: this runs inside whatever request logged the event, and must not commit
    # that request's unfinished work.
    with Session(db.engine, expire_on_commit=False) as session, session.begin():
        alert = session.get(SecurityAlert, alert_id)
        if alert is None:
            return []
        payload = {"type": "security.alert.opened", "alert": alert.to_dict()}
        rows = [
            Notification(
                channel=channel,
                target=target[:300],
                alert_id=alert_id,
                payload=payload,
                idempotency_key=uuid.uuid4().hex,
                status="pending",
                next_attempt_at=utcnow(),
                log=[],
            )
            for channel, target in targets
        ]
        session.add_all(rows)
        session.flush()
        ids = [row.id for row in rows]
    if ids and config["SECURITY_NOTIFY_MODE"] == "thread":
        app = current_app._get_current_object()
        thread = threading.Thread(
            target=_send_with_retries, args=(app, ids), daemon=True, name="security-notify"
        )
        threats = app.extensions[EXTENSION].threats
        threats.threads = [t for t in threats.threads if t.is_alive()] + [thread]
        thread.start()
    return ids


def wait_for_threads(app: Flask, timeout: float = 10.0) -> None:
    """Wait for this app's notification threads (tests, and a clean shutdown)."""
    deadline = time.monotonic() + timeout
    for thread in list(app.extensions[EXTENSION].threats.threads):
        thread.join(max(0.0, deadline - time.monotonic()))


def _send_with_retries(app: Flask, ids: list[int]) -> None:
    with app.app_context():
        try:
            pending = list(ids)
            while pending:
                waits = [attempt(notification_id) for notification_id in pending]
                pending = [nid for nid, wait in zip(pending, waits, strict=True) if wait is not None]
                if pending:
                    time.sleep(min(wait for wait in waits if wait is not None))
        finally:
            db.session.remove()


def deliver_due() -> int:
    """Send every notice whose next attempt is due (the job); return how many were attempted."""
    due = list(
        db.session.scalars(
            select(Notification.id)
            .where(Notification.status == "pending", Notification.next_attempt_at <= utcnow())
            .order_by(Notification.id)
            .limit(100)
        )
    )
    for notification_id in due:
        attempt(notification_id)
    return len(due)


def attempt(notification_id: int) -> float | None:
    """Claim and send one notice; return the seconds until its retry, or None when done."""
    claimed = db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status == "pending")
        .values(status="sending")
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if claimed.rowcount != 1:
        return None
    row = db.session.get(Notification, notification_id)
    db.session.refresh(row)
    config = current_app.config
    started = utcnow()
    try:
        code = _send_webhook(row) if row.channel == "webhook" else _send_email(row)
        error = None if code is None or 200 <= code < 300 else f"HTTP {code}"
    except (OSError, smtplib.SMTPException, urllib.error.URLError) as exc:
        code, error = None, f"{type(exc).__name__}: {exc}"[:300]
    row.attempts += 1
    row.last_status_code, row.last_error = code, error
    row.log = [
        *(row.log or [])[-(LOG_LIMIT - 1) :],
        {"at": started.isoformat(), "status": code, "error": error},
    ]
    wait = None
    if error is None:
        row.status, row.sent_at = "sent", utcnow()
    elif row.attempts >= config["SECURITY_WEBHOOK_MAX_ATTEMPTS"]:
        row.status = "failed"
        # The channel, not the target: a webhook URL usually carries its token.
        log.error("security notice %s (%s) failed %d times: %s", row.id, row.channel, row.attempts, error)
    else:
        wait = config["SECURITY_WEBHOOK_BACKOFF_SECONDS"] * 2 ** (row.attempts - 1)
        row.status, row.next_attempt_at = "pending", utcnow() + timedelta(seconds=wait)
    db.session.commit()
    return wait


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value: HMAC-SHA256 over ``<timestamp>.<body>``."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _send_webhook(row: Notification) -> int:
    config = current_app.config
    body = json.dumps(row.payload, sort_keys=True, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "ElMag-Portal-Security/1",
        "Idempotency-Key": row.idempotency_key,
        TIMESTAMP_HEADER: timestamp,
        "X-Portal-Event": row.payload.get("type", ""),
    }
    if config["SECURITY_ALERT_WEBHOOK_SECRET"]:
        headers[SIGNATURE_HEADER] = sign(config["SECURITY_ALERT_WEBHOOK_SECRET"], timestamp, body)
    request = urllib.request.Request(row.target, data=body, headers=headers, method="POST")  # noqa: S310 (http(s) only, checked by the setting)
    try:
        with urllib.request.urlopen(request, timeout=config["SECURITY_WEBHOOK_TIMEOUT_SECONDS"]) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def email_message(row: Notification) -> EmailMessage:
    alert = row.payload.get("alert", {})
    message = EmailMessage()
    message["Subject"] = f"[portal security] {alert.get('severity')}: {alert.get('title')}"
    message["From"] = current_app.config["SECURITY_ALERT_EMAIL_FROM"]
    message["To"] = row.target
    message["Message-ID"] = f"<{row.idempotency_key}@portal-security>"
    lines = [
        f"A new security alert was opened: #{alert.get('id')} {alert.get('title')}",
        "",
        f"Severity: {alert.get('severity')}",
        f"Rule: {alert.get('rule')}",
        f"Subject: {alert.get('subject')}",
        f"First seen: {alert.get('first_occurrence')}",
        f"Details: {alert.get('description')}",
        "",
        "Open the security console at /security/alerts to investigate.",
    ]
    message.set_content("\n".join(lines))
    return message


def _send_email(row: Notification) -> None:
    config = current_app.config
    message = email_message(row)
    if not config["SECURITY_SMTP_HOST"]:
        if config.get("MAIL_SMTP_HOST"):  # the portal's own mail server (app.mail)
            mail.send_now(message, mail.smtp_settings(config))
            return None
        # Development: no mail server, so the message goes to the log instead.
        log.warning(
            "security alert e-mail (no SECURITY_SMTP_HOST or MAIL_SMTP_HOST set):\n%s", message.as_string()
        )
        return None
    with smtplib.SMTP(config["SECURITY_SMTP_HOST"], config["SECURITY_SMTP_PORT"], timeout=10) as smtp:
        if config["SECURITY_SMTP_STARTTLS"]:
            smtp.starttls()
        if config["SECURITY_SMTP_USERNAME"]:
            smtp.login(config["SECURITY_SMTP_USERNAME"], config["SECURITY_SMTP_PASSWORD"] or "")
        smtp.send_message(message)
    return None
