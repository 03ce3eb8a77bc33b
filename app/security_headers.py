"""Security headers on every response; the session cookie signed with its own derived key and
marked Secure over HTTPS."""

from __future__ import annotations

from flask import Flask, Response, request, session
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

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
# Answers that may carry personal data: pages, API bodies, exports.
NO_STORE_TYPES = frozenset({"text/html", "application/json", "text/csv", "text/plain"})


def add_security_headers(response: Response) -> Response:
    for name, value in STATIC_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if _personal(response) and ("Cache-Control" not in response.headers or _signed_in()):
        # Signed-in answers hold personal data: keep them out of shared and back-button caches
        # (ASVS 8.2.1); a signed-in answer gets no-store even if a view chose otherwise.
        response.headers["Cache-Control"] = "no-store"
    return response


def _personal(response: Response) -> bool:
    endpoint = request.endpoint or ""
    if endpoint == "static" or endpoint.endswith(".static"):
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
            cached = self._serializers[keys] = URLSafeTimedSerializer(
                list(keys),
                salt=self.salt,
                serializer=self.serializer,
                signer_kwargs={"key_derivation": self.key_derivation, "digest_method": self.digest_method},
            )
        return cached

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


def init_app(app: Flask) -> None:
    app.session_interface = PortalSessionInterface()
    app.after_request(add_security_headers)
