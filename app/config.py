"""Configuration: defaults, sources (env, .env, instance/config.py) and validation.

Every setting is declared once as a ``Setting`` with a parser; a value that does not parse stops
start-up with a ``ConfigError`` that names the variable. Plugins declare their own settings the
same way (``Plugin.settings``) and the loader validates them with the same machinery.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from limits.strategies import STRATEGIES

from app.database import engine_options
from app.keys import KeyFileError, derive, instance_secret
from app.limit_storage import MEMORY_STORAGE_URI

ENVIRONMENTS = ("development", "testing", "production")
# Outside production, a SECRET_KEY that is not configured is generated into this instance file.
SECRET_KEY_FILE = "secret-key"  # noqa: S105 (a file name)
SESSION_COOKIE = "portal_session"


class ConfigError(RuntimeError):
    """A configuration value is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class Setting:
    """One configuration variable: its name, default and parser (raises ValueError when bad)."""

    name: str
    default: Any
    parse: Callable[[Any], Any]
    help: str = ""


# --- parsers ---------------------------------------------------------------------------------


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def as_int(minimum: int | None = None, maximum: int | None = None) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError(f"expected a whole number, got {value!r}")
        try:
            number = int(str(value).strip()) if not isinstance(value, int) else value
        except ValueError:
            raise ValueError(f"expected a whole number, got {value!r}") from None
        if minimum is not None and number < minimum:
            raise ValueError(f"must be at least {minimum}, got {number}")
        if maximum is not None and number > maximum:
            raise ValueError(f"must be at most {maximum}, got {number}")
        return number

    return parse


def as_float(minimum: float | None = None, maximum: float | None = None) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"expected a number, got {value!r}") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(f"expected a finite number, got {value!r}")
        if minimum is not None and number < minimum:
            raise ValueError(f"must be at least {minimum}, got {number}")
        if maximum is not None and number > maximum:
            raise ValueError(f"must be at most {maximum}, got {number}")
        return number

    return parse


def as_choice(*choices: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value).strip().lower()
        if text not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {value!r}")
        return text

    return parse


def as_str(value: Any) -> str:
    return "" if value is None else str(value)


def as_optional_str(value: Any) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def as_list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(item).strip() for item in value if str(item).strip())
    return tuple(part.strip() for part in str(value).split(",") if part.strip())


def rejected_url(text: str) -> str:
    """How a rejected URL begins, for its error message: its scheme at most, because the rest of
    a URL may hold a password."""
    scheme, colon, _ = text.partition(":")
    if (
        colon
        and 0 < len(scheme) <= 20
        and all(ch.isascii() and (ch.isalnum() or ch in "+.-") for ch in scheme)
    ):
        return f"one starting with {scheme + ':'!r}"
    return "one without a scheme"


def as_database_url(value: Any) -> str:
    text = str(value).strip()
    if not text.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:", "postgres:")):
        raise ValueError(f"expected a sqlite:// or postgresql:// URL, got {rejected_url(text)}")
    if text.startswith("postgres:"):  # the Heroku-style scheme SQLAlchemy no longer accepts
        text = "postgresql:" + text[len("postgres:") :]
    if text.startswith("postgresql:"):
        text = "postgresql+psycopg:" + text[len("postgresql:") :]
    return text


def as_redis_url(value: Any) -> str | None:
    text = as_optional_str(value)
    if text and not text.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"expected a redis://, rediss:// or unix:// URL, got {rejected_url(text)}")
    return text


def as_password_hash_method(value: Any) -> str:
    """A werkzeug hashing method of the scrypt or PBKDF2-SHA256 family, cost included."""
    text = str(value).strip()
    family, *cost = text.split(":")
    numbers_ok = all(part.isdigit() and int(part) > 0 for part in cost)
    if family == "scrypt" and len(cost) in (0, 3) and numbers_ok:
        return text
    if (
        family == "pbkdf2"
        and cost[:1] == ["sha256"]
        and len(cost) <= 2
        and all(part.isdigit() for part in cost[1:])
    ):
        return text
    raise ValueError(f"expected scrypt[:n:r:p] or pbkdf2:sha256[:iterations], got {value!r}")


# --- core settings ---------------------------------------------------------------------------

