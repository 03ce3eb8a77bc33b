"""The OpenAPI description of /api/v1/security/alerts and /api/v1/security/ips."""

from __future__ import annotations

from app.api import error_response
from plugins.security.threats.models import AlertStatus

STATUSES = [s.value for s in AlertStatus]


def _ok(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


COMMON_ERRORS = {"401": error_response("Not signed in"), "403": error_response("Not an admin")}
ALERT_ID = {"name": "alert_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
IP = {
    "name": "ip",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "IPv4 or IPv6",
    "example": "203.0.113.7",
}
ALERT_REF = {"$ref": "#/components/schemas/SecurityAlert"}
MOMENT = {"type": "string", "format": "date-time"}
MAYBE_MOMENT = {"type": ["string", "null"], "format": "date-time"}
IP_BLOCK = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "reason": {"type": "string"},
        "created_at": MOMENT,
        "expires_at": MOMENT,
        "created_by": {"type": "string"},
        "lifted_at": MAYBE_MOMENT,
    },
}
IP_SUMMARY = {
    "type": "object",
    "properties": {
        "ip": {"type": "string"},
        "version": {"type": "integer", "enum": [4, 6]},
        "events": {"type": "integer"},
        "first_seen": MAYBE_MOMENT,
        "last_seen": MAYBE_MOMENT,
        "failed_logins": {"type": "integer"},
        "accounts_tried": {"type": "array", "items": {"type": "string"}},
        "accounts_signed_in": {"type": "array", "items": {"type": "string"}},
        "requests": {"type": "integer"},
        "blocked_until": MAYBE_MOMENT,
        "blocks": {"type": "array", "items": IP_BLOCK},
        "lists": {"type": "array", "items": {"type": "string"}},
    },
}


def threat_openapi() -> dict:
    """This part of the plugin's OpenAPI answer."""
    query = [
        {
            "name": "status",
            "in": "query",
            "schema": {"type": "string", "enum": ["open", "all", *STATUSES], "default": "open"},
        },
        {
            "name": "severity",
            "in": "query",
            "schema": {"type": "string", "enum": ["LOW", "MEDIUM", "HIGH", "CRITICAL"]},
        },
        {
            "name": "after_id",
            "in": "query",
            "schema": {"type": "integer", "minimum": 0},
            "description": "only newer alerts",
        },
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
        {
            "name": "per_page",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 25},
        },
    ]
    alert_list = {
        "type": "object",
        "properties": {
            "alerts": {"type": "array", "items": ALERT_REF},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "latest_id": {"type": "integer"},
        },
    }
    update = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "status": {"type": "string", "enum": STATUSES},
            "assigned_to": {
                "type": ["string", "null"],
                "maxLength": 80,
                "description": "an admin's username",
            },
            "notes": {"type": ["string", "null"], "maxLength": 4000},
        },
    }
    block = {
        "type": "object",
        "properties": {
            "minutes": {"type": "integer", "minimum": 1, "maximum": 525600, "default": 60},
            "reason": {"type": "string", "minLength": 1, "maxLength": 300},
        },
    }
    tag = ["security"]
    paths = {
        "/security/alerts": {
            "get": {
                "tags": tag,
                "summary": "Security alerts, newest first",
                "operationId": "listSecurityAlerts",
                "parameters": query,
                "responses": {
                    "200": _ok("A page of alerts", alert_list),
                    "400": error_response("A bad query parameter"),
                    **COMMON_ERRORS,
                },
            }
        },
        "/security/alerts/{alert_id}": {
            "get": {
                "tags": tag,
                "summary": "One alert with its linked event ids",
                "operationId": "getSecurityAlert",
                "parameters": [ALERT_ID],
                "responses": {
                    "200": _ok("The alert", {"type": "object", "properties": {"alert": ALERT_REF}}),
                    "404": error_response("No such alert"),
                    **COMMON_ERRORS,
                },
            },
            "patch": {
                "tags": tag,
                "summary": "Change an alert's status, assignee or notes (each change is an audit event)",
                "operationId": "updateSecurityAlert",
                "parameters": [ALERT_ID],
                "requestBody": {"required": True, "content": {"application/json": {"schema": update}}},
                "responses": {
                    "200": _ok(
                        "The changed alert",
                        {
                            "type": "object",
                            "properties": {
                                "alert": ALERT_REF,
                                "changed": {"type": "array", "items": {"type": "string"}},
                            },
                        },
                    ),
                    "400": error_response("A bad field"),
                    "404": error_response("No such alert"),
                    "409": error_response("Reopening would clash with another open alert"),
                    "415": error_response("Not a JSON body"),
                    **COMMON_ERRORS,
                },
            },
        },
        "/security/ips/{ip}": {
            "get": {
                "tags": tag,
                "summary": "What is known about an IP: events, failed sign-ins, accounts, requests, blocks, lists",
                "operationId": "getSecurityIp",
                "parameters": [IP],
                "responses": {
                    "200": _ok("The IP summary", {"type": "object", "properties": {"ip": IP_SUMMARY}}),
                    "400": error_response("Not an IP address"),
                    **COMMON_ERRORS,
                },
            }
        },
        "/security/ips/{ip}/block": {
            "post": {
                "tags": tag,
                "summary": "Block an IP temporarily",
                "operationId": "blockSecurityIp",
                "parameters": [IP],
                "requestBody": {"required": True, "content": {"application/json": {"schema": block}}},
                "responses": {
                    "201": _ok(
                        "Blocked",
                        {
                            "type": "object",
                            "properties": {
                                "ip": {"type": "string"},
                                "blocked_until": MAYBE_MOMENT,
                                "created": {"type": "boolean"},
                            },
                        },
                    ),
                    "400": error_response("A bad field"),
                    "409": error_response("The caller's own address"),
                    "415": error_response("Not a JSON body"),
                    **COMMON_ERRORS,
                },
            },
            "delete": {
                "tags": tag,
                "summary": "Lift an IP's blocks",
                "operationId": "unblockSecurityIp",
                "parameters": [IP],
                "responses": {
                    "200": _ok(
                        "Lifted",
                        {
                            "type": "object",
                            "properties": {"ip": {"type": "string"}, "lifted": {"type": "integer"}},
                        },
                    ),
                    "400": error_response("Not an IP address"),
                    **COMMON_ERRORS,
                },
            },
        },
    }
    alert_schema = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "title": {"type": "string"},
            "description": {"type": "string"},
            "severity": {"type": "string", "enum": ["LOW", "MEDIUM", "HIGH", "CRITICAL"]},
            "status": {"type": "string", "enum": STATUSES},
            "rule": {"type": "string"},
            "subject": {"type": "string"},
            "event_count": {"type": "integer"},
            "first_occurrence": {"type": "string", "format": "date-time"},
            "last_occurrence": {"type": "string", "format": "date-time"},
            "assigned_to": {"type": ["string", "null"]},
            "notes": {"type": ["string", "null"]},
            "metadata": {"type": "object"},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "event_ids": {"type": "array", "items": {"type": "integer"}},
        },
    }
    return {
        "paths": paths,
        "components": {"schemas": {"SecurityAlert": alert_schema}},
        "tags": [{"name": "security", "description": "Security alerts and IP monitoring (admins)"}],
    }
