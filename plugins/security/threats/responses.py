"""What happens when an alert opens or grows: an automatic IP block and notifications."""

from __future__ import annotations

import ipaddress
import logging

from flask import current_app

from plugins.security.audit import RecordedEvent
from plugins.security.threats import blocking, notify
from plugins.security.threats.catalog import Rule, at_least

log = logging.getLogger(__name__)


def respond(outcome, rule: Rule, event: RecordedEvent) -> None:
    """Block the offending IP when the rule and severity call for it; notify on a new alert."""
    config = current_app.config
    ip = event.ip_address
    if (
        rule.block
        and config["SECURITY_AUTO_BLOCK"]
        and at_least(outcome.severity, config["SECURITY_AUTO_BLOCK_MIN_SEVERITY"])
        and _blockable(ip)
    ):
        blocking.block_ip(
            ip,
            config["SECURITY_BLOCK_MINUTES"],
            reason=f"alert #{outcome.alert_id} ({rule.name})",
            by="auto",
            alert_id=outcome.alert_id,
        )
    if outcome.created and at_least(outcome.severity, config["SECURITY_NOTIFY_MIN_SEVERITY"]):
        notify.enqueue(outcome.alert_id)


def _blockable(ip: str) -> bool:
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return False
    if blocking.never_blocked(ip):
        log.info("not blocking %s: listed in SECURITY_NEVER_BLOCK", ip)
        return False
    return True
