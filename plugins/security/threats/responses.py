"""The pipeline's last stage: what happens when an alert opens or grows (an automatic IP block,
notifications).

A block is recorded as an audit event with ``append_event`` (in ``blocking.block_ip``): it is
stored and sent to the SIEM, and nothing after this stage reads it.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable

from flask import current_app

from plugins.security.threats import blocking, notify
from plugins.security.threats.catalog import at_least
from plugins.security.threats.detection import AlertOutcome

log = logging.getLogger(__name__)


def respond(outcomes: Iterable[AlertOutcome]) -> None:
    """Respond to each alert the stage before opened or grew."""
    for outcome in outcomes:
        respond_to(outcome)


def respond_to(outcome: AlertOutcome) -> None:
    """Block the offending IP when the rule and severity call for it; notify on a new alert."""
    config = current_app.config
    rule, ip = outcome.rule, outcome.event.ip_address
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
