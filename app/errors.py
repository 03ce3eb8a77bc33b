"""Error pages (HTML) and error bodies (JSON under /api/), and SYSTEM_ERROR on a 500."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, make_response, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.access import wants_json
from app.events import EventType, Severity
from app.signals import emit_security_event

log = logging.getLogger(__name__)


def render_error(status: int, title: str, message: str) -> Response:
    if wants_json():
        response = jsonify(error=message, status=status)
    else:
        html = render_template("errors/error.html", status=status, title=title, message=message)
        response = make_response(html)
    response.status_code = status
    return response


def handle_http_error(error: HTTPException):
    if error.code is None or error.code < 400:
        return error
    if error.response is not None:  # a view aborted with a ready response (e.g. app.api.fail)
        return error.response
    response = render_error(error.code, error.name, error.description or error.name)
    for name, value in error.get_headers():  # keep Allow, Retry-After, WWW-Authenticate ...
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def handle_csrf_error(error: CSRFError):
    emit_security_event(
        EventType.CSRF_ATTEMPT,
        Severity.MEDIUM,
        description="form submitted without a valid CSRF token",
        metadata={"reason": error.description[:200]},
    )
    return render_error(
        400,
        "Form expired",
        "The form was missing its security token or it expired. Go back, reload the page and try again.",
    )


def handle_unexpected_error(error: Exception):
    original = getattr(error, "original_exception", None) or error
    log.exception("unhandled error", exc_info=original)
    try:
        emit_security_event(
            EventType.SYSTEM_ERROR,
            Severity.HIGH,
            description="unhandled server error",
            metadata={"error": type(original).__name__},
        )
    except Exception:  # recording must never turn one error into two
        log.exception("could not record SYSTEM_ERROR")
    return render_error(500, "Server error", "Something went wrong on our side. Please try again.")


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(InternalServerError, handle_unexpected_error)
    app.register_error_handler(Exception, handle_unexpected_error)
