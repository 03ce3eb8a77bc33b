"""Discover, validate and wire plugins: the bundled ``plugins`` package and the ``portal.plugins``
entry-point group, filtered by the ordered enable list (PORTAL_PLUGINS) and each plugin's flag."""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from flask import Flask

from app.api import API_PREFIX
from app.config import ConfigError, as_bool, parse_settings
from app.plugin import Plugin, RequestGuard
from app.plugin.manager import PortalPluginManager, build_manager

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "portal.plugins"
ROOT_PATH = re.compile(r"/[a-z0-9][a-z0-9_.-]*")
BUNDLED_PACKAGE = "plugins"


@dataclass
class PluginRecord:
    """What ``flask plugins list`` shows for one plugin."""

    name: str
    source: str  # "bundled", "entry point <dist>" or "given"
    status: str  # "enabled", "disabled" or "failed"
    reason: str = ""
    plugin: Plugin | None = None


class PluginRegistry:
    """The plugins of one app: every record, the enabled plugins in order, and hook dispatch."""

    def __init__(self, records: list[PluginRecord]):
        self.records = records
        self.enabled: list[Plugin] = [r.plugin for r in records if r.status == "enabled" and r.plugin]
        self.manager = build_manager(self.enabled)

    def is_enabled(self, name: str) -> bool:
        return any(plugin.name == name for plugin in self.enabled)

    def call(self, name: str, **kwargs: Any) -> list[Any]:
        return self.manager.caller(name, first=False)(**kwargs)

    def call_first(self, name: str, **kwargs: Any) -> Any:
        return self.manager.caller(name, first=True)(**kwargs)

    def jobs(self) -> list:
        return [job for plugin in self.enabled for job in plugin.jobs]

    def guards(self) -> list[RequestGuard]:
        """Every enabled plugin's guards, lowest order first (ties in enable-list order)."""
        declared = [guard for plugin in self.enabled for guard in plugin.guards]
        return sorted(declared, key=lambda guard: guard.order)  # sorted() is stable: ties keep order


def _load_object(module_name: str) -> Plugin:
    module = importlib.import_module(module_name)
    plugin = getattr(module, "plugin", None)
    if not isinstance(plugin, Plugin):
        raise TypeError(f"{module_name} has no module-level 'plugin = Plugin(...)'")
    return plugin


def discover(extra: Iterable[Plugin] = ()) -> tuple[dict[str, tuple[str, Any]], list[str]]:
    """Find every available plugin without importing it yet: name -> (source, loader)."""
    found: dict[str, tuple[str, Any]] = {}
    duplicates: list[str] = []

    def add(name: str, source: str, loader: Any) -> None:
        if name in found:
            duplicates.append(f"{name} ({found[name][0]} and {source})")
        else:
            found[name] = (source, loader)

    bundled = importlib.import_module(BUNDLED_PACKAGE)
    for info in sorted(pkgutil.iter_modules(bundled.__path__), key=lambda i: i.name):
        if info.ispkg and not info.name.startswith("_"):
            module_name = f"{BUNDLED_PACKAGE}.{info.name}"
            add(info.name, "bundled", lambda m=module_name: _load_object(m))
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        dist = entry.dist.name if entry.dist else "?"
        add(entry.name, f"entry point {dist}", lambda e=entry: e.load())
    for plugin in extra:
        add(plugin.name, "given", lambda p=plugin: p)
    return found, duplicates


def _validate(plugin: Plugin, expected_name: str) -> None:
    if plugin.name != expected_name:
        raise ConfigError(f"plugin {expected_name!r} declares the name {plugin.name!r}")
    # Each plugin's answers are checked on their own, so that one that does not fit its hook is
    # reported as that plugin's failure (and listed by `flask plugins list`).
    PortalPluginManager().add(plugin)
    _validate_blueprints(plugin)
    _validate_guards(plugin)
    for job in plugin.jobs:
        if not job.name.startswith(f"{plugin.name}."):
            raise ConfigError(f"plugin {plugin.name!r}: job {job.name!r} must start with the plugin name")


def _validate_blueprints(plugin: Plugin) -> None:
    """Keep each blueprint in the plugin's own names and URLs, where it cannot shadow another's."""
    name = plugin.name
    if plugin.blueprints and plugin.blueprints[0].name != name:
        raise ConfigError(f"plugin {name!r}: its first blueprint must be named {name!r}")
    for path in plugin.root_paths:
        if not _is_root_path(path):
            raise ConfigError(
                f"plugin {name!r}: root path {path!r} must be one segment such as /metrics, "
                f"or an API root {API_PREFIX}/<segment>"
            )
    prefixes = (f"/{name}", f"{API_PREFIX}/{name}", *plugin.root_paths)
    for blueprint in plugin.blueprints:
        if blueprint.name != name and not blueprint.name.startswith(f"{name}_"):
            raise ConfigError(f"plugin {name!r}: blueprint {blueprint.name!r} must be named {name}_...")
        url_prefix = (blueprint.url_prefix or "").rstrip("/")
        if not any(url_prefix == prefix or url_prefix.startswith(f"{prefix}/") for prefix in prefixes):
            raise ConfigError(
                f"plugin {name!r}: blueprint {blueprint.name!r} must have the url_prefix "
                f"{' or '.join(prefixes)} (or a path below one), not {blueprint.url_prefix!r}"
            )


def _is_root_path(path: str) -> bool:
    """One segment outside the API (/metrics), or one segment below it (/api/v1/passkeys): a
    path clients look for, never /api itself nor the API's root."""
    if path.startswith(f"{API_PREFIX}/"):
        return ROOT_PATH.fullmatch(path[len(API_PREFIX) :]) is not None
    return ROOT_PATH.fullmatch(path) is not None and path != API_PREFIX.rsplit("/", 1)[0]


