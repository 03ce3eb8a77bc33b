"""GET /metrics (``metrics_bp``, at the root where scrapers look, readable by configured addresses
or a token): the exposition of ``collectors``."""

from __future__ import annotations

import hmac
import ipaddress

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST

from app.access import public
from plugins.performance.collectors import exposition
from plugins.performance.settings import PerfConfig
from plugins.performance.state import state

# Outside /performance: Plugin.root_paths declares /metrics, where Prometheus scrapes by default.
metrics_bp = Blueprint("performance_metrics", __name__, url_prefix="/metrics")


def scrape_allowed(config: PerfConfig, remote_addr: str | None, authorization: str | None) -> bool:
    """Whether a scrape may read /metrics: a configured address, or the bearer token."""
    if config.metrics_token and authorization and authorization.startswith("Bearer "):
        offered = authorization[len("Bearer ") :].strip().encode("utf-8")
        if hmac.compare_digest(offered, config.metrics_token.encode("utf-8")):
            return True
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in config.metrics_networks)


@metrics_bp.get("")
@public  # the access check is the scrape rule below, not a session
def scrape():
    """Prometheus text format, for configured addresses or the bearer token only."""
    perf = state()
    if not scrape_allowed(perf.config, request.remote_addr, request.headers.get("Authorization")):
        abort(403, description="Metrics are readable from configured addresses or with the token only.")
    return Response(exposition(current_app._get_current_object(), perf.metrics), mimetype=CONTENT_TYPE_LATEST)
