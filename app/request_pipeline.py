"""The request pipeline: every before_request hook of the core, in the order a request meets them.

1. routing (``app.input_limits``): a 405 that no other method would answer becomes a 404, so
   that the guards see the routing answer the client will get;
2. the plugins' request guards (``Plugin.guards``, lowest order first; static files meet none);
3. CSRF (flask-wtf's own check);
4. the idle timeout (``app.auth.service``);
5. access control (``app.access``: sign-in, admin).

Then the plugins' own per-request hooks (``blueprint.before_app_request``), registered with
their blueprints after the core's, in enable-list order. Nothing else adds a before_request.

Every request also carries the moment it arrived (``TimedRequest.arrived``), taken when Flask
builds the request object, before any hook: the performance plugin measures from there, so a
request that a hook refuses or a routing error ends is measured too, with no signal receiver to run.
"""

from __future__ import annotations

import time

from flask import Flask, Request, current_app, request
from flask.typing import ResponseReturnValue

from app import access, input_limits
from app.auth import service as auth_service
from app.extensions import csrf
from app.plugin import RequestGuard
from app.plugin.loader import PluginRegistry

GUARDS = "portal.guards"


class TimedRequest(Request):
    """Flask's request, stamped with ``time.perf_counter()`` when it is built."""

    def __init__(self, *args, **kwargs) -> None:
        self.arrived = time.perf_counter()
        super().__init__(*args, **kwargs)


def init_app(app: Flask, registry: PluginRegistry) -> None:
    """Register the core's hooks in the order above; collect and sort the guards once."""
    app.request_class = TimedRequest
    guards = tuple(guard for guard in registry.guards() if guard.when is None or guard.when(app))
    app.extensions[GUARDS] = guards
    app.before_request(input_limits.not_found_unless_another_method_matches)
    if guards:
        app.before_request(run_guards)
    csrf.init_app(app)
    app.before_request(auth_service.enforce_idle_timeout)
    app.before_request(access.enforce_access)


def guards(app: Flask) -> tuple[RequestGuard, ...]:
    """The guards ``app`` runs, in the order it runs them (``flask plugins list`` shows them)."""
    return app.extensions[GUARDS]


def run_guards() -> ResponseReturnValue | None:
    """Run each guard until one answers; static files are exempt from every guard (a URL that
    matches no route is not: scanners probe those)."""
    # _get_current_object(): an attribute read through a proxy costs five times as much
    if access.is_static(request._get_current_object().endpoint):
        return None
    for guard in current_app._get_current_object().extensions[GUARDS]:
        response = guard.func()
        if response is not None:
            return response
    return None
