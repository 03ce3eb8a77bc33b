"""Input that Flask and Werkzeug accept without a bound, bounded for the whole portal.

- JSON: the standard library parser recurses once per nesting level, and a body of a few
  thousand brackets raised RecursionError, which ``get_json(silent=True)`` does not catch (it
  catches ValueError): a 500 on any route. Too deep a document now fails to parse like any
  malformed one (400, or None when silent).
- ``<int:...>`` in URLs: Werkzeug's converter has no maximum, and a number above the id
  column's range raised an error in the query (SQLite: OverflowError above 2^63-1; PostgreSQL:
  "integer out of range" above 2^31-1). Such a number names nothing: 404. Werkzeug picks a
  rule by its pattern and method before it converts the values, so a number out of range on a
  path that another rule serves with other methods was answered 405 "method not allowed"
  (PATCH /api/v1/security/alerts/<too large>): a 405 now stands only when a rule of another
  method really matches.
- Output: Flask writes a datetime as an HTTP date ("Tue, 01 Dec 2026 21:20:12 GMT"), which is
  not the ``format: date-time`` the API documents; the provider writes RFC 3339 in UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask, current_app, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import IntegerConverter, RequestRedirect

from app.timestamps import rfc3339

# The portal's ids are INTEGER columns: 32 bits on PostgreSQL. A route over a BIGINT column
# declares its own bound: <int(max=9223372036854775807):id>.
LARGEST_ID = 2**31 - 1


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return rfc3339(value)
    return DefaultJSONProvider.default(value)


class BoundedJSONProvider(DefaultJSONProvider):
    default = staticmethod(_default)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("the JSON document nests too deeply") from None


class BoundedIntegerConverter(IntegerConverter):
    """``<int:name>`` up to LARGEST_ID (unless a rule sets its own max)."""

    def __init__(self, map, fixed_digits=0, min=None, max=LARGEST_ID, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def not_found_unless_another_method_matches() -> None:
    """Turn a 405 into a 404 when no rule of the other methods accepts the path's values."""
    error = request.routing_exception
    if not isinstance(error, MethodNotAllowed):
        return
    adapter = current_app.create_url_adapter(request)
    for method in error.valid_methods or ():
        try:
            adapter.match(method=method)
        except RequestRedirect:
            return
        except HTTPException:
            continue
        return
    request.routing_exception = NotFound()


def init_app(app: Flask) -> None:
    """Call before any route is added (rules pick their converter when they are added). The
    routing correction is the first hook of ``app.request_pipeline`` (a guard must see the
    routing answer it corrects)."""
    app.json = BoundedJSONProvider(app)
    app.url_map.converters["int"] = BoundedIntegerConverter
