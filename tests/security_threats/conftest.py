"""Fixtures for the detection tests: the security plugin on, rate limiting off (the rules are
under test, not the limiter), helpers to emit events and read alerts."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from app.events import EventType, Severity
from app.extensions import db
from app.signals import emit_security_event
from tests.conftest import PASSWORD, csrf_from

BASE_CONFIG = {
    "RATE_LIMIT_ENABLED": False,
    "SECURITY_NOTIFY_MODE": "job",
    "SECURITY_BLOCK_CACHE_SECONDS": 0,
    "SECURITY_TRAFFIC_FLUSH_SECONDS": 0,
}


def pytest_collection_modifyitems(config, items):
    """Enable the security plugin with BASE_CONFIG in this folder; a test's own markers win."""
    for item in items:
        if item.path.parent.name != "security_threats":
            continue
        if item.get_closest_marker("plugins") is None:
            item.add_marker(pytest.mark.plugins("security"))
        item.add_marker(pytest.mark.config(**BASE_CONFIG))


def emit(
    app, kind: EventType, *, ip: str = "198.51.100.7", username: str | None = None, user=None, severity=None
):
    """Send one security_event as the core or the MFA plugin would."""
    metadata = {"username": username} if username is not None else {}
    with app.app_context():
        emit_security_event(
            kind, severity or Severity.MEDIUM, user=user, metadata=metadata, ip=ip, user_agent="pytest"
        )


def alerts(app, **where):
    from plugins.security.threats.models import SecurityAlert

    with app.app_context():
        query = db.select(SecurityAlert).order_by(SecurityAlert.id)
        for name, value in where.items():
            query = query.where(getattr(SecurityAlert, name) == value)
        rows = list(db.session.scalars(query))
        for row in rows:
            db.session.expunge(row)
        return rows


def events_of(app, kind: EventType) -> list:
    from plugins.security.models import SecurityEvent

    with app.app_context():
        rows = list(
            db.session.scalars(
                db.select(SecurityEvent)
                .where(SecurityEvent.event_type == kind.value)
                .order_by(SecurityEvent.id)
            )
        )
        for row in rows:
            db.session.expunge(row)
        return rows


def login(client, username: str, password: str = PASSWORD, ip: str = "127.0.0.1", agent: str | None = None):
    # The test client's own user agent unless told otherwise, so later requests match the sign-in.
    environ = {"REMOTE_ADDR": ip, "HTTP_USER_AGENT": agent or f"Werkzeug/{version('werkzeug')}"}
    token = csrf_from(client.get("/auth/login", environ_base=environ).get_data(as_text=True))
    return client.post(
        "/auth/login",
        data={"username": username, "password": password, "csrf_token": token},
        environ_base=environ,
    )


@pytest.fixture
def admin(app, make_user):
    """A test client signed in as the admin "root" from 127.0.0.1.

    Not pytest-flask's ``client``: that one keeps its last request's context pushed, which
    would leak the admin's ``g`` into the other clients of a test."""
    make_user("root", role="admin")
    client = app.test_client()
    response = login(client, "root")
    assert response.status_code == 302
    return client
