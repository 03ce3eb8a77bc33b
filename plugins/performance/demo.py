"""Demo data for ``flask demo seed``: a day of synthetic traffic, once."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from app.extensions import db
from plugins.performance.models import rollup_table
from plugins.performance.state import state
from plugins.performance.synthetic import write_synthetic

DEMO_REQUESTS = 5_000


def demo_seed(users) -> list[str]:
    """Add a day of synthetic requests unless roll-ups already exist."""
    if db.session.scalar(select(func.count()).select_from(rollup_table)):
        return ["performance: recorded traffic present; no demo traffic added"]
    db.session.close()
    now = time.time()
    config = state().config
    with db.engine.begin() as conn:
        written = write_synthetic(
            conn, now - 86400, now, DEMO_REQUESTS, config.apdex_t_ms, config.slow_request_ms
        )
    return [f"performance: {written} synthetic requests over the last 24 hours (user agent 'synthetic')"]
