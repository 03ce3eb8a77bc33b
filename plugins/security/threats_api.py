"""The blueprint ``security_threats_api``: the threat part's JSON API under /api/v1/security
(alerts and IPs, admins only). The views live in ``threats/api.py``; this module gives them
their URLs (endpoint names are the views' names: ``security_threats_api.list_alerts``)."""

from __future__ import annotations

from flask import Blueprint

from app.access import ADMIN, protect_blueprint
from app.api import API_PREFIX
from plugins.security.threats import api

threats_api_bp = Blueprint("security_threats_api", __name__, url_prefix=f"{API_PREFIX}/security")
protect_blueprint(threats_api_bp, ADMIN)

threats_api_bp.add_url_rule("/alerts", view_func=api.list_alerts)
threats_api_bp.add_url_rule("/alerts/<int:alert_id>", view_func=api.get_alert)
threats_api_bp.add_url_rule("/alerts/<int:alert_id>", view_func=api.update_alert, methods=["PATCH"])
threats_api_bp.add_url_rule("/ips/<path:ip>", view_func=api.get_ip)
threats_api_bp.add_url_rule("/ips/<path:ip>/block", view_func=api.block_ip, methods=["POST"])
threats_api_bp.add_url_rule("/ips/<path:ip>/block", view_func=api.unblock_ip, methods=["DELETE"])
