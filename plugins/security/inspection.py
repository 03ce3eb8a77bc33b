"""Request inspection: query strings, form fields, JSON bodies, the path, selected headers and
uploads are matched against the attack signatures; a hit becomes an event naming the parameter.
Log-only by default; SECURITY_INSPECTION_MODE=block answers 400."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Flask, current_app, jsonify, render_template, request

from app.access import wants_json
from app.auth.service import keyed_digest
from app.events import EventType, Severity
from plugins.security.audit import log_event
from plugins.security.patterns import classify, dangerous_upload
from plugins.security.sanitize import clean_text, is_secret_key
from plugins.security.state import EXTENSION

EVENT_TYPES = {
    "sql_injection": (EventType.SQL_INJECTION_ATTEMPT, Severity.HIGH),
    "xss": (EventType.XSS_ATTEMPT, Severity.HIGH),
    "path_traversal": (EventType.SUSPICIOUS_ACTIVITY, Severity.MEDIUM),
    "upload": (EventType.FILE_UPLOAD_ATTEMPT, Severity.HIGH),
}
MAX_VALUES = 200  # values inspected per request
MAX_JSON_DEPTH = 8
PAYLOAD_EXCERPT = 120
# Forms that carry credentials: a value flagged there may be someone's password typed into the
# wrong field, so the event keeps a digest of it, not an excerpt.
CREDENTIAL_BLUEPRINTS = ("auth", "mfa")
# Requests without a body that were inspected and found clean, by everything inspection reads of
# them (path, query string, inspected headers): the same request again is clean again, and a
# signed-in client repeats its requests. Bounded; emptied when full.
CLEAN_KEPT = 4096
BODYLESS = ("GET", "HEAD", "OPTIONS")


def _json_values(value: Any, path: str, depth: int = 0) -> Iterator[tuple[str, str]]:
    if depth > MAX_JSON_DEPTH:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if is_secret_key(str(key)):
                continue
            yield name, str(key)
            yield from _json_values(item, name, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_values(item, f"{path}[{index}]", depth + 1)
    elif isinstance(value, str):
        yield path, value


def _environ_keys(headers: list[str]) -> tuple[tuple[str, str], ...]:
    """(header, WSGI environ key) pairs, computed once at start-up: reading the environ directly
    is several times cheaper than werkzeug's header view, and this runs on every request."""
    special = {"CONTENT_TYPE", "CONTENT_LENGTH"}
    pairs = []
    for header in headers:
        key = header.upper().replace("-", "_")
        pairs.append((header, key if key in special else f"HTTP_{key}"))
    return tuple(pairs)


def _candidates(max_bytes: int) -> Iterator[tuple[str, str, str]]:
    """(location, parameter, value) for everything inspected, secrets and CSRF tokens skipped."""
    yield "path", "path", request.path
    if request.query_string:
        for name, value in request.args.items(multi=True):
            yield "query", name, name
            if not is_secret_key(name):  # a token in a link must not end up in the audit log
                yield "query", name, value
    environ = request.environ
    for header, key in current_app.extensions[EXTENSION].inspected_headers:
        value = environ.get(key)
        if value:
            yield "header", header, value
    length = request.content_length or 0
    if request.method in ("GET", "HEAD", "OPTIONS") or length > max_bytes:
        return
    if request.is_json:
        yield from (("json", name, value) for name, value in _json_values(request.get_json(silent=True), ""))
        return
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for name, value in request.form.items(multi=True):
            if not is_secret_key(name):
                yield "form", name, value


def _payload(location: str, parameter: str, value: str) -> dict[str, str]:
    """What the event keeps of a flagged value: an excerpt, but only a keyed digest of a value
    from a credential form, and a Referer without its query string (which may hold tokens)."""
    if location in ("form", "json") and request.blueprint in CREDENTIAL_BLUEPRINTS:
        return {"payload_digest": keyed_digest(value)}
    if location == "header" and parameter.lower() == "referer":
        value = value.split("?", 1)[0] + ("?…" if "?" in value else "")
    return {"payload": clean_text(value, PAYLOAD_EXCERPT)}


def inspect_request():
    """Guard: inspect the request; record each attack category once; block when configured."""
    # Runs on every request: the app and the request are looked up once (each proxy use costs).
    app, asked = current_app._get_current_object(), request._get_current_object()
    config = app.config
    mode = config["SECURITY_INSPECTION_MODE"]
    if mode == "off":
        return None
    max_bytes = config["SECURITY_INSPECT_MAX_BYTES"]
    # A bound per value as well as per request: one huge field cannot use up the budget of the
    # fields after it. Both count characters (at most four bytes each); the search is linear.
    max_value = config["SECURITY_INSPECT_MAX_VALUE_BYTES"]
    security = app.extensions[EXTENSION]
    clean = security.inspected_clean
    environ = asked.environ
    seen_key = None
    if asked.method in BODYLESS:
        seen_key = (asked.path, environ.get("QUERY_STRING", "")) + tuple(
            environ.get(key) for _, key in security.inspected_headers
        )
        if seen_key in clean:
            return None
    hits: dict[str, tuple[str, str, str]] = {}
    budget = max_bytes
    for count, (location, parameter, value) in enumerate(_candidates(max_bytes)):
        if count >= MAX_VALUES or budget <= 0:
            break
        value = value[: min(budget, max_value)]
        budget -= len(value)
        category = classify(value)
        if category and category not in hits:
            hits[category] = (location, parameter, value)
    upload = _inspect_uploads(max_bytes)
    if upload:
        hits["upload"] = upload
    if not hits and seen_key is not None:
        if len(clean) >= CLEAN_KEPT:
            clean.clear()
        clean.add(seen_key)
    for category, (location, parameter, value) in hits.items():
        kind, severity = EVENT_TYPES[category]
        log_event(
            kind,
            severity,
            description=f"{category.replace('_', ' ')} pattern in {location} parameter {clean_text(parameter, 60)!r}",
            metadata={
                "attack": category,
                "location": location,
                "parameter": clean_text(parameter, 100),
                **_payload(location, parameter, value),
                "path": clean_text(request.path, 200),
                "method": request.method,
                "mode": mode,
            },
        )
    if hits and mode == "block":
        return _blocked()
    return None


def _inspect_uploads(max_bytes: int) -> tuple[str, str, str] | None:
    if not request.environ.get("CONTENT_TYPE", "").lower().startswith("multipart/"):
        return None  # checked on the raw header first: parsing the mimetype costs every request
    if request.mimetype != "multipart/form-data" or (request.content_length or 0) > max_bytes:
        return None
    for field, storage in request.files.items(multi=True):
        head = storage.stream.read(512)
        storage.stream.seek(0)
        reason = dangerous_upload(storage.filename or "", head)
        if reason:
            return "upload", field, f"{storage.filename}: {reason}"
    return None


def _blocked():
    message = "The request was refused because it looks like an attack."
    if wants_json():
        response = jsonify(error=message, status=400)
    else:
        response = current_app.make_response(
            render_template("errors/error.html", status=400, title="Request refused", message=message)
        )
    response.status_code = 400
    return response


def setup(app: Flask) -> None:
    state = app.extensions[EXTENSION]
    state.inspected_headers = _environ_keys(app.config["SECURITY_INSPECT_HEADERS"])
    state.inspected_clean = set()
    # inspect_request is the plugin's guard at order 40 (plugins/security/guard.py)
