"""The account blueprint, in a module of its own so that the package and its views both import
it (the views register their routes on it) without importing each other."""

from __future__ import annotations

from flask import Blueprint

from app.account import notices

bp = Blueprint("account", __name__, url_prefix="/account")
bp.record_once(lambda state: notices.init_app(state.app))
