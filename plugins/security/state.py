"""What the plugin keeps per app: one ``SecurityState`` at ``app.extensions["plugin.security"]``.

``hooks.setup`` builds it; the threat part keeps its own share in ``SecurityState.threats``.
Its parts' classes are in ``state_parts.py``, which imports nothing of the plugin.
Caches hold (when loaded, value) pairs and are per worker process, like the state itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import current_app

if TYPE_CHECKING:
    import threading

    from maxminddb import Reader

    from plugins.security.audit_record import RecordedEvent
    from plugins.security.audit_writer import AuditWriter
    from plugins.security.state_parts import (
        BanCache,
        EndpointPolicy,
        RejectionCounts,
        RepeatMemory,
        ReportedMemory,
        TrafficBuffer,
    )

EXTENSION = "plugin.security"

# list name -> (IP version, prefix length) -> network addresses (plugins/security/threats/iplists.py)
IpListIndex = dict[str, dict[tuple[int, int], set[int]]]


@dataclass
class ThreatState:
    """The threat part's share: its traffic counts, per-worker caches and notification threads."""

    traffic: TrafficBuffer
    blocks: tuple[float, dict[str, datetime]] | None = None  # (monotonic time loaded, blocked IPs)
    iplists: tuple[float, IpListIndex] | None = None  # (monotonic time loaded, the lists' index)
    geoip: tuple[str, Reader | None] | None = None  # (SECURITY_GEOIP_DB, its reader or None)
    threads: list[threading.Thread] = field(default_factory=list)  # notifications being sent


@dataclass
class SecurityState:
    """The audit log's key, writer and memories, the limits' rejections and the threat part."""

    audit_key: bytes  # the chain's HMAC key, resolved once at setup
    audit_writer: AuditWriter  # this process's queue and thread that store events and counts
    repeats: RepeatMemory  # open windows of repeated detections
    # The security-event pipeline's next stage: each event the audit log stores goes on to it.
    next_stage: Callable[[RecordedEvent], Any] | None
    rejections: RejectionCounts  # rate-limit rejections not yet written
    reported: ReportedMemory  # what this process reported lately (may_report)
    ban_cache: BanCache  # the active bans, read at most every SECURITY_BAN_CACHE_SECONDS
    threats: ThreatState
    # Filled by inspection.setup: the inspected headers' environ keys, and the bodyless
    # requests found clean (path, query, headers), inspected once.
    inspected_headers: tuple[tuple[str, str], ...] = ()
    inspected_clean: set[tuple] = field(default_factory=set)
    # Each (endpoint, API or not)'s limit policy, worked out on its first request (policies.py).
    endpoint_policies: dict[tuple[str | None, bool], EndpointPolicy] = field(default_factory=dict)


def state() -> SecurityState:
    """The running app's security state (set by ``setup``; the plugin must be enabled)."""
    # _get_current_object(): an attribute read through the proxy costs five times as much, and
    # the request path asks for the state several times
    return current_app._get_current_object().extensions[EXTENSION]


def state_or_none() -> SecurityState | None:
    """The running app's security state, or None when the plugin is not wired into it."""
    return current_app.extensions.get(EXTENSION)
