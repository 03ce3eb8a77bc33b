"""What the portal has already reported, so that a detection the request path would make again
on every request (a copied session cookie replayed by a script) is reported once per window.

The memory is server-side, never in the cookie: the client being reported chooses whether to
keep the cookie it is sent back. Each process keeps a bounded memory in front; when the rate
limits have a storage (Redis shared by every worker and host), the processes agree through it,
so a detection is reported once in all. A storage that fails leaves each process on its own
memory: a detection is then reported at most once per process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict

from flask import Flask, current_app
from limits import RateLimitItemPerSecond

log = logging.getLogger(__name__)
SCOPE = "security-reported"
MAX_KEYS = 10_000


class ReportedMemory:
    """Keys reported in this process and when (monotonic) each stops counting; oldest first."""

    def __init__(self, max_keys: int = MAX_KEYS) -> None:
        self.lock = threading.Lock()
        self.until: OrderedDict[str, float] = OrderedDict()
        self.max_keys = max_keys

    def known(self, key: str) -> bool:
        now = time.monotonic()
        with self.lock:
            until = self.until.get(key)
            if until is None:
                return False
            if until <= now:
                del self.until[key]
                return False
            return True

    def remember(self, key: str, seconds: float) -> None:
        with self.lock:
            self.until[key] = time.monotonic() + seconds
            self.until.move_to_end(key)
            while len(self.until) > self.max_keys:
                self.until.popitem(last=False)


def _memory(app: Flask) -> ReportedMemory:
    return app.extensions["security"].setdefault("reported", ReportedMemory())


def _first_in_storage(app: Flask, key: str, seconds: int) -> bool:
    """Whether no process has reported ``key`` in the last ``seconds`` (True without a storage)."""
    limiter = app.extensions["security"].get("limiter")
    if limiter is None:  # rate limiting is off: this process's memory is all there is
        return True
    try:
        # One hit of "1 per N seconds" succeeds for the first reporter only; the limiter's
        # strategy is its in-memory fallback while the storage is down.
        return limiter.limiter.hit(RateLimitItemPerSecond(1, seconds), SCOPE, key)
    except Exception:  # an unreachable storage must not stop the report
        log.warning("could not check whether %s was reported; reporting it", SCOPE, exc_info=True)
        return True


def first_report(key: str, seconds: int) -> bool:
    """Whether ``key`` is reported now for the first time in ``seconds``; remember that it was.

    ``key`` must hold no secret: it reaches the rate-limit storage."""
    app = current_app._get_current_object()
    memory = _memory(app)
    if memory.known(key):
        return False
    first = _first_in_storage(app, key, seconds)
    memory.remember(key, seconds)
    return first
