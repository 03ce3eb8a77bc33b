"""Configuration: sources, validation naming the variable, production rules."""

import pytest

from app import ConfigError, create_app


def base(tmp_path, **extra):
    return {
        "PORTAL_ENV": "testing",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "PORTAL_PLUGINS": "",
        **extra,
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SESSION_IDLE_TIMEOUT_MINUTES", "soon"),
        ("SESSION_IDLE_TIMEOUT_MINUTES", "-5"),
        ("SCHEDULER_ENABLED", "perhaps"),
        ("SCHEDULER_LOCK", "zookeeper"),
        ("TRUSTED_PROXY_COUNT", "1.5"),
        ("DATABASE_URL", "mysql://x@y/z"),
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("PORTAL_ENV", "staging"),
        ("PASSWORD_MIN_LENGTH", "4"),
        ("PASSWORD_HASH_METHOD", "md5"),
        ("PASSWORD_HASH_METHOD", "scrypt:0:8:1"),
    ],
)
def test_bad_value_stops_startup_naming_the_variable(tmp_path, name, value):
    with pytest.raises(ConfigError) as error:
        create_app(base(tmp_path, **{name: value}))
    assert str(error.value).startswith(name + ":")


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("REDIS_URL", "rediss//:S3cretPw@cache.example:6380/0", "one without a scheme"),
        ("DATABASE_URL", "mysql://portal:S3cretPw@db.example/portal", "one starting with 'mysql:'"),
        ("DATABASE_URL", "postgresq1://portal:S3cretPw@db/portal", "one starting with 'postgresq1:'"),
    ],
)
def test_a_rejected_url_is_not_echoed(tmp_path, name, value, said):
    with pytest.raises(ConfigError) as error:
        create_app(base(tmp_path, **{name: value}))
    assert said in str(error.value) and "S3cretPw" not in str(error.value)


def test_production_refuses_to_start_without_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY: required in production"):
        create_app(base(tmp_path, PORTAL_ENV="production"))


def test_production_refuses_a_short_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY: must be at least 32"):
        create_app(base(tmp_path, PORTAL_ENV="production", SECRET_KEY="short"))


def test_production_refuses_to_switch_csrf_off(tmp_path):
    with pytest.raises(ConfigError, match="WTF_CSRF_ENABLED: must stay on in production"):
        create_app(base(tmp_path, PORTAL_ENV="production", SECRET_KEY="k" * 40, WTF_CSRF_ENABLED="false"))


def test_production_marks_cookies_secure(tmp_path):
    app = create_app(base(tmp_path, PORTAL_ENV="production", SECRET_KEY="x" * 40))
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_environment_dotenv_and_instance_file_in_priority_order(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text(
        "SESSION_IDLE_TIMEOUT_MINUTES = 11\nPASSWORD_MIN_LENGTH = 20\nTRUSTED_PROXY_COUNT = 1\n"
    )
    dotenv = tmp_path / ".env"
    dotenv.write_text("SESSION_IDLE_TIMEOUT_MINUTES=12\nPASSWORD_MIN_LENGTH=14\n")
    monkeypatch.setenv("PORTAL_DOTENV", str(dotenv))
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("PORTAL_ENV", "testing")
    monkeypatch.setenv("PORTAL_PLUGINS", "")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'e.db'}")
    monkeypatch.setenv("SESSION_IDLE_TIMEOUT_MINUTES", "13")
    app = create_app()
    assert app.config["SESSION_IDLE_TIMEOUT_MINUTES"] == 13  # environment beats .env
    assert app.config["PASSWORD_MIN_LENGTH"] == 14  # .env beats instance/config.py
    assert app.config["TRUSTED_PROXY_COUNT"] == 1  # instance/config.py beats the default
    assert "PATH" not in app.config  # the rest of the environment stays out


def test_defaults_are_safe_for_the_embedded_mode(tmp_path):
    app = create_app({"PORTAL_ENV": "development", "INSTANCE_PATH": str(tmp_path), "PORTAL_PLUGINS": ""})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'portal.db'}"
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory+swept://"  # memory, less its timer thread
    assert app.config["TRUSTED_PROXY_COUNT"] == 0
    assert app.config["PASSWORD_HASH_METHOD"] == "scrypt"  # werkzeug's full cost


def test_postgres_urls_use_psycopg3(tmp_path):
    app = create_app(base(tmp_path, DATABASE_URL="postgres://u@h/db"))
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"


def test_wsgi_reports_a_bad_setting_and_exits(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        env={"PORTAL_ENV": "production", "PORTAL_INSTANCE_PATH": str(tmp_path), "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        cwd=str(__import__("pathlib").Path(__file__).parents[1]),
    )
    assert result.returncode == 2
    assert "Configuration error: SECRET_KEY" in result.stderr
