"""Plan search: the normalized criteria, the query they build, and its cached JSON-ready answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Select, func

from app.caching import get_or_set
from app.extensions import db
from plugins.plans.models import Plan

CACHE_TAGS = ("plans",)
# Sort name -> (column, descending). Plans without a value (no MOOP, no rating) always sort last.
SORTS = {
    "premium": (Plan.monthly_premium, False),
    "-premium": (Plan.monthly_premium, True),
    "deductible": (Plan.deductible, False),
    "-deductible": (Plan.deductible, True),
    "moop": (Plan.max_out_of_pocket, False),
    "-moop": (Plan.max_out_of_pocket, True),
    "-stars": (Plan.star_rating, True),
    "stars": (Plan.star_rating, False),
    "carrier": (Plan.carrier, False),
    "name": (Plan.name, False),
}


@dataclass(frozen=True)
class Criteria:
    """Validated search filters; text is lower-cased because matching ignores case."""

    state: str | None = None
    county: str | None = None
    plan_type: str | None = None
    premium_min: Decimal | None = None
    premium_max: Decimal | None = None
    min_stars: Decimal | None = None
    carrier: str | None = None
    sort: str = "premium"
    page: int = 1
    per_page: int = 20

    def __post_init__(self) -> None:
        for name in ("county", "carrier"):
            value = getattr(self, name)
            object.__setattr__(self, name, value.lower() if value else None)

    def filters(self) -> dict[str, Any]:
        """The active filters under their parameter names, JSON-ready."""
        values = {
            "state": self.state,
            "county": self.county,
            "type": self.plan_type,
            "premium_min": self.premium_min,
            "premium_max": self.premium_max,
            "min_stars": self.min_stars,
            "carrier": self.carrier,
        }
        return {
            name: float(value) if isinstance(value, Decimal) else value
            for name, value in values.items()
            if value is not None
        }

    def cache_key(self) -> str:
        """A key that differs whenever any filter, the sort or the page differs."""
        parts = sorted((name, str(value)) for name, value in asdict(self).items() if value is not None)
        return "plans:search:" + urlencode(parts)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def build_query(criteria: Criteria) -> Select:
    """The SELECT for ``criteria``: filters, then the sort with the id as a stable tie-breaker."""
    query = db.select(Plan)
    if criteria.state:
        query = query.where(Plan.state == criteria.state)
    if criteria.county:
        query = query.where(func.lower(Plan.county) == criteria.county)
    if criteria.plan_type:
        query = query.where(Plan.plan_type == criteria.plan_type)
    if criteria.premium_min is not None:
        query = query.where(Plan.monthly_premium >= criteria.premium_min)
    if criteria.premium_max is not None:
        query = query.where(Plan.monthly_premium <= criteria.premium_max)
    if criteria.min_stars is not None:
        query = query.where(Plan.star_rating >= criteria.min_stars)
    if criteria.carrier:
        query = query.where(Plan.carrier.ilike(f"%{_escape_like(criteria.carrier)}%", escape="\\"))
    column, descending = SORTS[criteria.sort]
    return query.order_by(column.is_(None), column.desc() if descending else column.asc(), Plan.id)


def search_plans(criteria: Criteria) -> dict[str, Any]:
    """One page of matching plans with pagination metadata, as JSON-ready data."""
    page = db.paginate(build_query(criteria), page=criteria.page, per_page=criteria.per_page, error_out=False)
    return {
        "items": [plan.to_dict() for plan in page.items],
        "pagination": {
            "page": criteria.page,
            "per_page": criteria.per_page,
            "total": page.total or 0,
            "pages": page.pages,
            "has_prev": page.has_prev,
            "has_next": page.has_next,
            "prev_num": page.prev_num,
            "next_num": page.next_num,
        },
        "sort": criteria.sort,
        "filters": criteria.filters(),
    }


def cached_search(criteria: Criteria) -> dict[str, Any]:
    """``search_plans`` through the portal cache, tagged so that any plan change drops it."""
    return get_or_set(criteria.cache_key(), lambda: search_plans(criteria), tags=CACHE_TAGS)


def counties(state: str) -> list[str]:
    """The county names with plans in ``state``, for the search form's suggestions."""
    query = db.select(Plan.county).where(Plan.state == state).distinct().order_by(Plan.county)
    return get_or_set(f"plans:counties:{state}", lambda: list(db.session.scalars(query)), tags=CACHE_TAGS)
