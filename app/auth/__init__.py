"""Sign-in, sign-out and password change (routes of SPEC section 13)."""

from __future__ import annotations

from flask import Blueprint

from app.auth import devices

bp = Blueprint("auth", __name__, url_prefix="/auth")
bp.record_once(lambda state: devices.init_app(state.app))

from app.auth import views  # noqa: E402,F401  (registers the routes on bp)
