"""Resource monitor: psutil samples of the host and this process, and threshold alerts."""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

import psutil
from flask import current_app

from app.extensions import db
from app.models import utcnow
from plugins.performance.models import PerformanceAlert, ResourceSample
from plugins.performance.state import state

log = logging.getLogger(__name__)
_primed: set[int] = set()


def _disk_path() -> str:
    instance = Path(current_app.instance_path)
    return str(instance) if instance.is_dir() else os.path.abspath(os.sep)


def take_sample() -> ResourceSample:
    """Measure host and process CPU, memory and disk now (not stored)."""
    pid = os.getpid()
    process = psutil.Process(pid)
    if pid not in _primed:  # cpu_percent(None) compares with the previous call; prime it once
        psutil.cpu_percent(None)
        process.cpu_percent(None)
        _primed.add(pid)
        psutil.cpu_percent(0.2)
    memory = psutil.virtual_memory()
    with process.oneshot():
        process_cpu = process.cpu_percent(None)
        rss_mb = process.memory_info().rss / 1_048_576
        threads = process.num_threads()
    return ResourceSample(
        timestamp=utcnow(),
        host=socket.gethostname()[:120],
        pid=pid,
        cpu_percent=psutil.cpu_percent(None),
        memory_percent=memory.percent,
        memory_used_mb=round((memory.total - memory.available) / 1_048_576, 1),
        disk_percent=psutil.disk_usage(_disk_path()).percent,
        process_cpu_percent=process_cpu,
        process_memory_mb=round(rss_mb, 1),
        process_threads=threads,
    )


def check_thresholds(sample: ResourceSample) -> list[PerformanceAlert]:
    """Open an alert for each threshold ``sample`` crosses; resolve those it is back under."""
    cfg = state().config
    opened = []
    for kind, value, threshold in (
        ("cpu", sample.cpu_percent, cfg.cpu_alert),
        ("memory", sample.memory_percent, cfg.memory_alert),
        ("disk", sample.disk_percent, cfg.disk_alert),
    ):
        current = db.session.scalar(
            db.select(PerformanceAlert).where(
                PerformanceAlert.kind == kind, PerformanceAlert.resolved_at.is_(None)
            )
        )
        if value >= threshold and current is None:
            alert = PerformanceAlert(
                kind=kind,
                value=value,
                threshold=threshold,
                message=f"{kind} at {value:.1f} % on {sample.host} (threshold {threshold:.0f} %)",
            )
            db.session.add(alert)
            opened.append(alert)
            log.warning("performance alert: %s", alert.message)
        elif value < threshold and current is not None:
            current.resolved_at = utcnow()
    return opened


def sample_resources() -> None:
    """Job: store one resource sample, raise or resolve alerts, refresh the per-request figures."""
    sample = take_sample()
    db.session.add(sample)
    check_thresholds(sample)
    db.session.commit()
    recorder = state().recorder
    recorder.latest_memory_mb, recorder.latest_cpu_percent = (
        sample.process_memory_mb,
        sample.process_cpu_percent,
    )
