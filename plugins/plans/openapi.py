"""This plugin's part of /api/v1/openapi.json, built from the same limits the form enforces."""

from __future__ import annotations

from typing import Any

from plugins.plans.forms import MAX_PAGE, MAX_PER_PAGE, MAX_PREMIUM, MAX_TEXT, PLAN_TYPES, STATES
from plugins.plans.search import SORTS

MONEY = {"type": "number", "minimum": 0, "maximum": MAX_PREMIUM}
NULLABLE_NUMBER = {"type": ["number", "null"], "minimum": 0}
TEXT = {"type": "string", "maxLength": MAX_TEXT}

PLAN = {
    "type": "object",
    "required": [
        "id",
        "plan_code",
        "name",
        "carrier",
        "plan_type",
        "state",
        "county",
        "monthly_premium",
        "deductible",
        "max_out_of_pocket",
        "star_rating",
        "benefits",
    ],  # fmt: skip
    "properties": {
        "id": {"type": "integer"},
        "plan_code": {"type": "string"},
        "name": {"type": "string"},
        "carrier": {"type": "string"},
        "plan_type": {"type": "string", "enum": list(PLAN_TYPES)},
        "state": {"type": "string", "enum": STATES},
        "county": {"type": "string"},
        "monthly_premium": {"type": "number", "minimum": 0},
        "deductible": {"type": "number", "minimum": 0},
        "max_out_of_pocket": {**NULLABLE_NUMBER, "description": "null: the plan has no maximum"},
        "star_rating": {**NULLABLE_NUMBER, "maximum": 5, "description": "null: not rated"},
        "benefits": {"type": "array", "items": {"type": "string"}},
    },
}
PAGE_NUMBER = {"type": ["integer", "null"], "minimum": 1}
SEARCH_RESULT = {
    "type": "object",
    "required": ["items", "pagination", "sort", "filters"],
    "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Plan"}},
        "pagination": {
            "type": "object",
            "required": ["page", "per_page", "total", "pages", "has_prev", "has_next"],
            "properties": {
                "page": {"type": "integer", "minimum": 1},
                "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
                "total": {"type": "integer", "minimum": 0},
                "pages": {"type": "integer", "minimum": 0},
                "has_prev": {"type": "boolean"},
                "has_next": {"type": "boolean"},
                "prev_num": PAGE_NUMBER,
                "next_num": PAGE_NUMBER,
            },
        },
        "sort": {"type": "string", "enum": list(SORTS)},
        "filters": {"type": "object", "description": "The active filters, normalized"},
    },
}
# The core's sign-in guard answers 401 with the sign-in URL.
AUTHENTICATION_REQUIRED = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "login_url": {"type": "string"}},
}
PARAMETERS = (
    ("state", {"type": "string", "enum": STATES}, "Two-letter state code (any case)"),
    ("county", TEXT, "County name (any case)"),
    ("type", {"type": "string", "enum": list(PLAN_TYPES)}, "Plan type (any case)"),
    ("premium_min", MONEY, "Lowest monthly premium in dollars"),
    ("premium_max", MONEY, "Highest monthly premium in dollars; not below premium_min"),
    ("min_stars", {"type": "number", "minimum": 0, "maximum": 5}, "Minimum star rating"),
    ("carrier", TEXT, "Part of the carrier's name (any case)"),
    ("sort", {"type": "string", "enum": list(SORTS), "default": "premium"}, "Order; '-' means descending"),
    ("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}, "Page number"),
    ("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE}, "Plans per page"),
)


def _json(description: str, ref: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


def openapi_fragment() -> dict[str, Any]:
    """Answer ``portal_openapi``: the /plans/search operation and its schemas."""
    search = {
        "tags": ["plans"],
        "summary": "Search Medicare plans",
        "description": "The search page's filters as JSON, cached. Unknown or repeated parameters "
        "are refused. Signed-in users only.",
        "operationId": "searchPlans",
        "parameters": [
            {"name": name, "in": "query", "required": False, "description": text, "schema": schema}
            for name, schema, text in PARAMETERS
        ],
        "responses": {
            "200": _json("One page of matching plans", "#/components/schemas/PlanSearchResult"),
            "400": _json("A parameter is invalid; `field` names it", "#/components/schemas/Error"),
            "401": _json("Not signed in", "#/components/schemas/AuthenticationRequired"),
        },
    }
    return {
        "tags": [{"name": "plans", "description": "Medicare plan search"}],
        "paths": {"/plans/search": {"get": search}},
        "components": {
            "schemas": {
                "Plan": PLAN,
                "PlanSearchResult": SEARCH_RESULT,
                "AuthenticationRequired": AUTHENTICATION_REQUIRED,
            }
        },
    }