CORE_SETTINGS: tuple[Setting, ...] = (
    Setting("PORTAL_ENV", "development", as_choice(*ENVIRONMENTS), "development, testing or production"),
    Setting("SECRET_KEY", None, as_optional_str, "master secret; required in production, else generated"),
    Setting("SECRET_KEY_FALLBACKS", "", as_list, "earlier SECRET_KEYs still accepted (rotation)"),
    Setting("DATABASE_URL", None, as_optional_str, "SQLAlchemy URL; default SQLite in instance/"),
    Setting("REDIS_URL", None, as_redis_url, "when set: rate limits, cache and scheduler lock use it"),
    Setting(
        "PORTAL_PLUGINS",
        "mfa,security,performance,cache,plans",
        as_list,
        "ordered enable list of plugin names",
    ),
    Setting("PORTAL_SAFE_MODE", False, as_bool, "start with no plugin at all"),
    Setting("PORTAL_PLUGINS_STRICT", True, as_bool, "fail start-up when an enabled plugin fails"),
    Setting("SCHEDULER_ENABLED", True, as_bool, "run scheduled jobs in the embedded server"),
    Setting(
        "SCHEDULER_LOCK", "auto", as_choice("auto", "file", "postgres", "redis"), "how one runner is chosen"
    ),
    Setting("SESSION_IDLE_TIMEOUT_MINUTES", 30, as_int(1, 24 * 60), "sign out after this idle time"),
    Setting("SESSION_MAX_AGE_HOURS", 12, as_int(1, 24 * 30), "sign out this long after sign-in"),
    Setting(
        "SESSION_RECHECK_SECONDS",
        5,
        as_int(0, 3600),
        "trust a process's reading of a session this long without a change (0: read it every request)",
    ),
    Setting(
        "REAUTH_TIMEOUT_SECONDS", 300, as_int(30, 24 * 3600), "sensitive changes need a sign-in this recent"
    ),
    Setting(
        "DEVICE_COOKIE_MAX_AGE_DAYS", 365, as_int(1, 3650), "how long a browser that signed in stays known"
    ),
    Setting("PASSWORD_MIN_LENGTH", 12, as_int(8, 128), "minimum password length"),
    Setting("PASSWORD_BREACH_CHECK", True, as_bool, "refuse breached and common passwords (shipped list)"),
    Setting(
        "PASSWORD_HASH_METHOD",
        "scrypt",
        as_password_hash_method,
        "werkzeug method: scrypt[:n:r:p] or pbkdf2:sha256[:iterations]",
    ),
    # Mail for account notices (app.mail); the security plugin's alert mail falls back to it.
    Setting("MAIL_SMTP_HOST", None, as_optional_str, "SMTP server; unset: mail is written to the log"),
    Setting("MAIL_SMTP_PORT", 25, as_int(1, 65_535), "SMTP port"),
    Setting("MAIL_SMTP_USERNAME", None, as_optional_str, "SMTP user"),
    Setting("MAIL_SMTP_PASSWORD", None, as_optional_str, "SMTP password"),
    Setting("MAIL_SMTP_STARTTLS", False, as_bool, "upgrade the SMTP connection with STARTTLS"),
    Setting("MAIL_SMTP_TIMEOUT_SECONDS", 10.0, as_float(0.5, 120.0), "timeout of one SMTP delivery"),
    Setting("MAIL_FROM", "portal@localhost", as_str, "sender address of the portal's mail"),
    Setting("ACCOUNT_NOTICES_PER_HOUR", 5, as_int(0, 1000), "security notices a user gets an hour (0: none)"),
    Setting("TRUSTED_PROXY_COUNT", 0, as_int(0, 10), "proxies whose X-Forwarded-For is trusted"),
    Setting("LOG_LEVEL", "INFO", as_choice("debug", "info", "warning", "error"), "log level"),
    Setting("SERVE_THREADS", 8, as_int(1, 64), "request threads of flask serve; sizes the database pool"),
    Setting("MAX_CONTENT_LENGTH", 2 * 1024 * 1024, as_int(1024), "largest request body in bytes"),
)


def parse_settings(settings: Iterable[Setting], raw: Mapping[str, Any]) -> dict[str, Any]:
    """Parse each setting from ``raw`` (or its default); raise ConfigError naming a bad one."""
    values: dict[str, Any] = {}
    for setting in settings:
        if setting.name in raw and raw[setting.name] is not None:
            try:
                values[setting.name] = setting.parse(raw[setting.name])
            except ValueError as error:
                raise ConfigError(f"{setting.name}: {error}") from None
        else:
            default = setting.default
            values[setting.name] = default if default is None else setting.parse(default)
    return values


# Keys that reach app.config from the environment although no Setting declares them: the
# settings of Flask and of the extensions. The rest of the environment (PATH, HOME...) stays out.
PASSTHROUGH_PREFIXES = (
    "SQLALCHEMY_",
    "WTF_",
    "RATELIMIT_",
    "SESSION_",
    "REMEMBER_",
    "PERMANENT_SESSION",
    "SERVER_NAME",
    "PREFERRED_URL_SCHEME",
    "APPLICATION_ROOT",
)


