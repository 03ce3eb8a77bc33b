"""The plugin API: what a plugin package exposes and how the portal calls it.

A plugin is a package with one module-level ``plugin = Plugin(...)``. The core imports nothing
else from it. See ``app.plugin.hookspecs`` for the extension points a plugin may answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.config import Setting

if TYPE_CHECKING:
    import click
    from flask import Blueprint, Flask


@dataclass(frozen=True)
class Job:
    """A scheduled job. ``name`` is ``<plugin>.<job>``; ``func`` runs inside an app context."""

    name: str
    func: Callable[[], Any]
    trigger: str = "interval"  # an APScheduler 3 trigger name: interval, cron or date
    trigger_args: Mapping[str, Any] = field(default_factory=lambda: {"minutes": 5})
    description: str = ""


@dataclass(frozen=True)
class NavItem:
    """A navigation entry. ``endpoint`` is a Flask endpoint; ``admin`` hides it from clients."""

    label: str
    endpoint: str
    admin: bool = False
    order: int = 100


@dataclass(frozen=True)
class RequestGuard:
    """A check that every request meets before CSRF, the idle timeout and access control.

    ``func`` takes no arguments and returns a response to answer the request with (it stops
    there), or None to let it go on. The core runs the guards of all enabled plugins once per
    request, lowest ``order`` first (ties in enable-list order); static files meet none.
    ``name`` is ``<plugin>.<guard>``. ``when``, if given, is asked once at start-up with the app:
    False leaves the guard out (a switched-off feature costs no call per request).
    """

    name: str
    order: int
    func: Callable[[], Any]
    when: Callable[[Flask], bool] | None = None


@dataclass(frozen=True)
class Plugin:
    """One plugin. ``name`` is the package, blueprint, template folder and config prefix."""

    name: str
    description: str = ""
    flag: str | None = None  # the config flag that switches it; default <NAME>_ENABLED
    blueprints: tuple[Blueprint, ...] = ()  # the first is named like the plugin; loader registers all
    # URL prefixes outside /<name> and /api/v1/<name> that a blueprint may take because clients
    # look there (the performance plugin's /metrics for Prometheus); none may overlap another's.
    root_paths: tuple[str, ...] = ()
    settings: tuple[Setting, ...] = ()
    jobs: tuple[Job, ...] = ()
    requires: tuple[str, ...] = ()
    setup: Callable[[Flask], None] | None = None  # request hooks and receivers; no DB, no threads
    cli: click.Group | None = None
    hooks: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    guards: tuple[RequestGuard, ...] = ()  # run early in every request; see RequestGuard

    @property
    def flag_name(self) -> str:
        return self.flag or f"{self.name.upper()}_ENABLED"


def registry():
    """The running app's plugin registry (``app.plugin.loader.PluginRegistry``)."""
    from flask import current_app

    return current_app.extensions["portal.plugins"]


def call_hook(name: str, **kwargs: Any) -> list[Any]:
    """Call hook ``name`` on every enabled plugin in enable-list order; return non-None results."""
    return registry().call(name, **kwargs)


def first_hook_result(name: str, **kwargs: Any) -> Any:
    """Call first-result hook ``name`` plugin by plugin; return the first non-None result (or None)."""
    return registry().call_first(name, **kwargs)


def is_enabled(name: str) -> bool:
    """Whether the plugin called ``name`` is enabled in the running app."""
    return registry().is_enabled(name)


__all__ = [
    "Job",
    "NavItem",
    "Plugin",
    "RequestGuard",
    "Setting",
    "call_hook",
    "first_hook_result",
    "is_enabled",
    "registry",
]
