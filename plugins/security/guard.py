"""The security plugin's request guards, declared to the core (``Plugin.guards``), which runs
them before CSRF, the idle timeout and access control, lowest order first. Each returns a
response to stop the request, or None to let it through. The orders leave room between them
for other plugins' guards."""

from __future__ import annotations

from app.plugin import RequestGuard
from plugins.security import inspection, limiting, repeats
from plugins.security.threats.guard import THREAT_GUARDS


def sweep_repeats() -> None:
    """Write the counts of repeated detections whose window has closed (never stops a request)."""
    repeats.sweep()


GUARDS: tuple[RequestGuard, ...] = (
    RequestGuard("security.repeats", order=0, func=sweep_repeats),
    *THREAT_GUARDS,  # order 10: count the request, refuse a blocked IP
    RequestGuard("security.bans", order=20, func=limiting.check_ban),
    RequestGuard("security.rate_limits", order=30, func=limiting.check_limits, when=limiting.enabled),
    RequestGuard("security.inspection", order=40, func=inspection.inspect_request),
)
