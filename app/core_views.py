"""The home page and the health endpoints."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template
from sqlalchemy import text

from app.access import public
from app.extensions import db
from app.plugin import call_hook

bp = Blueprint("core", __name__)


@bp.route("/")
def home():
    return render_template("home.html")


@bp.route("/healthz")
@public
def healthz():
    return jsonify(status="ok")


def _database_ready() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except Exception:
        db.session.rollback()
        return False


def _redis_ready(url: str) -> bool:
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


@bp.route("/readyz")
@public
def readyz():
    checks = {"database": _database_ready()}
    if current_app.config.get("REDIS_URL"):
        checks["redis"] = _redis_ready(current_app.config["REDIS_URL"])
    for extra in call_hook("portal_readiness"):
        checks.update(extra)
    failing = sorted(name for name, ok in checks.items() if not ok)
    body = {"status": "ready" if not failing else "unavailable", "checks": checks}
    if failing:
        body["failing"] = failing
    return jsonify(body), 503 if failing else 200
