"""Configuration of detection, alerts and responses, one ``Setting`` per variable."""

from __future__ import annotations

import ipaddress
from typing import Any

from app.config import (
    ConfigError,
    Setting,
    as_bool,
    as_choice,
    as_float,
    as_int,
    as_list,
    as_optional_str,
    rejected_url,
)

SEVERITY_ORDER = ("LOW", "MEDIUM", "HIGH", "CRITICAL")


def as_severity(value: Any) -> str:
    """One of LOW, MEDIUM, HIGH, CRITICAL (any case)."""
    text = str(value).strip().upper()
    if text not in SEVERITY_ORDER:
        raise ValueError(f"expected one of {', '.join(SEVERITY_ORDER)}, got {value!r}")
    return text


def as_networks(value: Any) -> tuple[str, ...]:
    """A comma-separated list of IP networks in CIDR notation (a bare address is a /32 or /128)."""
    networks = []
    for item in as_list(value):
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ValueError(f"expected IP networks such as 10.0.0.0/8, got {item!r}") from None
    return tuple(networks)


def as_url(value: Any) -> str | None:
    """An http(s) URL or nothing."""
    text = as_optional_str(value)
    if text and not text.startswith(("http://", "https://")):
        raise ValueError(f"expected an http:// or https:// URL, got {rejected_url(text)}")
    return text


def _window(name: str, default: int, help_text: str) -> Setting:
    return Setting(name, default, as_int(1, 7 * 86_400), help_text)


