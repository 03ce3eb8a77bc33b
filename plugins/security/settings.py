"""Configuration of the security plugin, one ``Setting`` per variable (a bad value names it):
the first part's below, then the threat part's (``threats/settings.py``), in ``SETTINGS``."""

from __future__ import annotations

from typing import Any

from limits import parse_many

from app.config import Setting, as_bool, as_choice, as_float, as_int, as_list, as_optional_str
from plugins.security.threats.settings import THREAT_SETTINGS

POLICY_NAMES = ("AUTH", "MFA", "API", "DEFAULT")


def as_limit(value: Any) -> str:
    """A flask-limiter rate limit string such as ``5 per 15 minutes`` (several joined by ';')."""
    text = str(value).strip()
    try:
        items = parse_many(text)
    except ValueError:
        items = []
    if not items:
        raise ValueError(f"expected a rate limit such as '5 per 15 minutes', got {value!r}")
    return text


def as_optional_limit(value: Any) -> str:
    """A rate limit, or empty for "as the related setting"."""
    return "" if value is None or not str(value).strip() else as_limit(value)


def as_endpoint_limits(value: Any) -> dict[str, str]:
    """``endpoint=limit`` pairs separated by '|'; the limit may be a policy name (AUTH, API...)."""
    if isinstance(value, dict):
        pairs = list(value.items())
    else:
        pairs = []
        for part in str(value or "").split("|"):
            if not part.strip():
                continue
            endpoint, sep, limit = part.partition("=")
            if not sep or not endpoint.strip():
                raise ValueError(f"expected endpoint=limit, got {part.strip()!r}")
            pairs.append((endpoint, limit))
    result: dict[str, str] = {}
    for endpoint, limit in pairs:
        limit = str(limit).strip()
        result[str(endpoint).strip()] = limit.upper() if limit.upper() in POLICY_NAMES else as_limit(limit)
    return result


AUDIT_AND_LIMIT_SETTINGS: tuple[Setting, ...] = (
    # rate limiting
    Setting("RATE_LIMIT_ENABLED", True, as_bool, "rate limiting on or off"),
    Setting("RATE_LIMIT_WINDOW_MS", 900_000, as_int(1000, 86_400_000), "window of the default limit (ms)"),
    Setting("RATE_LIMIT_MAX_REQUESTS", 100, as_int(1, 1_000_000), "requests per window (default limit)"),
    Setting(
        "RATE_LIMIT_AUTH", "10 per 15 minutes", as_limit, "failed sign-ins per client IP (unknown browsers)"
    ),
    Setting(
        "RATE_LIMIT_AUTH_ACCOUNT",
        "5 per 15 minutes",
        as_limit,
        "failed sign-ins per account (unknown browsers)",
    ),
    Setting(
        "RATE_LIMIT_AUTH_DEVICE",
        "",
        as_optional_limit,
        "failed sign-ins per browser that signed in before; empty: as RATE_LIMIT_AUTH_ACCOUNT",
    ),
    Setting("RATE_LIMIT_MFA", "60 per 5 minutes", as_limit, "wrong second factors per client IP"),
    Setting("RATE_LIMIT_API", "300 per 15 minutes", as_limit, "requests per API endpoint and client"),
    Setting("RATE_LIMIT_ENDPOINTS", "", as_endpoint_limits, "per-endpoint overrides: ep=limit|ep=POLICY"),
    Setting(
        "RATE_LIMIT_AUTH_ENDPOINTS",
        "auth.login,auth.password,auth.reauth",
        as_list,
        "endpoints under the AUTH policy",
    ),
    Setting("RATE_LIMIT_MFA_ENDPOINTS", "mfa.verify", as_list, "endpoints under the MFA policy"),
    Setting("RATE_LIMIT_EXEMPT_ENDPOINTS", "core.healthz,core.readyz", as_list, "never limited"),
    Setting("RATE_LIMIT_DRY_RUN", False, as_bool, "log what would be limited without rejecting"),
    # escalating bans
    Setting("SECURITY_BAN_ENABLED", True, as_bool, "ban an IP after repeated rate-limit breaches"),
    Setting("SECURITY_BAN_THRESHOLD", "10 per 10 minutes", as_limit, "breaches that trigger a ban"),
    Setting("SECURITY_BAN_BASE_SECONDS", 300, as_int(1, 30 * 86_400), "length of a first ban"),
    Setting("SECURITY_BAN_MAX_SECONDS", 86_400, as_int(1, 365 * 86_400), "longest ban (doubling stops)"),
    Setting("SECURITY_BAN_CACHE_SECONDS", 5, as_int(0, 3600), "how stale a worker's ban list may be"),
    # audit log
    Setting("SECURITY_AUDIT_ENABLED", True, as_bool, "record security events in security_events"),
    Setting("SECURITY_EVENTS_RETENTION_DAYS", 90, as_int(1, 3650), "purge events older than this"),
    Setting(
        "SECURITY_AUDIT_KEY", None, as_optional_str, "HMAC key of the audit chain; else instance/audit-key"
    ),
    Setting(
        "SECURITY_REPEAT_WINDOW_SECONDS",
        60,
        as_int(0, 86_400),
        "identical detections from one source within this time are stored once, then counted (0: off)",
    ),
    Setting(
        "SECURITY_REPEAT_MAX_KEYS", 5000, as_int(10, 1_000_000), "detections counted at once per process"
    ),
    Setting("SECURITY_AUDIT_WAIT_SECONDS", 5.0, as_float(0.1, 120), "longest wait for an event's commit"),
    Setting("SECURITY_AUDIT_QUEUE_SIZE", 10_000, as_int(1, 1_000_000), "events queued per process at most"),
    Setting("SECURITY_AUDIT_BATCH_SIZE", 200, as_int(1, 10_000), "events appended per transaction at most"),
    Setting("SECURITY_COUNTS_FLUSH_SECONDS", 10, as_int(0, 3600), "how long rate-limit counts are buffered"),
    # request inspection
    Setting("SECURITY_INSPECTION_MODE", "log", as_choice("off", "log", "block"), "off, log or block"),
    Setting(
        "SECURITY_INSPECT_HEADERS",
        "User-Agent,Referer,Origin,X-Forwarded-Host",
        as_list,
        "request headers inspected",
    ),
    Setting("SECURITY_INSPECT_MAX_BYTES", 65_536, as_int(256, 10_485_760), "bytes of a request inspected"),
    Setting(
        "SECURITY_INSPECT_MAX_VALUE_BYTES", 8_192, as_int(64, 10_485_760), "bytes of one value inspected"
    ),
)

SETTINGS: tuple[Setting, ...] = (*AUDIT_AND_LIMIT_SETTINGS, *THREAT_SETTINGS)
