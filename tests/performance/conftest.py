"""Fixtures for the performance plugin: a target plugin with fast, slow, N+1 and failing routes,
and helpers to flush the recorder and read what it stored."""

from __future__ import annotations

import time

import pytest
from flask import Blueprint, abort
from sqlalchemy import text

from app.access import public
from app.extensions import db
from app.models import User
from app.plugin import Plugin
from plugins.performance.flusher import flush

target_bp = Blueprint("perftarget", __name__, url_prefix="/perftarget")
CACHE_STATS: dict = {}


@target_bp.route("/items/<int:item_id>")
@public
def item(item_id: int):
    return {"id": item_id}


@target_bp.route("/users")
@public
def users_n_plus_one():
    # One statement per "row": the N+1 shape the plugin should flag.
    for user_id in range(12):
        db.session.execute(text("SELECT username FROM users WHERE id = :id"), {"id": user_id})
    return {"ok": True}


@target_bp.route("/slow-sql")
@public
def slow_sql():
    # A deliberately slow statement: a recursive count to 300000 (tens of ms on any machine), with a
    # literal and a bound parameter that must be masked when stored.
    db.session.execute(
        text(
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 300000) "
            "SELECT count(*) FROM n WHERE 'secret-literal' <> :secret"
        ),
        {"secret": "hunter2-parameter"},
    )
    return {"ok": True}


@target_bp.route("/sleep")
@public
def sleep():
    time.sleep(0.25)
    return {"ok": True}


@target_bp.route("/boom")
@public
def boom():
    abort(500)


@target_bp.route("/count")
@public
def count_users():
    return {"users": db.session.scalar(db.select(db.func.count(User.id)))}


def _cache_stats():
    return CACHE_STATS.get("cache")


target_plugin = Plugin(name="perftarget", blueprints=(target_bp,), hooks={"portal_cache_stats": _cache_stats})


def pytest_collection_modifyitems(config, items):
    """Give every test here the performance plugin and the target routes unless it says otherwise."""
    for item in items:
        if "tests/performance" not in str(item.fspath):
            continue
        if item.get_closest_marker("plugins") is None:
            item.add_marker(pytest.mark.plugins("performance", "perftarget"))
        # A long interval: tests flush explicitly, so what they read never depends on timing.
        item.add_marker(
            pytest.mark.config(PORTAL_EXTRA_PLUGINS=(target_plugin,), PERFORMANCE_FLUSH_INTERVAL_SECONDS=3600)
        )


@pytest.fixture(autouse=True)
def _reset_cache_stats():
    CACHE_STATS.clear()
    yield
    CACHE_STATS.clear()


@pytest.fixture
def flush_now(app):
    """Flush the app's recorder now; return the number of raw rows written."""
    return lambda: flush(app.extensions["plugin.performance"].recorder)


@pytest.fixture
def admin(make_user, auth):
    make_user("root", role="admin")
    auth.login("root")
    return auth
