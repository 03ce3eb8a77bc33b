"""The embedded mode's WSGI server: waitress, threaded, in this one process.

waitress is a production server in pure Python: a fixed pool of SERVE_THREADS worker threads
behind one event loop that reads whole requests before a thread sees them (a slow client holds
no thread). The database pool is sized from the same setting (``app.database.engine_options``),
so the threads cannot exhaust it.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from waitress.server import create_server

log = logging.getLogger(__name__)
BODY_SLACK_BYTES = 64 * 1024  # multipart framing around a body of MAX_CONTENT_LENGTH


def build_server(app: Flask, host: str, port: int):
    """A waitress server for ``app`` on host:port with the portal's thread count and limits."""
    return create_server(
        app,
        host=host,
        port=port,
        threads=app.config["SERVE_THREADS"],
        # waitress would buffer up to 1 GB to disk before Flask refuses a body over
        # MAX_CONTENT_LENGTH: refuse it (413) while reading instead.
        max_request_body_size=app.config["MAX_CONTENT_LENGTH"] + BODY_SLACK_BYTES,
        # With trusted proxies the portal's own ProxyFix reads X-Forwarded-*; without, waitress
        # drops them so nothing downstream can be fooled by a client's claim.
        clear_untrusted_proxy_headers=not app.config["TRUSTED_PROXY_COUNT"],
        ident="",  # no Server header naming the software
    )


def listening_urls(server) -> list[str]:
    """The http:// URLs ``server`` listens on: one per socket (a host name such as ``localhost``
    can resolve to an IPv4 and an IPv6 address, and waitress then listens on both)."""
    sockets = getattr(server, "effective_listen", None) or [(server.effective_host, server.effective_port)]
    return [f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/" for host, port in sockets]


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into the same orderly stop as Ctrl-C (SIGINT) while the server runs."""

    def stop(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def serve_until_stopped(server) -> None:
    """Run ``server`` until SIGINT or SIGTERM; let the running requests finish, then close."""
    with stop_on_sigterm():
        try:
            server.run()  # returns after a KeyboardInterrupt, its threads stopped
        except KeyboardInterrupt:  # arrived outside the loop: stop its threads here
            server.task_dispatcher.shutdown()
    server.close()
    log.info("embedded server stopped")
