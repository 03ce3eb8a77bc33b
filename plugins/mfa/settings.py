"""The mfa plugin's configuration variables, each with a parser that names what is wrong."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from limits import parse_many

from app.config import Setting, as_int, as_list
from app.models import Role


def as_issuer(value: Any) -> str:
    text = str(value).strip()
    if not text:
        raise ValueError("must not be empty")
    if len(text) > 100:
        raise ValueError("must be at most 100 characters")
    if ":" in text:  # the otpauth label separates issuer and account with a colon
        raise ValueError("must not contain ':'")
    return text


def as_fernet_keys(value: Any) -> tuple[str, ...]:
    keys = as_list(value)
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ValueError(
                f"key {position} is not a Fernet key (32 url-safe base64-encoded bytes; "
                "make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')"
            ) from None
    return keys


def as_roles(value: Any) -> tuple[str, ...]:
    roles = as_list(value)
    known = {role.value for role in Role}
    unknown = [role for role in roles if role not in known]
    if unknown:
        raise ValueError(f"unknown role(s) {', '.join(unknown)}; expected {', '.join(sorted(known))}")
    return roles


def as_rate_limit(value: Any) -> str:
    text = str(value).strip()
    try:
        if not parse_many(text):
            raise ValueError
    except ValueError:
        raise ValueError(f"expected a rate limit such as '5 per 5 minutes', got {value!r}") from None
    return text


SETTINGS: tuple[Setting, ...] = (
    Setting("MFA_ISSUER", "El-Mag Insurance Portal", as_issuer, "issuer shown in authenticator apps"),
    Setting(
        "MFA_ENCRYPTION_KEYS",
        "",
        as_fernet_keys,
        "comma-separated Fernet keys, newest first; derived from SECRET_KEY when empty",
    ),
    Setting("MFA_REQUIRED_ROLES", "admin", as_roles, "roles that must enrol before any other page"),
    Setting("MFA_PENDING_TTL_SECONDS", 300, as_int(30, 3600), "how long the second sign-in step waits"),
    Setting("MFA_RATE_LIMIT", "5 per 5 minutes", as_rate_limit, "wrong codes allowed per user"),
    Setting("MFA_IP_RATE_LIMIT", "30 per 5 minutes", as_rate_limit, "wrong codes allowed per IP address"),
    Setting("MFA_LOCKOUT_THRESHOLD", 5, as_int(1, 100), "wrong codes in a row before a lockout"),
    Setting("MFA_LOCKOUT_SECONDS", 60, as_int(1, 86400), "first lockout; doubles with each further failure"),
    Setting("MFA_LOCKOUT_MAX_SECONDS", 3600, as_int(1, 7 * 86400), "longest lockout"),
)
