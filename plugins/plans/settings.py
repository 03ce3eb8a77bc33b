"""The plugin's settings, each validated at start-up (a bad value stops it, naming the variable)."""

from __future__ import annotations

from app.config import Setting, as_int
from plugins.plans.forms import MAX_PER_PAGE

SETTINGS: tuple[Setting, ...] = (
    Setting("PLANS_PAGE_SIZE", 20, as_int(1, MAX_PER_PAGE), "Plans per page when per_page is not given"),
)
