"""The threat part's request guard, declared with the plugin's others in ``plugins/security/guard.py``."""

from __future__ import annotations

from app.plugin import RequestGuard
from plugins.security.threats.blocking import refuse_blocked_ip
from plugins.security.threats.traffic import count_request


def count_then_refuse_blocked():
    """Count the request, then refuse it if its IP is blocked (before any other work)."""
    count_request()
    return refuse_blocked_ip()


# Early among the plugin's request guards: a blocked client gets no further.
THREAT_GUARDS = (RequestGuard("security.threats", order=10, func=count_then_refuse_blocked),)
