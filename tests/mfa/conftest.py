"""MFA test helpers: enrol a user directly through the service, compute codes, record events."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
import pytest

from app.extensions import db
from app.models import User, utcnow
from app.signals import security_event
from plugins.mfa import service

STEP = 30


def code_at(secret: str, at: float) -> str:
    return pyotp.TOTP(secret).at(at)


@dataclass
class Enrolled:
    user_id: int
    username: str
    secret: str
    backup_codes: list[str]

    def code(self, offset_steps: int = 0) -> str:
        """The code of the current step shifted by ``offset_steps`` (within the drift window)."""
        return code_at(self.secret, time.time() + offset_steps * STEP)


@pytest.fixture
def client(app):
    """A test client NOT used as a context manager: pytest-flask's ``client`` keeps its last
    request's app context pushed, so another client's next request would share its ``g`` (and
    flask-login's cached user). Tests here drive several sessions side by side."""
    return app.test_client()


@pytest.fixture
def enrol(app, make_user):
    """Create a user with MFA on, enrolled two steps ago (so current codes are not replays)."""

    def make(username: str = "alice", role: str = "client") -> Enrolled:
        user = make_user(username, role=role)
        with app.app_context():
            attached = db.session.get(User, user.id)
            past = utcnow().timestamp() - 2 * STEP
            secret = service.start_enrolment(attached)
            codes = service.confirm_enrolment(
                attached, code_at(secret, past), now=datetime.fromtimestamp(past, UTC)
            )
            assert codes is not None
        return Enrolled(user.id, username, secret, codes)

    return make


@pytest.fixture
def steady_step():
    """Start the test with at least 10 s left in the current 30 s step. Tests that use the codes of
    the previous, current and next steps in sequence (the replay guard wants them increasing)
    would otherwise fail when a step boundary passes between computing a code and sending it on
    a slow machine. Waits 10 s at most, 1.7 s on average."""
    left = STEP - time.time() % STEP
    if left < 10:
        time.sleep(left + 0.05)


@pytest.fixture
def events(app):
    """Every security event the app sends during the test, as (kind, kwargs) pairs."""
    seen: list[tuple[str, dict]] = []

    def receiver(sender, **kwargs):
        user = kwargs.get("user")
        # Read the name while the user is still attached to the request's session.
        kwargs["username"] = user.username if user is not None else None
        seen.append((str(kwargs["kind"]), kwargs))

    security_event.connect(receiver, sender=app)
    yield seen
    security_event.disconnect(receiver, sender=app)


def kinds(events) -> list[str]:
    return [kind for kind, _ in events]


class MfaFlow:
    """Drive the two sign-in steps through real requests."""

    def __init__(self, client, auth):
        self.client = client
        self.auth = auth

    def password_step(self, username: str = "alice", next_url: str | None = None):
        return self.auth.login(username, next_url=next_url)

    def submit_code(self, code: str):
        token = self.auth.csrf_token("/auth/login")  # one token per session; this page always has it
        return self.client.post("/mfa/verify", data={"code": code, "csrf_token": token})

    def signed_in(self) -> bool:
        return self.client.get("/").status_code == 200


@pytest.fixture
def flow(client, auth) -> MfaFlow:
    return MfaFlow(client, auth)
