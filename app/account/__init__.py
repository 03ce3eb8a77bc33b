"""The account security centre (``/account/security``): sign-in methods, signed-in sessions and
recent security activity of the signed-in user, with sections that plugins add."""

from __future__ import annotations

from app.account import views  # noqa: F401  (registers the routes on bp)
from app.account.blueprint import bp

__all__ = ["bp"]
