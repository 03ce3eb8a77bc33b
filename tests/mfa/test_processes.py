"""The replay guard across processes: gunicorn workers share only the database."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pyotp
import pytest
import requests
from cryptography.fernet import Fernet

from plugins.mfa.crypto import derive_key
from tests.conftest import PASSWORD, csrf_from
from tests.support.servers import gunicorn

pytestmark = [pytest.mark.slow, pytest.mark.plugins("mfa")]


def password_step(base: str) -> tuple[requests.Session, str]:
    session = requests.Session()
    token = csrf_from(session.get(base + "/auth/login", timeout=10).text)
    response = session.post(
        base + "/auth/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    assert response.headers["Location"] == "/mfa/verify"
    return session, token


def test_same_code_sent_to_two_workers_at_once_passes_only_once(app, enrol, tmp_path):
    user = enrol("alice")
    key = Fernet.generate_key().decode()
    env = {
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "PORTAL_PLUGINS": "mfa",
        "SCHEDULER_ENABLED": "false",
        "PORTAL_INSTANCE_PATH": str(tmp_path / "gunicorn-instance"),
        # The secret was encrypted under the key derived from SECRET_KEY; a new key listed first
        # with the old one second is the state between a key change and `flask mfa rotate-keys`.
        "MFA_ENCRYPTION_KEYS": f"{key},{derive_key(app.config['SECRET_KEY']).decode()}",
    }
    with gunicorn(env, workers=2, threads=2) as base:
        sessions = [password_step(base) for _ in range(4)]
        code = pyotp.TOTP(user.secret).at(time.time())

        def submit(pair):
            session, token = pair
            return session.post(
                base + "/mfa/verify",
                data={"code": code, "csrf_token": token},
                allow_redirects=False,
                timeout=20,
            ).status_code

        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = sorted(pool.map(submit, sessions))
    assert statuses == [302, 401, 401, 401]
