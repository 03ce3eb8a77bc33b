"""The plugin's blueprints: pages under /mfa, the JSON API under /api/v1/mfa and the passkey
ceremonies under /api/v1/passkeys (a declared root path: the URLs the issue and clients name)."""

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
passkeys_api_bp = Blueprint("mfa_passkeys_api", __name__, url_prefix="/api/v1/passkeys")
