"""The plugin's blueprints: pages under /mfa and the JSON API under /api/v1/mfa."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint(
    "mfa",
    __name__,
    url_prefix="/mfa",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
api_bp = Blueprint("mfa_api", __name__, url_prefix="/api/v1/mfa")
