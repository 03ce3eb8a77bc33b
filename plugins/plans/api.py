"""GET /api/v1/plans/search: the search page's query as JSON, through the same validation."""

from __future__ import annotations

from flask import Blueprint, jsonify

from app.api import API_PREFIX, fail
from plugins.plans.forms import SearchForm
from plugins.plans.search import cached_search

# A second blueprint because the API lives under the core's /api/v1 prefix, not under /plans.
api_bp = Blueprint("plans_api", __name__, url_prefix=f"{API_PREFIX}/plans")


@api_bp.route("/search")
def search():
    form = SearchForm.from_request()
    if not form.validate():
        field, message = form.messages()[0]
        fail(message, field)
    return jsonify(cached_search(form.criteria()))