def _validate_guards(plugin: Plugin) -> None:
    """Each guard a RequestGuard named ``<plugin>.<guard>``, with a whole-number order and a
    function the core can call with no arguments."""
    name = plugin.name
    seen: set[str] = set()
    for guard in plugin.guards:
        if not isinstance(guard, RequestGuard):
            raise ConfigError(
                f"plugin {name!r}: guards must be RequestGuard(name, order, func), not {guard!r}"
            )
        if not guard.name.startswith(f"{name}.") or guard.name in seen:
            raise ConfigError(f"plugin {name!r}: guard {guard.name!r} must be named {name}.<guard>, once")
        seen.add(guard.name)
        if not isinstance(guard.order, int) or isinstance(guard.order, bool):
            raise ConfigError(f"plugin {name!r}: guard {guard.name!r} needs a whole-number order")
        if guard.when is not None and not callable(guard.when):
            raise ConfigError(f"plugin {name!r}: guard {guard.name!r}: when must be a function of the app")
        if not callable(guard.func) or _required_parameters(guard.func):
            raise ConfigError(
                f"plugin {name!r}: guard {guard.name!r} must be a function the core calls with no arguments"
            )


def _required_parameters(func: Any) -> list[str]:
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: let it be called
        return []
    return [
        p.name for p in parameters if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def load_plugins(app: Flask, raw_config: dict[str, Any], extra: Iterable[Plugin] = ()) -> PluginRegistry:
    """Resolve which plugins are enabled, validate them and their settings; wire nothing yet."""
    enable_list = list(app.config["PORTAL_PLUGINS"])
    safe_mode = app.config["PORTAL_SAFE_MODE"]
    strict = app.config["PORTAL_PLUGINS_STRICT"]
    found, duplicates = discover(extra)
    if duplicates:
        raise ConfigError(f"PORTAL_PLUGINS: duplicate plugin names: {'; '.join(duplicates)}")
    repeated = sorted({name for name in enable_list if enable_list.count(name) > 1})
    if repeated:
        raise ConfigError(f"PORTAL_PLUGINS: listed more than once: {', '.join(repeated)}")
    unknown = [name for name in enable_list if name not in found]
    if unknown:
        raise ConfigError(
            f"PORTAL_PLUGINS: unknown plugin(s) {', '.join(unknown)}; "
            f"available: {', '.join(sorted(found)) or 'none'}"
        )

    order = {name: index for index, name in enumerate(enable_list)}
    records: list[PluginRecord] = []
    for name in sorted(found, key=lambda n: (order.get(n, len(order)), n)):
        source, loader = found[name]
        record = PluginRecord(name=name, source=source, status="disabled")
        records.append(record)
        try:
            plugin = loader()
            _validate(plugin, name)
        except Exception as error:  # a broken plugin is reported, never silently ignored
            record.status, record.reason = "failed", f"{type(error).__name__}: {error}"
            if strict and name in order and not safe_mode:
                raise ConfigError(f"plugin {name!r} failed to load: {record.reason}") from error
            log.error("plugin %s failed to load: %s", name, record.reason)
            continue
        record.plugin = plugin
        # Every known plugin's settings are validated and get defaults, enabled or not, so that
        # `flask plugins list` and a later enable see the same values.
        # Parsed values replace the raw ones core_config copied from an instance or test config.
        app.config.update(parse_settings(plugin.settings, raw_config))
        flag_value = as_bool(raw_config.get(plugin.flag_name, app.config.get(plugin.flag_name, True)))
        app.config[plugin.flag_name] = flag_value
        if safe_mode:
            record.reason = "safe mode (PORTAL_SAFE_MODE)"
        elif name not in order:
            record.reason = "not in PORTAL_PLUGINS"
        elif not flag_value:
            record.reason = f"{plugin.flag_name}=false"
        else:
            record.status = "enabled"

    enabled_names = {r.name for r in records if r.status == "enabled"}
    for record in records:
        if record.status == "enabled" and record.plugin:
            missing = [req for req in record.plugin.requires if req not in enabled_names]
            if missing:
                raise ConfigError(
                    f"PORTAL_PLUGINS: plugin {record.name!r} requires {', '.join(missing)}, "
                    "which is not enabled"
                )
    return PluginRegistry(records)


def wire_plugins(app: Flask, registry: PluginRegistry) -> None:
    """Register each enabled plugin's blueprints, setup and CLI, in enable-list order."""
    for plugin in registry.enabled:
        _check_root_paths_are_free(app, plugin, registry)
        for blueprint in plugin.blueprints:
            app.register_blueprint(blueprint)
        if plugin.setup is not None:
            plugin.setup(app)
        if plugin.cli is not None:
            app.cli.add_command(plugin.cli, plugin.name)


def _check_root_paths_are_free(app: Flask, plugin: Plugin, registry: PluginRegistry) -> None:
    """Refuse a root path that the core or an earlier plugin already serves URLs under, or that
    is the prefix of an enabled plugin (which registers after this one, perhaps)."""
    names = {other.name for other in registry.enabled}
    for path in plugin.root_paths:
        segment = path.rsplit("/", 1)[1]  # /<name> and /api/v1/<name> are plugin <name>'s
        if segment in names:
            raise ConfigError(f"plugin {plugin.name!r}: root path {path!r} is plugin {segment!r}'s prefix")
        taken = [r for r in app.url_map.iter_rules() if r.rule == path or r.rule.startswith(f"{path}/")]
        if taken:
            raise ConfigError(
                f"plugin {plugin.name!r}: root path {path!r} is taken by {taken[0].endpoint!r} ({taken[0].rule})"
            )
