"""GET /api/v1/plans/search: the search page's query as JSON, through the same validation."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, current_app, request

from app.api import API_PREFIX, fail
from app.caching import get_or_set
from plugins.plans.forms import SearchForm
from plugins.plans.search import CACHE_TAGS, cached_search

# A second blueprint because the API lives under the core's /api/v1 prefix, not under /plans.
api_bp = Blueprint("plans_api", __name__, url_prefix=f"{API_PREFIX}/plans")


def answer_key() -> str:
    """The cache key of this request's answer: its query string as sent, parameters sorted.

    Only a valid query's answer is stored (an invalid one stops with its 400 first), and a valid
    query names known parameters once each: unknown parameters cannot add keys. Equivalent
    spellings (state=ca, state=CA) are stored apart, like distinct searches; the byte bound
    (Redis: maxmemory), the TTL and the rate limits bound what one client can store."""
    return "plans:search:json:" + urlencode(sorted(request.args.items(multi=True)))


def answer() -> str:
    """Validate the query and serialize its results page (found through the criteria's cache)."""
    form = SearchForm.from_request()
    if not form.validate():
        field, message = form.messages()[0]
        fail(message, field)
    # The separators jsonify uses outside debug mode: the same bytes as an uncached answer.
    return current_app.json.dumps(cached_search(form.criteria()), separators=(",", ":")) + "\n"


@api_bp.route("/search")
def search():
    # The JSON text itself is cached: a repeated search skips validation and serialization,
    # most of what it would cost besides the signed-in request.
    body = get_or_set(answer_key(), answer, tags=CACHE_TAGS)
    return current_app.response_class(body, mimetype="application/json")
