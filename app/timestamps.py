"""Timestamps as the API and the exports write them: RFC 3339 in UTC with the offset (``Z``).

The database keeps naive UTC on SQLite and zone-aware values on PostgreSQL; ``isoformat()`` of
the first has no offset, which RFC 3339 (OpenAPI's ``format: date-time``) requires and which a
client would read as its own local time. Every date-time leaving the portal goes through
``rfc3339``: the JSON provider calls it for each datetime in a response, and the CSV exports and
the models' dictionaries call it for the text they build.
"""

from __future__ import annotations

from datetime import datetime

from app.models import as_utc


def rfc3339(moment: datetime | None) -> str | None:
    """``moment`` as RFC 3339 text in UTC ending in ``Z`` (naive values are UTC); None stays None."""
    if moment is None:
        return None
    return as_utc(moment).isoformat().removesuffix("+00:00") + "Z"
