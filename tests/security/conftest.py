"""Fixtures of the security plugin's tests: a private PostgreSQL database, event helpers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_URL


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database of our own on the TEST_POSTGRES_URL server, dropped after."""
    if not POSTGRES_URL:
        pytest.skip("needs PostgreSQL: set TEST_POSTGRES_URL")
    base = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")
    name = f"security_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def events(app, **filters):
    """Every stored security event (optionally filtered by column values), oldest first."""
    from app.extensions import db
    from plugins.security.models import SecurityEvent

    with app.app_context():
        query = db.select(SecurityEvent).filter_by(**filters).order_by(SecurityEvent.id)
        rows = db.session.scalars(query).all()
        return [row.to_dict() for row in rows]
