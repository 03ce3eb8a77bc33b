"""The threat part's request guard, declared with the plugin's others in ``plugins/security/guard.py``."""

from __future__ import annotations

from flask import current_app, request

from app.plugin import RequestGuard
from plugins.security.threats.blocking import refuse_blocked_ip
from plugins.security.threats.traffic import count_request


def count_then_refuse_blocked():
    """Count the request, then refuse it if its IP is blocked (before any other work).

    Runs on every request: the app, the address and the endpoint are looked up once and handed
    on (an address that is not blocked costs one dictionary lookup)."""
    app, asked = current_app._get_current_object(), request._get_current_object()
    ip, endpoint = asked.remote_addr or "", asked.endpoint
    count_request(app, ip, endpoint)
    return refuse_blocked_ip(ip, endpoint)


# Early among the plugin's request guards: a blocked client gets no further.
THREAT_GUARDS = (RequestGuard("security.threats", order=10, func=count_then_refuse_blocked),)
