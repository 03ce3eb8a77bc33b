"""Wiring into one app: the plugin's state, its parts' signal receivers and request hooks, and
the security-event pipeline (the audit log hands each event it stores to the threat part)."""

from __future__ import annotations

from flask import Flask

from plugins.security import audit, inspection, limiting, rejection, seal
from plugins.security.state import EXTENSION, SecurityState, ThreatState
from plugins.security.state_parts import BanCache, RejectionCounts, ReportedMemory, TrafficBuffer
from plugins.security.threats import pipeline, traffic
from plugins.security.threats.settings import check_smtp_settings


def setup(app: Flask) -> None:
    """Build this app's security state, then wire each part into ``app`` (no DB, no threads)."""
    app.extensions[EXTENSION] = SecurityState(
        # The chain is always keyed: configured, or the instance folder's key (production needs one).
        audit_key=seal.resolve_audit_key(app),
        audit_writer=audit.new_writer(app),
        repeats=audit.new_repeat_memory(),
        # The pipeline: the audit log's events go on to detection, alerts and responses.
        next_stage=pipeline.process,
        rejections=RejectionCounts(),
        reported=ReportedMemory(),
        ban_cache=BanCache(),
        threats=ThreatState(traffic=TrafficBuffer()),
    )
    audit.setup(app)
    rejection.setup(app)
    limiting.setup(app)
    inspection.setup(app)
    check_smtp_settings(app.config)
    traffic.setup_traffic(app)
