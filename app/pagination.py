"""The page number of a paginated page, read from the query string the same way everywhere."""

from __future__ import annotations

from flask import abort, request

from app.api import parse_int

MAX_PAGE = 100_000


def page_arg(name: str = "page") -> int:
    """The page asked for (1 when absent or blank), or a 400 that says what is allowed.

    Checked before any query: Flask-SQLAlchemy's own reading of ``page`` accepts any integer,
    and an OFFSET beyond the database's integer range is a 500."""
    try:
        return parse_int(request.args.get(name, "").strip() or "1", 1, MAX_PAGE)
    except ValueError:
        abort(400, description=f"{name} must be a whole number from 1 to {MAX_PAGE}")
