"""Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies").

Each successful sign-in (after the second factor, where there is one) gives the browser a
signed, HttpOnly cookie naming the user and a random device id. A browser that shows a valid one
for the account it signs in to is limited by its own failures only, so strangers' guesses, which
lock the account for every other browser, do not lock its owner out of her usual browser.

The cookie is bound to the user's password hash (a keyed digest of it, compared in constant
time): a password change voids every device cookie of the account, as it ends its sessions.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, after_this_request, current_app, request
from flask_login import user_logged_in
from itsdangerous import BadData, URLSafeTimedSerializer

from app.auth.service import keyed_digest
from app.keys import derived_keys
from app.models import User

COOKIE_NAME = "portal_device"
SALT = "portal.device-cookie"
MAX_COOKIE_LENGTH = 512  # ours are ~150 characters; anything longer is not worth verifying


def _serializer() -> URLSafeTimedSerializer:
    """Sign with the device-cookie key (HKDF from SECRET_KEY); accept the fallbacks' keys too."""
    app = current_app._get_current_object()
    # itsdangerous signs with the last key of the list and accepts any: the newest goes last.
    return URLSafeTimedSerializer(derived_keys(app, "device-cookie")[::-1], salt=SALT)


def _binding(user) -> str:
    """A keyed digest of what a password change changes (never the hash itself)."""
    return keyed_digest(f"device:{user.id}:{user.password_hash}", 32)


def max_age_seconds() -> int:
    return current_app.config["DEVICE_COOKIE_MAX_AGE_DAYS"] * 86_400


def remember_device(user: User) -> None:
    """Give this browser a fresh device cookie for ``user`` with the response being built."""
    value = _serializer().dumps({"u": user.id, "d": secrets.token_urlsafe(16), "b": _binding(user)})
    secure = request.is_secure or bool(current_app.config.get("SESSION_COOKIE_SECURE"))

    @after_this_request
    def set_cookie(response):
        response.set_cookie(
            COOKIE_NAME,
            value,
            max_age=max_age_seconds(),
            secure=secure,
            httponly=True,
            samesite="Lax",
        )
        return response


def device_of(user) -> str | None:
    """The device id of this request's device cookie if it is valid for ``user`` (a User, or a
    row with its id, password_hash and active), else None."""
    raw = request.cookies.get(COOKIE_NAME)
    if user is None or not user.active or not raw or len(raw) > MAX_COOKIE_LENGTH:
        return None
    try:
        data = _serializer().loads(raw, max_age=max_age_seconds())
    except BadData:
        return None
    if not isinstance(data, dict) or data.get("u") != user.id:
        return None
    device, binding = data.get("d"), data.get("b")
    if not isinstance(device, str) or not isinstance(binding, str) or not device:
        return None
    if not hmac.compare_digest(binding.encode(), _binding(user).encode()):
        return None  # the password changed since this cookie was given
    return device


def _signed_in(sender: Flask, user: User, **_) -> None:
    # Sent by flask-login for each sign-in (after the second factor, where there is one) and
    # when a password change re-issues the session: the new cookie is bound to the new hash.
    remember_device(user)


def init_app(app: Flask) -> None:
    user_logged_in.connect(_signed_in, sender=app)
