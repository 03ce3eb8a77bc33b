"""Secrets at rest: MultiFernet keys, the derived key and its production warning, key rotation;
settings validation; the migration."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet, InvalidToken
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, text

from app import create_app
from app.config import ConfigError
from app.extensions import db
from app.models import User
from plugins.mfa import service
from plugins.mfa.crypto import derive_key
from tests.conftest import in_production, startup_warnings
from tests.mfa.conftest import code_at

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def raw_ciphertext() -> str:
    return db.session.execute(text("SELECT secret_ciphertext FROM auth_mfa_secrets")).scalar_one()


def enrol_user(app, username: str = "alice") -> str:
    with app.app_context():
        user = db.session.get(User, db.session.scalar(db.select(User.id).where(User.username == username)))
        secret = service.start_enrolment(user)
        import time

        assert service.confirm_enrolment(user, code_at(secret, time.time()))
        return secret


@pytest.mark.plugins("mfa")
@pytest.mark.config(MFA_ENCRYPTION_KEYS=OLD_KEY)
def test_rotate_keys_re_encrypts_under_the_newest_key(app, runner, make_user, tmp_path):
    make_user("alice")
    secret = enrol_user(app)
    with app.app_context():
        before = raw_ciphertext()
    assert Fernet(OLD_KEY).decrypt(before.encode()).decode() == secret
    # Deploy with the new key first and the old one still listed, then rotate.
    rotated_app = create_app({**app.config, "MFA_ENCRYPTION_KEYS": f"{NEW_KEY},{OLD_KEY}"})
    result = rotated_app.test_cli_runner().invoke(args=["mfa", "rotate-keys"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 1 MFA secret(s)" in result.output
    with rotated_app.app_context():
        after = raw_ciphertext()
    assert after != before
    assert Fernet(NEW_KEY).decrypt(after.encode()).decode() == secret
    with pytest.raises(InvalidToken):
        Fernet(OLD_KEY).decrypt(after.encode())
    # The old key can now be dropped: an app with only the new key still checks codes.
    new_only = create_app({**app.config, "MFA_ENCRYPTION_KEYS": NEW_KEY})
    with new_only.app_context():
        status = service.status(db.session.get(User, 1))
    assert status["enabled"]


@pytest.mark.plugins("mfa")
@pytest.mark.config(MFA_ENCRYPTION_KEYS=OLD_KEY)
def test_rotate_keys_reports_secrets_no_key_can_read(app, make_user):
    make_user("alice")
    enrol_user(app)
    other = create_app({**app.config, "MFA_ENCRYPTION_KEYS": NEW_KEY})
    result = other.test_cli_runner().invoke(args=["mfa", "rotate-keys"])
    assert result.exit_code == 1
    assert "1 secret(s) could not be decrypted" in result.output


@pytest.mark.plugins("mfa")
def test_without_keys_the_key_is_derived_from_secret_key(app, make_user):
    make_user("alice")
    secret = enrol_user(app)
    with app.app_context():
        token = raw_ciphertext()
    assert Fernet(derive_key(app.config["SECRET_KEY"])).decrypt(token.encode()).decode() == secret


@pytest.mark.plugins("mfa")
def test_derived_key_warns_in_production_only(app, caplog):
    logger, production = "plugins.mfa.crypto", in_production(app.config)
    assert any("MFA_ENCRYPTION_KEYS is not set" in m for m in startup_warnings(caplog, logger, production))
    assert not startup_warnings(
        caplog, logger, {**production, "MFA_ENCRYPTION_KEYS": NEW_KEY}, {**app.config}
    )


@pytest.mark.plugins("mfa")
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MFA_ENCRYPTION_KEYS", "not-a-key"),
        ("MFA_REQUIRED_ROLES", "admin,superuser"),
        ("MFA_PENDING_TTL_SECONDS", "soon"),
        ("MFA_RATE_LIMIT", "lots"),
        ("MFA_ISSUER", "Bad:Issuer"),
        ("MFA_LOCKOUT_THRESHOLD", "0"),
    ],
)
def test_bad_settings_stop_start_up_naming_the_variable(app, name, value):
    with pytest.raises(ConfigError, match=name):
        create_app({**app.config, name: value})


@pytest.mark.plugins("mfa")
def test_cli_reset_removes_mfa(app, make_user):
    make_user("alice")
    enrol_user(app)
    result = app.test_cli_runner().invoke(args=["mfa", "reset", "alice"])
    assert result.exit_code == 0 and "was reset" in result.output
    with app.app_context():
        assert not service.is_enabled(1)
    assert app.test_cli_runner().invoke(args=["mfa", "reset", "nobody"]).exit_code != 0


@pytest.mark.plugins("mfa")
def test_migration_creates_the_mfa_tables(tmp_path):
    from flask_migrate import downgrade, upgrade

    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    migrated = create_app(
        {
            "PORTAL_ENV": "testing",
            "SECRET_KEY": "x" * 40,
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "PORTAL_PLUGINS": "mfa",
            "SCHEDULER_ENABLED": False,
        }
    )
    with migrated.app_context():
        upgrade(revision="0002_mfa")
        inspector = inspect(db.engine)
        assert {"auth_mfa_secrets", "auth_mfa_backup_codes"} <= set(inspector.get_table_names())
        columns = {column["name"] for column in inspector.get_columns("auth_mfa_secrets")}
        assert {"secret_ciphertext", "is_enabled", "last_used_step", "locked_until"} <= columns
        indexes = {index["name"] for index in inspector.get_indexes("auth_mfa_secrets")}
        assert "ix_auth_mfa_secrets_user_id" in indexes
        downgrade(revision="0001_core")
        assert "auth_mfa_secrets" not in inspect(db.engine).get_table_names()
        db.engine.dispose()


@settings(max_examples=200, deadline=None)
@given(value=st.one_of(st.text(max_size=80), st.integers(), st.none()))
def test_setting_parsers_accept_or_raise_value_error_only(value):
    from plugins.mfa.settings import SETTINGS

    for setting in SETTINGS:
        try:
            setting.parse(value)
        except ValueError:
            pass  # the loader turns this into a ConfigError naming the variable


@pytest.mark.plugins("mfa")
def test_secrets_of_the_earlier_derivation_stay_readable_and_rotate(app, runner, make_user):
    """Before app.keys, the default key was HKDF with the plugin's own salt: such ciphertexts
    still decrypt, and rotate-keys moves them under the per-purpose key."""
    from plugins.mfa.crypto import legacy_key

    make_user("alice")
    secret = enrol_user(app)
    old = Fernet(legacy_key(app.config["SECRET_KEY"])).encrypt(secret.encode()).decode()
    with app.app_context():
        db.session.execute(text("UPDATE auth_mfa_secrets SET secret_ciphertext = :c"), {"c": old})
        db.session.commit()
        assert service.status(db.session.get(User, 1))["enabled"]
    assert runner.invoke(args=["mfa", "rotate-keys"]).exit_code == 0
    with app.app_context():
        rotated = raw_ciphertext()
    assert Fernet(derive_key(app.config["SECRET_KEY"])).decrypt(rotated.encode()).decode() == secret
    assert legacy_key(app.config["SECRET_KEY"]) != derive_key(app.config["SECRET_KEY"])


@pytest.mark.plugins("mfa")
def test_a_rotated_secret_key_still_reads_secrets_through_its_fallback(app, make_user):
    make_user("alice")
    secret = enrol_user(app)
    rotated = create_app(
        {**app.config, "SECRET_KEY": "n" * 40, "SECRET_KEY_FALLBACKS": app.config["SECRET_KEY"]}
    )
    result = rotated.test_cli_runner().invoke(args=["mfa", "rotate-keys"])
    assert result.exit_code == 0 and "Re-encrypted 1" in result.output
    with rotated.app_context():
        assert Fernet(derive_key("n" * 40)).decrypt(raw_ciphertext().encode()).decode() == secret
