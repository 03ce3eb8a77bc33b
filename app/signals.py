"""Signals the core emits; plugins subscribe to them instead of importing each other.

``security_event`` is sent for everything the audit log cares about. Receivers get keyword
arguments ``kind`` (EventType), ``severity`` (Severity), ``user`` (a User or None), ``ip``,
``user_agent``, ``description`` and ``metadata`` (a dict). Never put a password, code, secret or
token in any of them.
"""

from __future__ import annotations

from typing import Any

from blinker import Namespace
from flask import current_app, has_request_context, request

from app.events import EventType, Severity

_signals = Namespace()

security_event = _signals.signal("security-event")
# Sent by whoever rejects a request for a rate limit: identifier=, endpoint=, limit= (text).
request_rate_limited = _signals.signal("request-rate-limited")
# Sent after a user's password or second factor changed and their other sessions were ended.
credentials_changed = _signals.signal("credentials-changed")
# Sent when an administrator lifts a user's lockouts (user=): limits forget the user's failures.
lockout_lifted = _signals.signal("lockout-lifted")


def emit_security_event(
    kind: EventType,
    severity: Severity = Severity.LOW,
    *,
    user: Any = None,
    description: str = "",
    metadata: dict[str, Any] | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> None:
    """Send ``security_event`` with the request's IP and user agent filled in when there is one."""
    if has_request_context():
        ip = ip or request.remote_addr
        user_agent = user_agent if user_agent is not None else request.user_agent.string
    security_event.send(
        current_app._get_current_object(),
        kind=EventType(kind),
        severity=Severity(severity),
        user=user,
        ip=ip or "",
        user_agent=user_agent or "",
        description=description,
        metadata=dict(metadata or {}),
    )
