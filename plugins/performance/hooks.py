"""Wiring into one app: request hooks, engine events, signal receivers and the /metrics view."""

from __future__ import annotations

import os
from dataclasses import dataclass

from flask import Flask, Response, abort, current_app, g, request, request_started

from app.access import public
from app.extensions import db
from app.signals import request_rate_limited, security_event
from plugins.performance.flusher import ensure_started
from plugins.performance.metrics import Metrics, exposition, scrape_allowed
from plugins.performance.recorder import Recorder, hook_engine
from plugins.performance.settings import PerfConfig


@dataclass
class PerformanceState:
    """What the plugin keeps per app (app.extensions["performance"])."""

    config: PerfConfig
    metrics: Metrics
    recorder: Recorder
    receivers: tuple = ()  # blinker holds receivers weakly: the state keeps them alive


def _skip(endpoint: str | None) -> bool:
    return endpoint is not None and (endpoint == "static" or endpoint.endswith(".static"))


def _on_request_started(sender: Flask, **extra) -> None:
    # request_started fires before every before_request function, so requests that the access
    # check redirects or refuses are measured too.
    if _skip(request.endpoint):
        return
    state: PerformanceState = sender.extensions["performance"]
    recorder = state.recorder
    if recorder.started_pid != os.getpid():
        ensure_started(recorder)
    if not recorder.hooked_engines:
        hook_engine(recorder, db.engine)
    g._portal_perf = recorder.begin()


@public
def metrics_view():
    """Prometheus text format, for configured addresses or the bearer token only."""
    state: PerformanceState = current_app.extensions["performance"]
    if not scrape_allowed(state.config, request.remote_addr, request.headers.get("Authorization")):
        abort(403, description="Metrics are readable from configured addresses or with the token only.")
    from prometheus_client import CONTENT_TYPE_LATEST

    return Response(
        exposition(current_app._get_current_object(), state.metrics), mimetype=CONTENT_TYPE_LATEST
    )


def _make_after_request(state: PerformanceState):
    recorder, duration = state.recorder, state.metrics.duration
    children: dict[tuple[str, str, int], object] = {}  # labels() validates on every call; cache

    def after_request(response: Response) -> Response:
        perf = g.pop("_portal_perf", None)
        if perf is None:
            return response
        rule = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
        user = g.get("_login_user")
        user_id = user.id if user is not None and getattr(user, "is_authenticated", False) else None
        method, status = request.method, response.status_code
        ms = recorder.record(
            perf,
            rule,
            method,
            status,
            user_id,
            request.remote_addr or "",
            request.environ.get("HTTP_USER_AGENT", "")[:200],  # the environ: no header view built
        )
        child = children.get((rule, method, status))
        if child is None:
            child = children[(rule, method, status)] = duration.labels(rule, method, str(status))
        child.observe(ms / 1000)
        return response

    return after_request


def setup(app: Flask) -> None:
    """Register the request hooks, signal receivers and /metrics for ``app`` (no DB, no threads)."""
    config = PerfConfig.from_config(app.config)
    metrics = Metrics.create()
    state = PerformanceState(config=config, metrics=metrics, recorder=Recorder(app, config, metrics))
    app.extensions["performance"] = state
    request_started.connect(_on_request_started, app)
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
    app.add_url_rule("/metrics", "performance_metrics", metrics_view)
