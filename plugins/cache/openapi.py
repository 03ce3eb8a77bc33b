"""The cache API's part of the OpenAPI document."""

from __future__ import annotations

from app.api import error_response

STATS_SCHEMA = {
    "type": "object",
    "required": ["backend", "hits", "misses", "ratio", "entries", "bytes", "evictions", "bytes_saved"],
    "properties": {
        "backend": {"type": "string", "enum": ["memory", "redis", "database"]},
        "hits": {"type": "integer", "minimum": 0},
        "misses": {"type": "integer", "minimum": 0},
        "ratio": {"type": "number", "minimum": 0, "maximum": 1},
        "entries": {"type": "integer", "minimum": 0},
        "bytes": {"type": "integer", "minimum": 0},
        "max_bytes": {"type": ["integer", "null"]},
        "evictions": {"type": "integer", "minimum": 0},
        "estimated": {"type": "boolean", "description": "entries and bytes estimated from a sample"},
        "bytes_saved": {"type": "integer", "minimum": 0},
        "errors": {"type": "integer", "minimum": 0},
        "default_ttl_seconds": {"type": "number"},
        "entries_by_tag": {"type": "object", "additionalProperties": {"type": "integer"}},
    },
}


def openapi_fragment() -> dict:
    return {
        "tags": [{"name": "cache", "description": "Cache figures and invalidation (admins only)"}],
        "components": {"schemas": {"CacheStats": STATS_SCHEMA}},
        "paths": {
            "/cache/stats": {
                "get": {
                    "tags": ["cache"],
                    "summary": "Cache figures: hits, misses, ratio, entries, bytes, evictions, bytes saved",
                    "operationId": "getCacheStats",
                    "responses": {
                        "200": {
                            "description": "The figures",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/CacheStats"}}
                            },
                        },
                        "401": error_response("Not signed in"),
                        "403": error_response("Not an admin"),
                    },
                }
            },
            "/cache/invalidate": {
                "post": {
                    "tags": ["cache"],
                    "summary": "Invalidate every entry carrying any of the tags (needs X-CSRFToken)",
                    "operationId": "invalidateCacheTags",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["tags"],
                                    "properties": {
                                        "tags": {
                                            "type": "array",
                                            "minItems": 1,
                                            "maxItems": 100,
                                            "items": {"type": "string", "minLength": 1, "maxLength": 100},
                                        }
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "Tags invalidated",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["tags", "invalidated"],
                                        "properties": {
                                            "tags": {"type": "array", "items": {"type": "string"}},
                                            "invalidated": {"type": "integer", "minimum": 0},
                                        },
                                    }
                                }
                            },
                        },
                        "400": error_response("Bad body; 'field' names the bad field (tags or body)"),
                        "401": error_response("Not signed in"),
                        "403": error_response("Not an admin"),
                        "415": error_response("The body is not JSON"),
                    },
                }
            },
        },
    }
