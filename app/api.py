"""The JSON API's shared parts: the /api/v1 blueprint with the OpenAPI document assembled from
the plugins' ``portal_openapi`` answers, and helpers for clear 400 errors naming the field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, abort, jsonify, make_response, request

from app.access import public
from app.plugin import call_hook

API_PREFIX = "/api/v1"
bp = Blueprint("api", __name__, url_prefix=API_PREFIX)

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "status"],
    "properties": {
        "error": {"type": "string"},
        "status": {"type": "integer"},
        "field": {"type": "string"},
    },
}


def error_response(description: str) -> dict[str, Any]:
    """An OpenAPI response object whose body is the shared Error schema."""
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


# The error answers every signed-in-only / admin-only route shares, for plugins' OpenAPI parts.
AUTH_ERRORS = {"401": error_response("Not signed in"), "403": error_response("Not an admin")}

# What the portal may answer before or around any operation's own view, added to each operation
# of the document unless it describes the status itself: request inspection in block mode (400),
# a blocked client address (403), the rate limits and bans (429).
EVERY_OPERATION_ERRORS = {
    "400": error_response("The request was refused (request inspection in block mode)"),
    "403": error_response("The client's address is blocked for a while (Retry-After)"),
    "429": error_response("Too many requests: rate limited or banned (Retry-After)"),
}
# A path value no route accepts (a number beyond the id range, a line break) names nothing.
PATH_PARAMETER_ERRORS = {"404": error_response("Nothing at this path")}
# A body over MAX_CONTENT_LENGTH is refused before the view reads it.
REQUEST_BODY_ERRORS = {"413": error_response("The request body is too large")}


def json_error(message: str, field: str | None = None, status: int = 400):
    body: dict[str, Any] = {"error": message, "status": status}
    if field:
        body["field"] = field
    return make_response(jsonify(body), status)


def fail(message: str, field: str | None = None, status: int = 400):
    """Abort the request with a JSON error (usable from helpers deep in a view)."""
    abort(json_error(message, field, status))


def parse_int(raw: str, minimum: int, maximum: int) -> int:
    """``raw`` as a whole number within [minimum, maximum], or ValueError saying what is wrong.

    ASCII digits only, at most 12 characters: ``str.isdigit`` also accepts digits that ``int``
    refuses (such as "²"), and a very long number costs time to convert."""
    digits = raw[1:] if raw.startswith("-") else raw
    if len(raw) > 12 or not (digits.isascii() and digits.isdigit()):
        raise ValueError("must be a whole number")
    value = int(raw)
    if not minimum <= value <= maximum:
        raise ValueError(f"must be between {minimum} and {maximum}")
    return value


def query_int(name: str, default: int, minimum: int, maximum: int) -> int:
    """An integer query parameter within [minimum, maximum], or a 400 naming it."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return parse_int(raw, minimum, maximum)
    except ValueError as error:
        fail(f"{name} {error}", name)


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a control character (NUL among them, which PostgreSQL refuses)."""
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in text)


def query_text(name: str, max_length: int) -> str | None:
    """A free-text query parameter (None when absent), or a 400 naming it."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if len(raw) > max_length:
        fail(f"{name} must be at most {max_length} characters", name)
    if has_control_characters(raw):
        fail(f"{name} cannot contain control characters", name)
    return raw


def query_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if raw not in choices:
        fail(f"{name} must be one of: {', '.join(choices)}", name)
    return raw


def json_body(max_keys: int = 100) -> Mapping[str, Any]:
    """The request's JSON object, or a 400 that says what is wrong with it."""
    if not request.is_json:
        fail("send a JSON body with Content-Type: application/json", "body", 415)
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        fail("the body must be a JSON object", "body")
    if len(data) > max_keys:
        fail("the body has too many keys", "body")
    return data


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document for every /api/v1 route of the core and the enabled plugins."""
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "El-Mag Client Portal API",
            "version": "1",
            "description": "JSON API behind the portal's pages. Session-cookie authentication: "
            "sign in at /auth/login; unsafe methods need the X-CSRFToken header.",
        },
        "servers": [{"url": API_PREFIX}],
        "paths": {
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "operationId": "getOpenApi",
                    "responses": {
                        "200": {
                            "description": "The OpenAPI document",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            }
        },
        "components": {"schemas": {"Error": ERROR_SCHEMA}},
        "tags": [],
    }
    for part in call_hook("portal_openapi"):
        document["paths"].update(part.get("paths", {}))
        document["components"]["schemas"].update(part.get("components", {}).get("schemas", {}))
        for tag in part.get("tags", []):  # a tag named twice would make the document invalid
            if all(known["name"] != tag["name"] for known in document["tags"]):
                document["tags"].append(tag)
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in OPERATION_METHODS:
                operation["responses"] = _every_response(path, operation)
    return document


OPERATION_METHODS = frozenset({"get", "put", "post", "delete", "patch"})


def _every_response(path: str, operation: dict[str, Any]) -> dict[str, Any]:
    """The operation's own responses with the shared ones it does not describe, by status."""
    shared = dict(EVERY_OPERATION_ERRORS)
    if "{" in path:
        shared.update(PATH_PARAMETER_ERRORS)
    if "requestBody" in operation:
        shared.update(REQUEST_BODY_ERRORS)
    responses = {**shared, **operation["responses"]}
    return dict(sorted(responses.items()))


@bp.route("/openapi.json")
@public
def openapi():
    return jsonify(openapi_document())
