"""This plugin's part of /api/v1/openapi.json."""

from __future__ import annotations

_FIGURES = {
    "type": "object",
    "properties": {
        name: {"type": ["number", "null"]}
        for name in ("count", "throughput_per_min", "mean_ms", "min_ms", "max_ms", "p50_ms", "p95_ms", "p99_ms",
                     "errors", "error_rate", "client_error_rate", "apdex", "apdex_t_ms", "score",
                     "db_queries_per_request", "db_ms_per_request")
    }
    | {"grade": {"type": "string", "enum": ["A", "B", "C", "D", "F", "-"]}},
}  # fmt: skip


def openapi_fragment() -> dict:
    """This plugin's part of /api/v1/openapi.json: GET /performance/stats and its schemas."""
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    moment = {"type": "string", "format": "date-time"}
    return {
        "tags": [{"name": "performance", "description": "Request performance from the roll-ups"}],
        "components": {
            "schemas": {
                "PerformanceFigures": _FIGURES,
                "PerformanceStats": {
                    "type": "object",
                    "required": ["start", "end", "totals", "endpoints", "trend", "step_seconds"],
                    "properties": {
                        "start": moment,
                        "end": moment,
                        "endpoint": {"type": ["string", "null"]},
                        "resolution_seconds": {"type": "integer"},
                        "step_seconds": {"type": "integer"},
                        "percentile_relative_error_bound": {"type": "number"},
                        "totals": {"$ref": "#/components/schemas/PerformanceFigures"},
                        "endpoints": {
                            "type": "array",
                            "items": {
                                "allOf": [
                                    {"$ref": "#/components/schemas/PerformanceFigures"},
                                    {
                                        "type": "object",
                                        "properties": {
                                            "endpoint": {"type": "string"},
                                            "method": {"type": "string"},
                                        },
                                    },
                                ]
                            },
                        },
                        "trend": {
                            "type": "array",
                            "items": {"type": "object", "properties": {"start": moment}},
                        },
                    },
                },
            }
        },
        "paths": {
            "/performance/stats": {
                "get": {
                    "tags": ["performance"],
                    "summary": "Performance figures per endpoint, totals and a trend (admin only)",
                    "operationId": "getPerformanceStats",
                    "parameters": [
                        {
                            "name": "start",
                            "in": "query",
                            "schema": moment,
                            "description": "Range start, ISO 8601 (default: end minus 24 hours; UTC when no offset)",
                        },
                        {
                            "name": "end",
                            "in": "query",
                            "schema": moment,
                            "description": "Range end (default: now)",
                        },
                        {
                            "name": "endpoint",
                            "in": "query",
                            "schema": {"type": "string", "maxLength": 255},
                            "description": "Only this route rule, e.g. /plans/",
                        },
                    ],  # fmt: skip
                    "responses": {
                        "200": {
                            "description": "The figures; percentiles are histogram estimates within "
                            "percentile_relative_error_bound of the true value",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/PerformanceStats"}
                                }
                            },
                        },
                        "400": {"description": "A bad parameter; 'field' names it", **error},
                        "401": {"description": "Not signed in", **error},
                        "403": {"description": "Not an admin", **error},
                    },
                }
            }
        },
    }
