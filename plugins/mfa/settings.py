"""The mfa plugin's configuration variables, each with a parser that names what is wrong."""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from limits import parse_many

from app.config import ConfigError, Setting, as_int, as_list
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


# A DNS name: labels of letters, digits and inner hyphens (no quantifier can match the same text
# twice, so the match is linear in the length, which is bounded first).
HOST_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")


def _is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


def as_rp_id(value: Any) -> str:
    """A WebAuthn relying party id: a domain name (browsers refuse an IP address); empty: the
    request's host."""
    text = str(value or "").strip().lower()
    if not text:
        return ""
    if _is_ip_address(text):
        raise ValueError("browsers refuse an IP address as RP ID: use a name such as localhost")
    if len(text) > 253 or not HOST_NAME.fullmatch(text):
        raise ValueError(
            f"expected a domain name such as portal.example.com (no scheme or port), got {value!r}"
        )
    return text


def as_origins(value: Any) -> tuple[str, ...]:
    """WebAuthn origins: scheme://host[:port] each, http or https, no path."""
    origins = []
    for item in as_list(value):
        parts = urlsplit(item)
        try:
            port = parts.port
        except ValueError:
            port = None
            parts = parts._replace(netloc="")
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
            raise ValueError(f"expected origins such as https://portal.example.com, got {item!r}")
        if parts.query or parts.fragment or parts.username:
            raise ValueError(f"an origin has no path, query or user: {item!r}")
        origins.append(f"{parts.scheme}://{parts.hostname}" + (f":{port}" if port else ""))
    return tuple(origins)


def check_relying_party(rp_id: str, origins: tuple[str, ...]) -> None:
    """Refuse origins outside the RP ID's domain: no ceremony from them could ever pass."""
    if not rp_id:
        return
    for origin in origins:
        host = urlsplit(origin).hostname or ""
        if host != rp_id and not host.endswith("." + rp_id):
            raise ConfigError(
                f"WEBAUTHN_ORIGINS: {origin} is not on {rp_id} (WEBAUTHN_RP_ID) or a subdomain of it"
            )


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
    Setting(
        "WEBAUTHN_RP_ID",
        "",
        as_rp_id,
        "passkeys' relying party id (a domain name, never an IP address); empty: the request's host",
    ),
    Setting(
        "WEBAUTHN_ORIGINS",
        "",
        as_origins,
        "comma-separated origins passkey ceremonies may come from; empty: the request's own origin",
    ),
)
