"""The admin API under /api/v1/cache/: stats and tag invalidation."""

from __future__ import annotations

from flask import Blueprint, jsonify

from app.access import ADMIN, protect_blueprint
from app.api import API_PREFIX, fail, json_body
from plugins.cache.service import normalize_tags
from plugins.cache.state import state as service

api_bp = Blueprint("cache_api", __name__, url_prefix=f"{API_PREFIX}/cache")
protect_blueprint(api_bp, ADMIN)
MAX_TAGS_PER_CALL = 100


@api_bp.get("/stats")
def api_stats():
    cache = service()
    return jsonify({**cache.stats(), "entries_by_tag": cache.entries_by_tag()})


@api_bp.post("/invalidate")
def api_invalidate():
    tags = json_body().get("tags")
    if not isinstance(tags, list) or not tags:
        fail("tags must be a non-empty list of tag names", "tags")
    if len(tags) > MAX_TAGS_PER_CALL:
        fail(f"tags may hold at most {MAX_TAGS_PER_CALL} names", "tags")
    try:
        clean = normalize_tags(tags)
    except ValueError as error:
        fail(str(error), "tags")
    return jsonify({"tags": list(clean), "invalidated": service().delete_by_tags(clean)})
