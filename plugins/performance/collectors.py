"""The Prometheus collectors of one app, and their multiprocess-aware exposition (served by
``metrics.scrape``). Nothing here reads the plugin's state: the state holds a ``Metrics``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from flask import Flask
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from app.plugin import first_hook_result

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


@dataclass
class Metrics:
    """The collectors of one app (not in the global registry: tests build many apps)."""

    duration: Histogram
    security_events: Counter
    rate_limited: Counter
    dropped: Counter

    @classmethod
    def create(cls) -> Metrics:
        return cls(
            duration=Histogram(
                "portal_request_duration_seconds",
                "Request duration by endpoint rule, method and status",
                ("endpoint", "method", "status"),
                buckets=LATENCY_BUCKETS,
                registry=None,
            ),
            security_events=Counter(
                "portal_security_events",
                "Security events by kind and severity",
                ("kind", "severity"),
                registry=None,
            ),
            rate_limited=Counter(
                "portal_rate_limited_requests",
                "Requests rejected by a rate limit, by endpoint",
                ("endpoint",),
                registry=None,
            ),
            dropped=Counter(
                "portal_performance_dropped_records",
                "Request records dropped because the buffer was full",
                registry=None,
            ),
        )

    def collectors(self) -> tuple:
        return (self.duration, self.security_events, self.rate_limited, self.dropped)


class CacheCollector(Collector):
    """Cache hits and misses as the cache plugin reports them at scrape time (portal_cache_stats)."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self) -> Iterator:
        with self.app.app_context():
            stats = first_hook_result("portal_cache_stats")
        if not stats:
            return
        for name, help_text in CACHE_COUNTERS.items():
            family = CounterMetricFamily(f"portal_cache_{name}", help_text)
            family.add_metric([], float(stats.get(name, 0) or 0))
            yield family
        for name, (stat, help_text) in CACHE_GAUGES.items():
            family = GaugeMetricFamily(f"portal_cache_{name}", help_text)
            family.add_metric([], float(stats.get(stat, 0) or 0))
            yield family


# The cache plugin's stats (portal_cache_stats()) as metrics. With the memory backend they are
# the figures of the worker that answers the scrape; Redis counts hits and misses for all.
CACHE_COUNTERS = {
    "hits": "Cache hits reported by the cache plugin",
    "misses": "Cache misses reported by the cache plugin",
    "evictions": "Entries evicted by the cache's size bound (Redis: its maxmemory policy)",
    "bytes_saved": "Bytes saved by compressing cached values",
    "errors": "Cache backend failures (each answered as a miss or a no-op)",
}
CACHE_GAUGES = {
    "hit_ratio": ("ratio", "Cache hit ratio reported by the cache plugin"),
    "entries": ("entries", "Live cache entries"),
    "bytes": ("bytes", "Bytes stored by the cache"),
}


def exposition(app: Flask, metrics: Metrics) -> bytes:
    """The metrics text: every worker's files in multiprocess mode, this process's otherwise."""
    registry = CollectorRegistry(auto_describe=False)
    directory = multiprocess_dir()
    if directory:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry, path=directory)
    else:
        for collector in metrics.collectors():
            registry.register(collector)
    registry.register(CacheCollector(app))
    return generate_latest(registry)
