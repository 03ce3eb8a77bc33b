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

from flask import Flask, current_app
from limits import RateLimitItemPerSecond

from app.extensions import limiter
from plugins.security.state import EXTENSION

log = logging.getLogger(__name__)
SCOPE = "security-reported"


def _allowed_by_storage(app: Flask, key: str, seconds: int, amount: int) -> bool:
    """Whether all processes together reported ``key`` fewer than ``amount`` times, counting this
    report (True when no storage answers: a storage failure never holds a report back)."""
    # "amount per N seconds": the limiter's strategy (its in-memory stand-in while the storage
    # is down) admits the first ``amount`` reporters only.
    counted = limiter.counting(app).hit(RateLimitItemPerSecond(amount, seconds), SCOPE, key)
    if counted is None:  # an unreachable storage must not stop the report
        log.warning("could not check whether %s was reported; reporting it", SCOPE)
        return True
    return counted[1]


def may_report(key: str, seconds: int, amount: int = 1) -> bool:
    """Whether ``key`` may be reported now: fewer than ``amount`` reports of it in ``seconds``.
    A True answer counts as one report. ``key`` must hold no secret: it reaches the storage."""
    app = current_app._get_current_object()
    memory = app.extensions[EXTENSION].reported
    if not memory.take(key, seconds, amount):
        return False  # this process knows: no round trip to the storage
    if _allowed_by_storage(app, key, seconds, amount):
        return True
    memory.exhaust(key, amount)
    return False
