"""A session whose IP or user agent changes after sign-in: checked before each request, its
detection submitted to the pipeline's report stage (then alert and respond). The sign-in rules
themselves, detectors of the pipeline's detect stage, are in ``signin_rules``."""

from __future__ import annotations

import hashlib

from flask import current_app, flash, redirect, request, session, url_for
from flask_login import current_user

from app.auth.service import sign_out
from app.auth.sessions import SESSION_KEY
from plugins.security.reported import may_report
from plugins.security.threats import pipeline
from plugins.security.threats.detection import Detection
from plugins.security.threats.signin_rules import FINGERPRINT_KEY, fingerprint

MOVES_REPORTED_PER_SESSION = 5


def check_session_change():
    """before_request: flag (or end) a session whose IP or user agent changed since sign-in.

    Each move is reported once per session and new fingerprint, remembered on the server: a
    script replaying a copied cookie drops the updated one the portal sends back, and would
    otherwise be reported (an audit row and an alert update) on every request."""
    action = current_app._get_current_object().config["SECURITY_SESSION_CHANGE_ACTION"]
    signed = session._get_current_object()  # checked on every request: one proxy lookup each
    before = signed.get(FINGERPRINT_KEY)
    if action == "off" or before is None:
        return None
    now = fingerprint()
    if before == now:  # the common case, decided before the dearer lookups below
        return None
    user = current_user._get_current_object()  # each use of the proxy asks flask-login again
    if request.endpoint in (None, "static") or not user.is_authenticated:
        return None
    which = _session_digest()
    seconds = current_app.config["SESSION_MAX_AGE_HOURS"] * 3600  # no session lives longer
    # Once per new fingerprint, and a few fingerprints per session: a script that sends a new
    # user agent with every request is reported, but does not write a row per request.
    if may_report(f"session_change:{which}:{now[0]}:{now[1]}", seconds) and may_report(
        f"session_change:{which}", seconds, amount=MOVES_REPORTED_PER_SESSION
    ):
        session[FINGERPRINT_KEY] = now
        changed = [
            name for name, old, new in zip(("ip", "user_agent"), before, now, strict=False) if old != new
        ]
        detection = Detection(
            "session_change",
            f"user:{user.id}",
            f"{' and '.join(changed)} changed during the session",
            user_id=user.id,
            metadata={
                "changed": ",".join(changed),
                "old_ip": before[0],
                "new_ip": now[0],
                "new_agent": now[1],
                "session": which,
                "action": action,
            },
        )
        pipeline.submit([detection])
    if action == "logout":
        sign_out("session moved to another address or browser")
        flash("Your session was ended because it moved to another address or browser.", "warning")
        return redirect(url_for("auth.login"))
    return None


def _session_digest() -> str:
    """A short name for the current session: a digest of its key, which itself is a secret."""
    key = session.get(SESSION_KEY)
    return hashlib.sha256(str(key).encode()).hexdigest()[:16] if key else f"user-{current_user.id}"
