"""The plugin's part of /api/v1/openapi.json (paths relative to /api/v1): the audit log's and
the rate limits' API (``api.py``) and the threat part's alerts and IPs (``threats/openapi.py``)."""

from __future__ import annotations

from typing import Any

from app.api import error_response
from app.events import EventType, Severity
from plugins.security.api import MAX_PER_PAGE
from plugins.security.threats.openapi import threat_openapi

_ERRORS = {
    "400": error_response("A query parameter is invalid (the body names it in 'field')"),
    "401": error_response("Not signed in"),
    "403": error_response("Signed in but not an admin"),
    "429": error_response("Rate limited (Retry-After, RateLimit headers)"),
}


def _param(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def audit_openapi() -> dict:
    """The first part's API: the audit log's events and the rate-limit rejections."""
    event_schema = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "timestamp": {"type": "string", "format": "date-time"},
            "event_type": {"type": "string", "enum": [e.value for e in EventType]},
            "severity": {"type": "string", "enum": [s.value for s in Severity]},
            "user_id": {"type": ["integer", "null"]},
            "ip_address": {"type": "string"},
            "user_agent": {"type": "string"},
            "description": {"type": "string"},
            "metadata": {"type": "object"},
            "resolved": {"type": "boolean"},
            "hash": {"type": "string", "description": "SHA-256 (or HMAC) chain hash of the event"},
        },
    }
    rejection_schema = {
        "type": "object",
        "properties": {
            "identifier": {"type": "string"},
            "endpoint": {"type": "string"},
            "request_count": {"type": "integer"},
            "first_request": {"type": "string", "format": "date-time"},
            "last_request": {"type": "string", "format": "date-time"},
        },
    }
    return {
        "tags": [{"name": "security", "description": "Audit log and rate limiting (admin)"}],
        "components": {"schemas": {"SecurityEvent": event_schema}},
        "paths": {
            "/security/events": {
                "get": {
                    "tags": ["security"],
                    "summary": "Security events, newest first (admin)",
                    "operationId": "listSecurityEvents",
                    "parameters": [
                        _param(
                            "type", {"type": "string", "enum": [e.value for e in EventType]}, "event type"
                        ),
                        _param(
                            "severity", {"type": "string", "enum": [s.value for s in Severity]}, "severity"
                        ),
                        _param("ip", {"type": "string", "maxLength": 64}, "client IP address"),
                        _param("user_id", {"type": "integer", "minimum": 1}, "user id"),
                        _param(
                            "since", {"type": "string", "format": "date-time"}, "from this time (inclusive)"
                        ),
                        _param("until", {"type": "string", "format": "date-time"}, "before this time"),
                        _param("page", {"type": "integer", "minimum": 1, "default": 1}, "page number"),
                        _param(
                            "per_page",
                            {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 50},
                            "page size",
                        ),
                    ],
                    "responses": {
                        "200": {
                            "description": "One page of events",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "items": {
                                                "type": "array",
                                                "items": {"$ref": "#/components/schemas/SecurityEvent"},
                                            },
                                            "page": {"type": "integer"},
                                            "per_page": {"type": "integer"},
                                            "total": {"type": "integer"},
                                            "pages": {"type": "integer"},
                                        },
                                    }
                                }
                            },
                        },
                        **_ERRORS,
                    },
                }
            },
            "/security/rate-limits": {
                "get": {
                    "tags": ["security"],
                    "summary": "Rate-limit rejections per identifier and endpoint, most first (admin)",
                    "operationId": "listRateLimitRejections",
                    "parameters": [
                        _param(
                            "limit",
                            {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 20},
                            "rows",
                        )
                    ],
                    "responses": {
                        "200": {
                            "description": "Top offenders",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {"items": {"type": "array", "items": rejection_schema}},
                                    }
                                }
                            },
                        },
                        **_ERRORS,
                    },
                }
            },
        },
    }


def openapi_fragment() -> dict[str, Any]:
    """Both parts' descriptions in one document: their paths, schemas and tags."""
    document: dict[str, Any] = {"paths": {}, "components": {"schemas": {}}, "tags": []}
    for answer in (audit_openapi(), threat_openapi()):
        document["paths"].update(answer.get("paths", {}))
        document["components"]["schemas"].update(answer.get("components", {}).get("schemas", {}))
        document["tags"].extend(answer.get("tags", []))
    return document
