"""flask-limiter limits on code attempts: wrong codes per user (shared by every MFA form) and
per client IP. Only failed attempts (status 401) are counted, so a user who types the right
code is never slowed down."""

from __future__ import annotations

import logging

from flask import current_app, request
from flask_login import current_user
from limits import parse_many

from app.extensions import limiter
from app.signals import request_rate_limited
from plugins.mfa.pending import pending_user_id

log = logging.getLogger(__name__)

USER_SCOPE = "mfa-codes-user"
IP_SCOPE = "mfa-codes-ip"
BREACH_MESSAGE = "Too many wrong codes. Wait a few minutes, then try again."


def _user_key_for(user_id: int) -> str:
    return f"mfa-user:{user_id}"


def user_key() -> str:
    """The pending user during sign-in, else the signed-in user, else the client IP."""
    user_id = pending_user_id()
    if user_id is None and current_user.is_authenticated:
        user_id = current_user.id
    return _user_key_for(user_id) if user_id is not None else ip_key()


def ip_key() -> str:
    return f"mfa-ip:{request.remote_addr or 'unknown'}"


def counts_as_failure(response) -> bool:
    return response.status_code == 401


def _announce(request_limit) -> None:
    request_rate_limited.send(
        current_app._get_current_object(),
        identifier=request_limit.key,
        endpoint=request.endpoint,
        limit=str(request_limit.limit),
    )


per_user = limiter.shared_limit(
    lambda: current_app.config["MFA_RATE_LIMIT"],
    USER_SCOPE,
    key_func=user_key,
    methods=["POST"],
    deduct_when=counts_as_failure,
    error_message=BREACH_MESSAGE,
    on_breach=_announce,
)
per_ip = limiter.shared_limit(
    lambda: current_app.config["MFA_IP_RATE_LIMIT"],
    IP_SCOPE,
    key_func=ip_key,
    methods=["POST"],
    deduct_when=counts_as_failure,
    error_message=BREACH_MESSAGE,
    on_breach=_announce,
)


def clear_user_limit(user_id: int) -> None:
    """Forget the user's counted wrong codes (an admin unlocked them)."""
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX", "")
    args = [prefix] if prefix else []
    for item in parse_many(current_app.config["MFA_RATE_LIMIT"]):
        try:
            limiter.limiter.clear(item, *args, _user_key_for(user_id), USER_SCOPE)
        except Exception:  # the DB lockout was cleared; a storage hiccup must not undo that
            log.exception("could not clear the MFA rate limit of user %s", user_id)
