"""The plugin template (README, "Write a plugin") as checks: each returns the ways one plugin
departs from it, as sentences, so that a failing test says what to move where.

The template, for a plugin ``name`` in package ``pkg``:

- ``pkg/__init__.py`` holds a docstring, imports and ``plugin = Plugin(...)``, nothing else;
- the blueprint ``name`` is made as ``bp`` in ``pkg.views``, ``name_api`` as ``api_bp`` in
  ``pkg.api``, any other ``name_what`` as ``what_bp`` in ``pkg.what``;
- every hook answer is a function named like its hook in ``pkg.hookimpls``, and every
  ``portal_*`` function there is declared in ``Plugin.hooks``;
- ``Plugin.settings`` is ``pkg.settings.SETTINGS``, ``Plugin.jobs`` is ``pkg.jobs.JOBS``,
  ``Plugin.cli`` is ``pkg.cli.cli`` and ``Plugin.setup`` is ``pkg.hooks.setup``;
- at run time the plugin keeps its state in one object at ``app.extensions["plugin.<name>"]``
  (``pkg.state.EXTENSION``), of a class of its own (a dataclass or its service), and adds no other key.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Iterable
from types import ModuleType

from flask import Flask

from app.plugin import Plugin


def state_key(name: str) -> str:
    return f"plugin.{name}"


def package_of(plugin: Plugin) -> ModuleType:
    """The package whose ``plugin`` attribute is ``plugin``."""
    for module in list(sys.modules.values()):
        if getattr(module, "plugin", None) is plugin and hasattr(module, "__path__"):
            return module
    raise LookupError(f"no imported package holds plugin {plugin.name!r}")


def _submodule(package: ModuleType, name: str) -> ModuleType | None:
    full = f"{package.__name__}.{name}"
    if full in sys.modules:
        return sys.modules[full]
    if importlib.util.find_spec(full) is None:
        return None
    return importlib.import_module(full)


def init_module(plugin: Plugin, package: ModuleType) -> list[str]:
    """``__init__.py``: a docstring, imports and ``plugin = Plugin(...)`` only."""
    tree = ast.parse(inspect.getsource(package))
    problems = []
    for index, node in enumerate(tree.body):
        if index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        if isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if (
            isinstance(node, ast.Assign)
            and [getattr(t, "id", None) for t in node.targets] == ["plugin"]
            and isinstance(node.value, ast.Call)
            and getattr(node.value.func, "id", None) == "Plugin"
        ):
            continue
        what = type(node).__name__
        label = getattr(node, "name", None) or ", ".join(
            getattr(t, "id", "?") for t in getattr(node, "targets", [])
        )
        problems.append(
            f"{package.__name__}/__init__.py line {node.lineno}: {what} {label} (move it to its module)"
        )
    return problems


def blueprints(plugin: Plugin, package: ModuleType) -> list[str]:
    """Each blueprint in the module its name gives it, under the attribute its name gives it."""
    problems = []
    for blueprint in plugin.blueprints:
        what = blueprint.name.removeprefix(plugin.name).removeprefix("_")
        module_name, attribute = {"": ("views", "bp"), "api": ("api", "api_bp")}.get(
            what, (what, f"{what}_bp")
        )
        expected = f"{package.__name__}.{module_name}"
        module = _submodule(package, module_name)
        if blueprint.import_name != expected or getattr(module, attribute, None) is not blueprint:
            problems.append(
                f"blueprint {blueprint.name!r} should be {expected}.{attribute} "
                f"(it is made in {blueprint.import_name})"
            )
    return problems


def hook_answers(plugin: Plugin, package: ModuleType) -> list[str]:
    """Each answer named like its hook, in ``hookimpls``; none there left undeclared."""
    expected_module = f"{package.__name__}.hookimpls"
    problems = [
        f"answer to {hook} should be {expected_module}.{hook} (it is {func.__module__}.{func.__name__})"
        for hook, func in plugin.hooks.items()
        if func.__name__ != hook or func.__module__ != expected_module
    ]
    module = _submodule(package, "hookimpls")
    if module is not None:
        for name, func in vars(module).items():
            if name.startswith("portal_") and inspect.isfunction(func) and plugin.hooks.get(name) is not func:
                problems.append(f"{expected_module}.{name} is not declared in Plugin.hooks")
    return problems


def _same_as(package: ModuleType, value: object, module_name: str, attribute: str, field: str) -> list[str]:
    if not value:
        return []
    module = _submodule(package, module_name)
    if module is None or getattr(module, attribute, None) is not value:
        return [f"Plugin.{field} should be {package.__name__}.{module_name}.{attribute} itself"]
    return []


def declared_parts(plugin: Plugin, package: ModuleType) -> list[str]:
    """Settings, jobs, CLI and setup, each in the module the template names."""
    problems = _same_as(package, plugin.settings, "settings", "SETTINGS", "settings")
    problems += _same_as(package, plugin.jobs, "jobs", "JOBS", "jobs")
    problems += _same_as(package, plugin.cli, "cli", "cli", "cli")
    problems += _same_as(package, plugin.setup, "hooks", "setup", "setup")
    return problems


STATIC_CHECKS: dict[str, Callable[[Plugin, ModuleType], list[str]]] = {
    "init": init_module,
    "blueprints": blueprints,
    "hooks": hook_answers,
    "parts": declared_parts,
}


def state_shape(app: Flask, core_keys: Iterable[str], plugin: Plugin, package: ModuleType) -> list[str]:
    """One object of the plugin's own at ``plugin.<name>`` in ``app.extensions``, no other key."""
    enabled = {p.name for p in app.extensions["portal.plugins"].enabled}
    allowed = set(core_keys) | {state_key(name) for name in enabled}
    # "portal.*" is the core's own (some of it filled lazily, e.g. derived keys on first use).
    others = sorted(k for k in set(app.extensions) - allowed if not str(k).startswith("portal."))
    problems = [f"app.extensions[{key!r}] is no plugin's state key" for key in others]
    key = state_key(plugin.name)
    state_module = _submodule(package, "state")
    if state_module is not None and getattr(state_module, "EXTENSION", None) != key:
        problems.append(f"{package.__name__}.state.EXTENSION should be {key!r}")
    if key in app.extensions:
        value = app.extensions[key]
        if not type(value).__module__.startswith(f"{package.__name__}."):
            problems.append(
                f"app.extensions[{key!r}] should be an object of a class of the plugin's own, "
                f"not a {type(value).__module__}.{type(value).__qualname__}"
            )
    return problems


def stray_rules(app: Flask, core_blueprints: Iterable[str]) -> list[str]:
    """URL rules outside the core's and the enabled plugins' declared blueprints (added by hand)."""
    declared = set(core_blueprints) | {
        bp.name for plugin in app.extensions["portal.plugins"].enabled for bp in plugin.blueprints
    }
    return [
        f"{rule.rule} ({rule.endpoint})"
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and rule.endpoint.rpartition(".")[0] not in declared
    ]


def all_problems(app: Flask, core_keys: Iterable[str], plugin: Plugin) -> list[str]:
    """Every way ``plugin`` (enabled in ``app``) departs from the template."""
    package = package_of(plugin)
    problems = [p for check in STATIC_CHECKS.values() for p in check(plugin, package)]
    return problems + state_shape(app, core_keys, plugin, package)
