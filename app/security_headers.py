"""Security headers on every response; the session cookie signed with its own derived key and
marked Secure over HTTPS."""

from __future__ import annotations

import time

from flask import Flask, Response, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.access import is_static
from app.keys import derived_keys

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",  # no inline script anywhere: every script is a file under /static
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
STATIC_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"
# Session cookies whose signature this process has checked: a browser sends the same cookie
# until the session changes, and checking it again (HMAC, base64, zlib, JSON) gives the same
# answer. Bounded; emptied when full.
VERIFIED_COOKIES_KEPT = 4096
# Values a remembered session may hold: immutable ones, and lists of them (each request gets a
# copy of each list), so that a request changing its session never changes the remembered one.
# A session holding anything else (a dict, a list of flashed messages) is checked every time.
IMMUTABLE_VALUES = (str, int, float, bool, type(None))


def _rememberable(data) -> bool:
    return isinstance(data, dict) and all(
        isinstance(value, IMMUTABLE_VALUES)
        or (isinstance(value, (list, tuple)) and all(isinstance(item, IMMUTABLE_VALUES) for item in value))
        for value in data.values()
    )


def _copy(data: dict) -> dict:
    return {key: list(value) if type(value) is list else value for key, value in data.items()}


# Answers that may carry personal data: pages, API bodies, exports.
NO_STORE_TYPES = frozenset({"text/html", "application/json", "text/csv", "text/plain"})


# (name, lower-cased name, value), built once: the headers a response gets unless it set its own.
STATIC_HEADER_ITEMS = tuple((name, name.lower(), value) for name, value in STATIC_HEADERS.items())


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    # One pass over the response's headers instead of a scan per header (setdefault each).
    present = {key.lower() for key in headers.keys()}
    headers.extend([(name, value) for name, lower, value in STATIC_HEADER_ITEMS if lower not in present])
    if request.is_secure and "strict-transport-security" not in present:
        headers["Strict-Transport-Security"] = HSTS
    if _personal(response) and ("cache-control" not in present or _signed_in()):
        # Signed-in answers hold personal data: keep them out of shared and back-button caches
        # (ASVS 8.2.1); a signed-in answer gets no-store even if a view chose otherwise.
        headers["Cache-Control"] = "no-store"
    return response


def _personal(response: Response) -> bool:
    if is_static(request.endpoint):
        return False  # files under /static are the same for everyone and keep their caching
    mimetype = response.mimetype or ""
    return mimetype in NO_STORE_TYPES or mimetype.endswith("+json") or _signed_in()


def _signed_in() -> bool:
    # The session's user id, not current_user: no user is loaded just to set a header.
    return session.get("_user_id") is not None


class PortalSessionInterface(SecureCookieSessionInterface):
    """Sign with the key derived for sessions (never SECRET_KEY itself), accept the keys of
    SECRET_KEY_FALLBACKS, and mark the cookie Secure whenever the request came over HTTPS."""

    def __init__(self) -> None:
        self._serializers: dict[tuple, URLSafeTimedSerializer] = {}
        # serializer -> {cookie value: (signed at, its data)}; a new key set has a new serializer
        self._verified: dict[int, dict[str, tuple[int, dict]]] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        # itsdangerous signs with the last key and accepts every one.
        keys = tuple(reversed(derived_keys(app, "session")))
        # Built once per key set, not twice per request (open and save): the serializer holds
        # no request state, and a rotated key set builds a new one.
        cached = self._serializers.get(keys)
        if cached is None:
            if len(self._serializers) >= 8:  # keys changed in this process: drop the old sets
                self._serializers.clear()
                self._verified.clear()
            cached = self._serializers[keys] = URLSafeTimedSerializer(
                list(keys),
                salt=self.salt,
                serializer=self.serializer,
                signer_kwargs={"key_derivation": self.key_derivation, "digest_method": self.digest_method},
            )
        return cached

    def open_session(self, app: Flask, request) -> SecureCookieSession | None:
        """Flask's open_session, with each cookie's signature checked once per process: a cookie
        seen before is the same bytes under the same keys, so only its age is checked again
        (itsdangerous's rule: older than the lifetime, or signed in the future, is refused)."""
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        verified = self._verified.setdefault(id(serializer), {})
        known = verified.get(value)
        if known is None:
            try:
                data, signed_at = serializer.loads(value, max_age=max_age, return_timestamp=True)
            except BadSignature:
                return self.session_class()
            known = (int(signed_at.timestamp()), data)
            if _rememberable(data):
                if len(verified) >= VERIFIED_COOKIES_KEPT:
                    verified.clear()
                verified[value] = known
        else:
            age = int(time.time()) - known[0]
            if age > max_age or age < 0:
                verified.pop(value, None)
                return self.session_class()
        return self.session_class(_copy(known[1]))

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


def init_app(app: Flask) -> None:
    app.session_interface = PortalSessionInterface()
    app.after_request(add_security_headers)
