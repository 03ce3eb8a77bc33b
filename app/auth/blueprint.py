"""The auth blueprint, in a module of its own so that the package and its views both import it
(the views register their routes on it) without importing each other."""

from __future__ import annotations

from flask import Blueprint

from app.auth import devices

bp = Blueprint("auth", __name__, url_prefix="/auth")
bp.record_once(lambda state: devices.init_app(state.app))
