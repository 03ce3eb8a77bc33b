"""What the plugin keeps per app: one ``PerformanceState`` at ``app.extensions["plugin.performance"]``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:
    from plugins.performance.collectors import Metrics
    from plugins.performance.recorder import Recorder
    from plugins.performance.settings import PerfConfig

EXTENSION = "plugin.performance"


@dataclass
class PerformanceState:
    """The parsed settings, the Prometheus collectors and the request recorder of one app."""

    config: PerfConfig
    metrics: Metrics
    recorder: Recorder
    receivers: tuple = ()  # blinker holds receivers weakly: the state keeps them alive


def state() -> PerformanceState:
    """The running app's performance state."""
    return current_app._get_current_object().extensions[EXTENSION]  # one proxy lookup
