"""The page number of a paginated page, read from the query string the same way everywhere."""

from __future__ import annotations

from flask import abort, request

MAX_PAGE = 100_000


def page_arg(name: str = "page") -> int:
    """The page asked for (1 when absent or blank), or a 400 that says what is allowed.

    Checked before any query: Flask-SQLAlchemy's own reading of ``page`` accepts any integer,
    and an OFFSET beyond the database's integer range is a 500."""
    raw = request.args.get(name, "").strip() or "1"
    if (
        not (raw.isascii() and raw.isdigit() and len(raw) <= len(str(MAX_PAGE)))
        or not 1 <= int(raw) <= MAX_PAGE
    ):
        abort(400, description=f"{name} must be a whole number from 1 to {MAX_PAGE}")
    return int(raw)
