"""The admin shell: overview, scheduled jobs and users. Every view here is admin-only."""

from __future__ import annotations

from flask import Blueprint

from app.access import ADMIN, protect_blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
protect_blueprint(bp, ADMIN)

from app.admin import views  # noqa: E402,F401  (registers the routes on bp)
