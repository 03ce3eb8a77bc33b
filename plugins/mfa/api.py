"""JSON API under /api/v1/mfa: the signed-in user's MFA status (described in openapi.py)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask_login import current_user

from app.api import API_PREFIX
from plugins.mfa import service

api_bp = Blueprint("mfa_api", __name__, url_prefix=f"{API_PREFIX}/mfa")


@api_bp.route("/status")
def status():
    return jsonify(service.status(current_user._get_current_object()))
