"""Fixtures for the plans plugin: a small known set of plans, a signed-in client, and one shared
portal per module for the read-only search tests (creating a portal and its tables per test
costs seconds; a search changes nothing)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.auth.passwords import hash_password
from app.extensions import db
from app.models import User
from plugins.plans.models import Plan
from tests.conftest import PASSWORD, AuthActions, portal

# code, carrier, type, state, county, premium, deductible, moop, stars
ROWS = (
    ("H0001-001", "Northwind Health", "HMO", "CA", "Los Angeles", "0", "0", "3400", "4.5"),
    ("H0002-001", "Northwind Health", "HMO", "CA", "Orange", "25.50", "250", "5900", "4"),
    ("R0003-001", "Blue Harbor Health", "PPO", "CA", "Los Angeles", "89.00", "500", "11300", "3.5"),
    ("S0004-001", "Summit 100% Care", "PDP", "CA", "Los Angeles", "12.10", "590", "2000", "3"),
    ("M0005-001", "Summit Senior Care", "Medigap", "CA", "Los Angeles", "162.75", "257", None, None),
    ("H0006-001", "Pioneer Medicare", "HMO", "NY", "Kings", "0", "0", "6700", "5"),
    ("R0007-001", "Pioneer Medicare", "PPO", "NM", "Doña Ana", "45.00", "0", "8000", "2.5"),
    ("M0008-001", "Blue Harbor Health", "Medigap", "NY", "Kings", "120.00", "257", "7060", None),
)


def plan_rows() -> list[dict]:
    keys = ("plan_code", "carrier", "plan_type", "state", "county")
    rows = []
    for code, carrier, kind, state, county, premium, deductible, moop, stars in ROWS:
        row = dict(zip(keys, (code, carrier, kind, state, county), strict=True))
        row.update(
            name=f"{carrier} {code}",
            monthly_premium=Decimal(premium),
            deductible=Decimal(deductible),
            max_out_of_pocket=Decimal(moop) if moop else None,
            star_rating=Decimal(stars) if stars else None,
            benefits=["Dental"] if kind in ("HMO", "PPO") else [],
        )
        rows.append(row)
    return rows


@pytest.fixture
def plans(app) -> dict[str, int]:
    """Insert the known plans; plan code -> id."""
    with app.app_context():
        objects = [Plan(**row) for row in plan_rows()]
        db.session.add_all(objects)
        db.session.commit()
        return {plan.plan_code: plan.id for plan in objects}


@pytest.fixture
def signed_in(make_user, auth):
    """A client called carol, signed in on ``client``."""
    user = make_user("carol")
    assert auth.login("carol").status_code == 302
    return user


@pytest.fixture(scope="module")
def shared_app(tmp_path_factory):
    """A portal with only the plans plugin, the known plans and a client called reader."""
    with portal(tmp_path_factory.mktemp("plans"), PORTAL_PLUGINS="plans") as app:
        with app.app_context():
            db.session.add_all(Plan(**row) for row in plan_rows())
            db.session.add(User(username="reader", password_hash=hash_password(PASSWORD), role="client"))
            db.session.commit()
        yield app


@pytest.fixture(scope="module")
def reader(shared_app):
    """A test client of ``shared_app`` signed in as the client reader."""
    client = shared_app.test_client()
    assert AuthActions(client).login("reader").status_code == 302
    return client