THREAT_SETTINGS: tuple[Setting, ...] = (
    Setting("SECURITY_DETECTION_ENABLED", True, as_bool, "run the detection rules"),
    # brute force, stuffing, MFA guessing, privilege probing
    Setting(
        "SECURITY_BRUTE_FORCE_ACCOUNT_THRESHOLD", 5, as_int(2, 10_000), "failed sign-ins for one account"
    ),
    Setting("SECURITY_BRUTE_FORCE_IP_THRESHOLD", 10, as_int(2, 100_000), "failed sign-ins from one IP"),
    _window("SECURITY_BRUTE_FORCE_WINDOW_SECONDS", 900, "window of the brute-force rules"),
    Setting("SECURITY_STUFFING_USERNAMES", 5, as_int(2, 10_000), "distinct usernames failed from one IP"),
    _window("SECURITY_STUFFING_WINDOW_SECONDS", 900, "window of the credential-stuffing rule"),
    Setting("SECURITY_MFA_BRUTE_FORCE_THRESHOLD", 5, as_int(2, 10_000), "wrong second-factor codes"),
    _window("SECURITY_MFA_BRUTE_FORCE_WINDOW_SECONDS", 900, "window of the MFA brute-force rule"),
    Setting("SECURITY_PROBE_THRESHOLD", 5, as_int(2, 10_000), "ACCESS_DENIED for one user or IP"),
    _window("SECURITY_PROBE_WINDOW_SECONDS", 600, "window of the privilege-probing rule"),
    # unusual traffic
    Setting("SECURITY_TRAFFIC_BUCKET_SECONDS", 60, as_int(10, 3600), "length of a traffic-count bucket"),
    Setting("SECURITY_TRAFFIC_BASELINE_BUCKETS", 30, as_int(1, 10_000), "buckets averaged as the baseline"),
    Setting("SECURITY_TRAFFIC_FACTOR", 5.0, as_float(1.0, 1000.0), "times the baseline that is unusual"),
    Setting("SECURITY_TRAFFIC_MIN_REQUESTS", 120, as_int(1, 10_000_000), "fewer requests are never unusual"),
    Setting("SECURITY_TRAFFIC_FLUSH_SECONDS", 10, as_int(0, 3600), "how long a worker buffers its counts"),
    # sign-in context
    Setting("SECURITY_GEOIP_DB", None, as_optional_str, "MaxMind-format city database for travel checks"),
    Setting("SECURITY_TRAVEL_MAX_KMH", 900.0, as_float(1.0, 100_000.0), "fastest plausible travel"),
    Setting("SECURITY_TRAVEL_MIN_KM", 300.0, as_float(0.0, 40_000.0), "shorter jumps are never anomalies"),
    Setting("SECURITY_NEW_IP_NOTICE", True, as_bool, "tell a user about a sign-in from a new IP"),
    Setting(
        "SECURITY_SESSION_CHANGE_ACTION",
        "log",
        as_choice("off", "log", "logout"),
        "when a session's IP or user agent changes: off, log or logout",
    ),
    # responses
    Setting("SECURITY_AUTO_BLOCK", True, as_bool, "block the IP behind a serious IP-level alert"),
    Setting("SECURITY_AUTO_BLOCK_MIN_SEVERITY", "HIGH", as_severity, "least severity that blocks"),
    Setting("SECURITY_BLOCK_MINUTES", 60, as_int(1, 525_600), "length of an automatic IP block"),
    Setting("SECURITY_BLOCK_CACHE_SECONDS", 5, as_int(0, 3600), "how stale a worker's block list may be"),
    Setting("SECURITY_NEVER_BLOCK", "", as_networks, "networks never blocked automatically (CIDR list)"),
    Setting("SECURITY_NOTIFY_MIN_SEVERITY", "HIGH", as_severity, "least severity of a new alert notified"),
    Setting("SECURITY_NOTIFY_MODE", "thread", as_choice("thread", "job"), "send at once or by the job"),
    Setting("SECURITY_ALERT_WEBHOOK_URL", None, as_url, "JSON POST of each new alert"),
    Setting("SECURITY_ALERT_WEBHOOK_SECRET", None, as_optional_str, "HMAC-SHA256 key signing the webhook"),
    Setting("SECURITY_WEBHOOK_MAX_ATTEMPTS", 5, as_int(1, 20), "deliveries tried before giving up"),
    Setting("SECURITY_WEBHOOK_BACKOFF_SECONDS", 2.0, as_float(0.0, 3600.0), "first retry delay (doubles)"),
    Setting("SECURITY_WEBHOOK_TIMEOUT_SECONDS", 5.0, as_float(0.1, 120.0), "timeout of one delivery"),
    Setting("SECURITY_ALERT_EMAIL_TO", "", as_list, "addresses e-mailed about each new alert"),
    Setting("SECURITY_ALERT_EMAIL_FROM", "portal-security@localhost", as_optional_str, "sender address"),
    Setting("SECURITY_SMTP_HOST", None, as_optional_str, "SMTP server; unset: mail is written to the log"),
    Setting("SECURITY_SMTP_PORT", 25, as_int(1, 65_535), "SMTP port"),
    Setting("SECURITY_SMTP_USERNAME", None, as_optional_str, "SMTP user"),
    Setting("SECURITY_SMTP_PASSWORD", None, as_optional_str, "SMTP password"),
    Setting("SECURITY_SMTP_STARTTLS", False, as_bool, "upgrade the SMTP connection with STARTTLS"),
    # scan and dashboard
    Setting("SECURITY_SCAN_BATCH", 5000, as_int(10, 1_000_000), "events the threat scan reads per run"),
    Setting(
        "SECURITY_DASHBOARD_POLL_SECONDS", 10, as_int(2, 3600), "how often the dashboard asks for alerts"
    ),
)


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def check_smtp_settings(config) -> None:
    """Refuse SMTP credentials that would cross the network in clear (no STARTTLS to a host other
    than this machine)."""
    host = config.get("SECURITY_SMTP_HOST")
    if host and config.get("SECURITY_SMTP_USERNAME") and not config.get("SECURITY_SMTP_STARTTLS"):
        if host.strip("[]").lower() not in LOOPBACK_HOSTS:
            raise ConfigError(
                "SECURITY_SMTP_STARTTLS: must be true when SECURITY_SMTP_USERNAME is set for a remote "
                "SMTP server (the password would cross the network in clear)"
            )
