"""The account security centre (``/account/security``): sign-in methods, signed-in sessions and
recent security activity of the signed-in user, with sections that plugins add."""

from __future__ import annotations

from flask import Blueprint

from app.account import notices

bp = Blueprint("account", __name__, url_prefix="/account")
bp.record_once(lambda state: notices.init_app(state.app))

from app.account import views  # noqa: E402,F401  (registers the routes on bp)