def gather_raw_config(
    instance_path: str, test_config: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Merge the sources, lowest priority first: instance/config.py, .env, environment, test_config.

    Returns every value seen (for the settings to parse) and the explicit ones (instance file and
    test config) that are copied into app.config as they are.
    """
    raw: dict[str, Any] = {}
    explicit: dict[str, Any] = {}
    instance_file = Path(instance_path) / "config.py"
    if instance_file.is_file():
        namespace: dict[str, Any] = {"__file__": str(instance_file)}
        exec(compile(instance_file.read_text(), str(instance_file), "exec"), namespace)  # noqa: S102
        explicit.update({key: value for key, value in namespace.items() if key.isupper()})
        raw.update(explicit)
    if test_config is None:
        env_file = Path(os.environ.get("PORTAL_DOTENV", ".env"))
        if env_file.is_file():
            raw.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        raw.update({key: value for key, value in os.environ.items() if key.isupper()})
    else:
        explicit.update(test_config)
        raw.update(test_config)
    for key, value in raw.items():
        if key.startswith(PASSTHROUGH_PREFIXES):
            explicit.setdefault(key, value)
    return raw, explicit


def core_config(raw: Mapping[str, Any], explicit: Mapping[str, Any], instance_path: str) -> dict[str, Any]:
    """Validate the core settings and derive the Flask and extension settings from them."""
    config = parse_settings(CORE_SETTINGS, raw)
    env = config["PORTAL_ENV"]
    _master_secret(config, instance_path)
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = "sqlite:///" + str(Path(instance_path) / "portal.db")
    try:
        config["DATABASE_URL"] = as_database_url(config["DATABASE_URL"])
    except ValueError as error:
        raise ConfigError(f"DATABASE_URL: {error}") from None

    config.update(
        TESTING=env == "testing" or as_bool(raw.get("TESTING", False)),
        SQLALCHEMY_DATABASE_URI=config["DATABASE_URL"],
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(config["DATABASE_URL"], config["SERVE_THREADS"]),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=as_bool(raw.get("SESSION_COOKIE_SECURE", env == "production")),
        # __Host- (production): the browser keeps the cookie only when it is Secure, has Path=/
        # and no Domain, so neither a sibling subdomain nor a plain-HTTP page can plant one.
        SESSION_COOKIE_NAME=("__Host-" if env == "production" else "") + SESSION_COOKIE,
        SESSION_COOKIE_PATH="/",
        WTF_CSRF_SECRET_KEY=derive(config["SECRET_KEY"], "csrf"),
        REMEMBER_COOKIE_HTTPONLY=True,
        WTF_CSRF_ENABLED=as_bool(raw.get("WTF_CSRF_ENABLED", True)),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the signed-in session
        # Without Redis, limits' memory storage less its per-hit timer thread (app/limit_storage.py).
        RATELIMIT_STORAGE_URI=config["REDIS_URL"] or MEMORY_STORAGE_URI,
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_HEADERS_ENABLED=True,
        RATELIMIT_STRATEGY="moving-window",
    )
    if env == "production" and not config["WTF_CSRF_ENABLED"]:
        raise ConfigError("WTF_CSRF_ENABLED: must stay on in production (every form relies on it)")
    declared = {setting.name for setting in CORE_SETTINGS}
    # Parsed above (an explicit "false" must not stay a true string); the session cookie's name
    # and path follow from the environment (the __Host- rules).
    fixed = declared | {
        "SESSION_COOKIE_SECURE",
        "WTF_CSRF_ENABLED",
        "SESSION_COOKIE_NAME",
        "SESSION_COOKIE_PATH",
        "WTF_CSRF_SECRET_KEY",
    }
    config.update({key: value for key, value in explicit.items() if key not in fixed})
    if config["RATELIMIT_STRATEGY"] not in STRATEGIES:
        raise ConfigError(
            f"RATELIMIT_STRATEGY: must be one of {', '.join(sorted(STRATEGIES))}, "
            f"got {config['RATELIMIT_STRATEGY']!r}"
        )
    if env == "production":
        _check_host_cookie(config)
    return config


def _master_secret(config: dict[str, Any], instance_path: str) -> None:
    """Check the configured SECRET_KEY, or (outside production) read or generate the instance's."""
    if config["SECRET_KEY"]:
        if config["PORTAL_ENV"] == "production" and len(config["SECRET_KEY"]) < 32:
            raise ConfigError("SECRET_KEY: must be at least 32 characters in production")
        return
    if config["PORTAL_ENV"] == "production":
        # Generated per host, it would differ between the hosts of one deployment.
        raise ConfigError("SECRET_KEY: required in production; set it to a long random string")
    try:
        config["SECRET_KEY"] = instance_secret(instance_path, SECRET_KEY_FILE)
    except (KeyFileError, OSError) as error:
        raise ConfigError(f"SECRET_KEY: not set, and the instance secret cannot be used: {error}") from None


def _check_host_cookie(config: Mapping[str, Any]) -> None:
    if not config["SESSION_COOKIE_SECURE"]:
        raise ConfigError(
            "SESSION_COOKIE_SECURE: must stay true in production (the session cookie is __Host-)"
        )
    if config.get("SESSION_COOKIE_DOMAIN"):
        raise ConfigError(
            "SESSION_COOKIE_DOMAIN: must be unset in production (a __Host- cookie has no Domain)"
        )
