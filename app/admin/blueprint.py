"""The admin blueprint, in a module of its own so that the package and its views both import it
(the views register their routes on it) without importing each other. Every view is admin-only."""

from __future__ import annotations

from flask import Blueprint

from app.access import ADMIN, protect_blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
protect_blueprint(bp, ADMIN)
