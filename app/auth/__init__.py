"""Sign-in, sign-out and password change (routes of SPEC section 13)."""

from __future__ import annotations

from app.auth import views  # noqa: F401  (registers the routes on bp)
from app.auth.blueprint import bp

__all__ = ["bp"]
