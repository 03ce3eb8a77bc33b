"""The blueprint ``security_console``: the threat part's console pages under /security (admins
only), its static files and its session check. The views live in ``threats/views.py``; this
module gives them their URLs (endpoint names are the views' names: ``security_console.alerts``)."""

from __future__ import annotations

from flask import Blueprint

from app.access import ADMIN, protect_blueprint
from plugins.security.threats import views
from plugins.security.threats.signin import check_session_change

console_bp = Blueprint(
    "security_console",
    __name__,
    url_prefix="/security",
    template_folder="threats/templates",
    static_folder="threats/static",
    static_url_path="/console-static",
)
protect_blueprint(console_bp, ADMIN)

console_bp.add_url_rule("/", view_func=views.dashboard)
console_bp.add_url_rule("/events.csv", view_func=views.export_events)
console_bp.add_url_rule("/alerts", view_func=views.alerts)
console_bp.add_url_rule("/alerts/<int:alert_id>", view_func=views.alert_detail, methods=["GET", "POST"])
console_bp.add_url_rule("/ips/<path:ip>", view_func=views.ip_page)
console_bp.add_url_rule("/ips/<path:ip>/block", view_func=views.block, methods=["POST"])
console_bp.add_url_rule("/ips/<path:ip>/unblock", view_func=views.unblock, methods=["POST"])

# After the core's hooks (the idle timeout and access control come first): a session whose
# IP or user agent changed since sign-in is flagged (or, when configured, ended).
console_bp.before_app_request(check_session_change)
