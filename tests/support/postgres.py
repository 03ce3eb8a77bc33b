"""Private PostgreSQL databases for tests: created on the TEST_POSTGRES_URL server, dropped after.

Tests that need a schema of their own (migrations from empty, a drop_all) must not share a
database name with anything else, and a fresh machine has no database but the one in the URL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextmanager
def private_database(server_url: str | None, prefix: str) -> Iterator[str]:
    """Yield the URL of a new, empty database named ``prefix_<random>``; drop it afterwards."""
    if not server_url:
        pytest.skip("needs PostgreSQL: set TEST_POSTGRES_URL")
    base = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
