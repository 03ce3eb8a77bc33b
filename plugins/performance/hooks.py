"""Wiring into one app: request hooks, engine events and signal receivers."""

from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request

from app.access import is_static
from app.extensions import db
from app.signals import request_rate_limited, security_event
from plugins.performance.collectors import Metrics
from plugins.performance.flusher import ensure_started
from plugins.performance.recorder import PERF_KEY, Recorder, hook_engine
from plugins.performance.settings import PerfConfig
from plugins.performance.state import EXTENSION, PerformanceState


def _make_after_request(state: PerformanceState):
    recorder, duration = state.recorder, state.metrics.duration
    children: dict[tuple[str, str, int], object] = {}  # labels() validates on every call; cache

    def after_request(response: Response) -> Response:
        # Every request passes here, the ones a hook refused or an error ended as well; it is
        # measured from its arrival (app.request_pipeline.TimedRequest), not from a signal.
        request_globals, asked = g._get_current_object(), request._get_current_object()
        perf = getattr(asked, PERF_KEY, None)
        if is_static(asked.endpoint):
            return response
        if recorder.started_pid != os.getpid():
            ensure_started(recorder)
        url_rule = asked.url_rule
        rule = url_rule.rule if url_rule is not None else "<unmatched>"
        user = request_globals.get("_login_user")
        user_id = user.id if user is not None and getattr(user, "is_authenticated", False) else None
        method, status = asked.method, response.status_code
        environ = asked.environ
        ms = recorder.record(
            getattr(asked, "arrived", None) or time.perf_counter(),  # another request class: 0 ms
            perf,
            rule,
            method,
            status,
            user_id,
            asked.remote_addr or "",
            environ.get("HTTP_USER_AGENT", "")[:200],  # the environ: no header view built
        )
        child = children.get((rule, method, status))
        if child is None:
            child = children[(rule, method, status)] = duration.labels(rule, method, str(status))
        child.observe(ms / 1000)
        return response

    return after_request


def setup(app: Flask) -> None:
    """Register the request hooks and signal receivers for ``app`` (no DB, no threads)."""
    config = PerfConfig.from_config(app.config)
    metrics = Metrics.create()
    state = PerformanceState(config=config, metrics=metrics, recorder=Recorder(app, config, metrics))
    app.extensions[EXTENSION] = state
    with app.app_context():  # Flask-SQLAlchemy built the engine in init_app; this connects nothing
        hook_engine(state.recorder, db.engine)
    app.after_request(_make_after_request(state))

    def count_security_event(sender, kind=None, severity=None, **extra) -> None:
        metrics.security_events.labels(
            str(getattr(kind, "value", kind)), str(getattr(severity, "value", severity))
        ).inc()

    def count_rate_limited(sender, endpoint=None, **extra) -> None:
        metrics.rate_limited.labels(str(endpoint or "")[:200]).inc()

    state.receivers = (count_security_event, count_rate_limited)
    security_event.connect(count_security_event, sender=app)
    request_rate_limited.connect(count_rate_limited, sender=app)
