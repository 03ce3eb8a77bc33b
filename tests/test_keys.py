"""No key from the source signs anything: the generated instance secret, per-purpose keys, a
forged session cookie against a portal started without environment, rotation."""

from __future__ import annotations

import ast
import re
import stat
import time
from pathlib import Path

import pytest
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

from app import create_app
from app.config import SECRET_KEY_FILE
from app.extensions import db
from app.keys import PURPOSES, derive, derived_key, instance_secret
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[1]
# What an attacker knows: the development key the first releases printed in app/config.py.
PUBLISHED_KEY = "dev-only-insecure-secret-key-change-me"  # noqa: S105 (the attacker's copy)


def bare_portal(monkeypatch, instance: Path):
    """A portal started as ``gunicorn wsgi:app`` would be with no environment but its folder."""
    for name in ("PORTAL_ENV", "SECRET_KEY", "SECRET_KEY_FALLBACKS", "DATABASE_URL", "PORTAL_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("PORTAL_DOTENV", str(instance / "no.env"))
    monkeypatch.setenv("PORTAL_PLUGINS", "mfa")  # the plugin whose pending state is forged
    return create_app()


def sign_session(key: str | bytes, payload: dict) -> str:
    interface = SecureCookieSessionInterface()
    serializer = URLSafeTimedSerializer(
        key,
        salt=interface.salt,
        serializer=interface.serializer,
        signer_kwargs={"key_derivation": interface.key_derivation, "digest_method": interface.digest_method},
    )
    return serializer.dumps(payload)


def test_development_generates_the_secret_into_the_instance_folder(monkeypatch, tmp_path):
    first = bare_portal(monkeypatch, tmp_path / "one")
    secret_file = tmp_path / "one" / SECRET_KEY_FILE
    assert first.config["PORTAL_ENV"] == "development"
    assert secret_file.read_text().strip() == first.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 32
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert bare_portal(monkeypatch, tmp_path / "one").config["SECRET_KEY"] == first.config["SECRET_KEY"]
    other = bare_portal(monkeypatch, tmp_path / "two")
    assert other.config["SECRET_KEY"] != first.config["SECRET_KEY"]


def test_a_cookie_forged_with_the_published_key_is_refused(monkeypatch, tmp_path):
    from app.auth.passwords import hash_password
    from app.models import User

    portal = bare_portal(monkeypatch, tmp_path / "instance")
    with portal.app_context():
        db.create_all()
        user = User(username="alice", password_hash=hash_password(PASSWORD), role="client")
        db.session.add(user)
        db.session.commit()
        db.session.refresh(user)
        db.session.expunge(user)
    pending = {"mfa_pending": {"uid": user.id, "ver": user.session_version, "at": int(time.time())}}
    name = portal.config["SESSION_COOKIE_NAME"]

    def verify_page(cookie: str):
        client = portal.test_client()
        client.set_cookie(name, cookie)
        return client.get("/mfa/verify")

    # Signed with the portal's own session key, this state is the second step (the control)...
    genuine = verify_page(sign_session(derived_key(portal, "session"), pending))
    assert genuine.status_code == 200 and 'name="code"' in genuine.get_data(as_text=True)
    # ...signed with the published key, or with SECRET_KEY itself, it is no session at all.
    for key in (PUBLISHED_KEY, portal.config["SECRET_KEY"]):
        forged = verify_page(sign_session(key, pending))
        assert forged.status_code == 302 and forged.headers["Location"].endswith("/auth/login")
    with portal.app_context():
        assert db.session.get(User, user.id).last_login_at is None


def test_even_the_published_key_as_secret_key_signs_no_session(tmp_path, make_user):
    """An operator who copied the old value into SECRET_KEY: cookies signed with it directly
    still fail, since sessions are signed with a key derived from it."""
    portal = create_app(
        {
            "PORTAL_ENV": "testing",
            "SECRET_KEY": PUBLISHED_KEY,
            "INSTANCE_PATH": str(tmp_path / "i"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
            "PORTAL_PLUGINS": "mfa",
        }
    )
    client = portal.test_client()
    client.set_cookie(portal.config["SESSION_COOKIE_NAME"], sign_session(PUBLISHED_KEY, {"_user_id": "1"}))
    assert client.get("/").status_code == 302


def test_purposes_get_distinct_keys():
    keys = {derive("one master secret", purpose) for purpose in PURPOSES}
    assert len(keys) == len(PURPOSES)
    assert derive("one master secret", "session") != derive("another master secret", "session")


def test_a_rotated_secret_key_keeps_sessions_through_the_fallbacks(app, auth, make_user):
    make_user("alice")
    auth.login()
    cookie = auth.client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    rotated = {**app.config, "SECRET_KEY": "n" * 40, "SECRET_KEY_FALLBACKS": app.config["SECRET_KEY"]}
    for config, status in ((rotated, 200), ({**rotated, "SECRET_KEY_FALLBACKS": ""}, 302)):
        client = create_app(config).test_client()
        client.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
        assert client.get("/").status_code == status


def test_concurrent_first_starts_share_one_secret(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        values = set(pool.map(lambda _: instance_secret(tmp_path, "k"), range(16)))
    assert len(values) == 1 and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_short_secret_file_stops_start_up(tmp_path):
    from app import ConfigError

    (tmp_path / SECRET_KEY_FILE).write_text("short\n")
    with pytest.raises(ConfigError, match="SECRET_KEY: .*at least 32"):
        create_app({"PORTAL_ENV": "development", "INSTANCE_PATH": str(tmp_path), "PORTAL_PLUGINS": ""})


SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|(^|_)KEY$")


def test_no_secret_constant_in_the_source():
    """No module assigns a string literal to a name that says it is a secret or key (names of
    session entries, which are identifiers, aside)."""
    found = []
    for path in [*ROOT.glob("app/**/*.py"), *ROOT.glob("plugins/**/*.py"), ROOT / "wsgi.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                value = node.value.value
                if isinstance(value, str) and len(value) >= 16 and not value.isidentifier():
                    names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                    found += [f"{path.name}:{n}" for n in names if SECRET_NAME.search(n)]
        assert PUBLISHED_KEY not in path.read_text(), path
    assert not found


def test_device_cookies_are_signed_with_their_own_key(app, make_user):
    """A device cookie signed with SECRET_KEY itself is not a device cookie; one signed with the
    derived device-cookie key is."""
    from app.auth import devices

    user = make_user("alice")
    payload = {"u": user.id, "d": "device-1", "b": None}
    with app.test_request_context():
        payload["b"] = devices._binding(user)
    forged = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=devices.SALT).dumps(payload)
    genuine = URLSafeTimedSerializer(derived_key(app, "device-cookie"), salt=devices.SALT).dumps(payload)
    for cookie, expected in ((forged, None), (genuine, "device-1")):
        headers = {"Cookie": f"{devices.COOKIE_NAME}={cookie}"}
        with app.test_request_context(headers=headers):
            assert devices.device_of(user) == expected
