"""The plugin's settings (each validated at start-up) and their parsed, per-app form."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.config import Setting, as_float, as_int, as_list, as_optional_str


def as_apdex_overrides(value: Any) -> tuple[tuple[str, float], ...]:
    """Parse ``rule=ms`` pairs separated by commas, e.g. ``/plans/=800,/auth/login=500``."""
    if isinstance(value, Mapping):
        pairs = value.items()
    elif isinstance(value, (list, tuple)) and all(
        isinstance(p, (list, tuple)) and len(p) == 2 for p in value
    ):
        pairs = value  # already parsed (rule, ms) pairs
    else:
        pairs = (p.rpartition("=")[::2] for p in as_list(value))
    parsed = []
    for rule, raw_ms in pairs:
        rule = str(rule).strip()
        if not rule.startswith("/"):
            raise ValueError(f"expected rule=milliseconds with a rule starting with '/', got {rule!r}")
        parsed.append((rule, as_float(1, 600_000)(raw_ms)))
    return tuple(parsed)


def as_networks(value: Any) -> tuple[str, ...]:
    """Parse a comma-separated list of IP addresses or CIDR networks."""
    items = as_list(value)
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"expected IP addresses or networks, got {item!r}") from None
    return items


SETTINGS: tuple[Setting, ...] = (
    Setting("PERFORMANCE_METRICS_RETENTION_DAYS", 30, as_int(1, 3650), "days raw request rows are kept"),
    Setting("PERFORMANCE_MINUTE_ROLLUP_RETENTION_DAYS", 14, as_int(1, 3650), "days minute roll-ups are kept"),
    Setting("PERFORMANCE_ROLLUP_RETENTION_DAYS", 400, as_int(1, 36500), "days hour roll-ups are kept"),
    Setting("PERFORMANCE_SAMPLE_RATE", 1.0, as_float(0, 1), "share of requests stored as raw rows"),
    Setting("PERFORMANCE_BUFFER_SIZE", 10_000, as_int(10, 10_000_000), "raw records held before dropping"),
    Setting("PERFORMANCE_BATCH_SIZE", 1_000, as_int(1, 100_000), "records that wake the flusher early"),
    Setting("PERFORMANCE_FLUSH_INTERVAL_SECONDS", 2.0, as_float(0.01, 3600), "seconds between flushes"),
    Setting("PERFORMANCE_APDEX_T_MS", 300.0, as_float(1, 600_000), "Apdex threshold T in milliseconds"),
    Setting("PERFORMANCE_APDEX_T_OVERRIDES", "", as_apdex_overrides, "per-endpoint T: rule=ms,..."),
    Setting("PERFORMANCE_SLOW_REQUEST_MS", 1000.0, as_float(1, 3_600_000), "slow request threshold"),
    Setting("SLOW_QUERY_THRESHOLD_MS", 100.0, as_float(0, 3_600_000), "slow SQL statement threshold"),
    Setting("PERFORMANCE_N_PLUS_ONE_THRESHOLD", 10, as_int(2, 100_000), "repeats of one statement = N+1"),
    Setting("PERFORMANCE_CPU_ALERT_PERCENT", 90.0, as_float(1, 100), "host CPU alert threshold"),
    Setting("PERFORMANCE_MEMORY_ALERT_PERCENT", 90.0, as_float(1, 100), "host memory alert threshold"),
    Setting("PERFORMANCE_DISK_ALERT_PERCENT", 90.0, as_float(1, 100), "disk usage alert threshold"),
    Setting("METRICS_ALLOWED_IPS", "127.0.0.1,::1", as_networks, "addresses that may read /metrics"),
    Setting("METRICS_TOKEN", None, as_optional_str, "bearer token that may read /metrics"),
)


@dataclass(frozen=True)
class PerfConfig:
    """The parsed settings of one app, read on the request path as plain attributes."""

    raw_retention_days: int
    minute_retention_days: int
    rollup_retention_days: int
    sample_rate: float
    buffer_size: int
    batch_size: int
    flush_interval: float
    apdex_t_ms: float
    apdex_overrides: Mapping[str, float]
    slow_request_ms: float
    slow_query_ms: float
    n_plus_one: int
    cpu_alert: float
    memory_alert: float
    disk_alert: float
    metrics_networks: tuple[Any, ...]
    metrics_token: str | None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PerfConfig:
        """The app's settings, as the plugin loader parsed and validated them."""
        v = {s.name: config[s.name] for s in SETTINGS}
        return cls(
            raw_retention_days=v["PERFORMANCE_METRICS_RETENTION_DAYS"],
            minute_retention_days=v["PERFORMANCE_MINUTE_ROLLUP_RETENTION_DAYS"],
            rollup_retention_days=v["PERFORMANCE_ROLLUP_RETENTION_DAYS"],
            sample_rate=v["PERFORMANCE_SAMPLE_RATE"],
            buffer_size=v["PERFORMANCE_BUFFER_SIZE"],
            batch_size=v["PERFORMANCE_BATCH_SIZE"],
            flush_interval=v["PERFORMANCE_FLUSH_INTERVAL_SECONDS"],
            apdex_t_ms=v["PERFORMANCE_APDEX_T_MS"],
            apdex_overrides=dict(v["PERFORMANCE_APDEX_T_OVERRIDES"]),
            slow_request_ms=v["PERFORMANCE_SLOW_REQUEST_MS"],
            slow_query_ms=v["SLOW_QUERY_THRESHOLD_MS"],
            n_plus_one=v["PERFORMANCE_N_PLUS_ONE_THRESHOLD"],
            cpu_alert=v["PERFORMANCE_CPU_ALERT_PERCENT"],
            memory_alert=v["PERFORMANCE_MEMORY_ALERT_PERCENT"],
            disk_alert=v["PERFORMANCE_DISK_ALERT_PERCENT"],
            metrics_networks=tuple(ipaddress.ip_network(n, strict=False) for n in v["METRICS_ALLOWED_IPS"]),
            metrics_token=v["METRICS_TOKEN"],
        )

    def apdex_t(self, rule: str) -> float:
        """The Apdex threshold of an endpoint rule (its override, or the default)."""
        return self.apdex_overrides.get(rule, self.apdex_t_ms)
