"""Fixtures of the security plugin's tests: a private PostgreSQL database, event helpers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import POSTGRES_URL
from tests.support.postgres import private_database


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database of our own on the TEST_POSTGRES_URL server, dropped after."""
    with private_database(POSTGRES_URL, "security") as url:
        yield url


def events(app, **filters):
    """Every stored security event (optionally filtered by column values), oldest first."""
    from app.extensions import db
    from plugins.security.models import SecurityEvent

    with app.app_context():
        query = db.select(SecurityEvent).filter_by(**filters).order_by(SecurityEvent.id)
        rows = db.session.scalars(query).all()
        return [row.to_dict() for row in rows]
