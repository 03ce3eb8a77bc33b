"""The admin shell: overview, scheduled jobs and users. Every view here is admin-only."""

from __future__ import annotations

from app.admin import views  # noqa: F401  (registers the routes on bp)
from app.admin.blueprint import bp

__all__ = ["bp"]
