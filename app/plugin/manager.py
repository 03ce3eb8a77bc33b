"""The hook registry on pluggy: each plugin's ``Plugin.hooks`` checked against the specifications
in ``app.plugin.hookspecs`` and called in enable-list order."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import pluggy

from app.config import ConfigError
from app.plugin import hookspecs

if TYPE_CHECKING:
    from app.plugin import Plugin

# What pluggy's @hookimpl with no options would say: Plugin.hooks has no per-answer options.
_PLAIN_ANSWER: dict[str, Any] = {
    "wrapper": False,
    "hookwrapper": False,
    "optionalhook": False,
    "tryfirst": False,
    "trylast": False,
    "specname": None,
}


class HookAnswers:
    """One plugin's ``hooks`` mapping as the object pluggy registers: one attribute per hook."""

    def __init__(self, plugin: Plugin):
        self.plugin_name = plugin.name
        self.hook_names = frozenset(plugin.hooks)
        for name, func in plugin.hooks.items():
            setattr(self, name, func)

    def __repr__(self) -> str:
        return f"<hooks of plugin {self.plugin_name!r}>"


class PortalPluginManager(pluggy.PluginManager):
    """pluggy's manager, reading hook answers from ``Plugin.hooks`` instead of markers."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.add_hookspecs(hookspecs)
        self._checked: dict[tuple[str, bool], Callable[..., Any]] = {}  # the checks once per hook

    def parse_hookimpl_opts(self, plugin: object, name: str) -> Any:
        if isinstance(plugin, HookAnswers):
            return dict(_PLAIN_ANSWER) if name in plugin.hook_names else None
        return super().parse_hookimpl_opts(plugin, name)

    def add(self, plugin: Plugin) -> None:
        """Register ``plugin``'s answers; ConfigError naming hook and plugin when one does not fit."""
        not_functions = sorted(name for name, func in plugin.hooks.items() if not inspect.isroutine(func))
        if not_functions:
            raise ConfigError(
                f"plugin {plugin.name!r}: hook answers must be functions: {', '.join(not_functions)}"
            )
        unknown = sorted(name for name in plugin.hooks if not self._has_spec(name))
        if unknown:
            raise ConfigError(f"plugin {plugin.name!r} answers unknown hooks: {', '.join(unknown)}")
        try:
            self.register(HookAnswers(plugin), name=plugin.name)
            self.check_pending()
        except pluggy.PluginValidationError as error:
            raise ConfigError(_mismatch(plugin, self, error)) from error

    def _has_spec(self, name: str) -> bool:
        caller = getattr(self.hook, name, None)
        return caller is not None and caller.has_spec()

    def caller(self, name: str, first: bool) -> Callable[..., Any]:
        """The hook ``name``; KeyError when unknown, TypeError when called the wrong way."""
        checked = self._checked.get((name, first))
        if checked is not None:
            return checked
        if not name.startswith("portal_") or not self._has_spec(name):
            raise KeyError(f"unknown hook {name!r}")
        caller = getattr(self.hook, name)
        if bool(caller.spec.opts.get("firstresult")) != first:
            wanted = "first_hook_result" if not first else "call_hook"
            raise TypeError(f"hook {name!r} is {'not ' if first else ''}first-result: call it with {wanted}")
        self._checked[(name, first)] = caller
        return caller


def _mismatch(plugin: Plugin, manager: PortalPluginManager, error: Exception) -> str:
    """Say which of ``plugin``'s answers takes an argument its hook does not pass."""
    for name, func in plugin.hooks.items():
        passed = set(getattr(manager.hook, name).spec.argnames)
        required = _required_arguments(func)
        extra = [arg for arg in required if arg not in passed]
        if extra:
            return (
                f"plugin {plugin.name!r}: its answer to hook {name!r} takes {', '.join(extra)}, which the "
                f"hook does not pass; {name} passes ({', '.join(sorted(passed)) or 'nothing'})"
            )
    return f"plugin {plugin.name!r}: {error}"


def _required_arguments(func: Callable[..., Any]) -> Iterable[str]:
    parameters = inspect.signature(func).parameters.values()
    return [
        p.name
        for p in parameters
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]


def build_manager(plugins: Iterable[Plugin]) -> PortalPluginManager:
    """A manager with ``plugins`` registered so that pluggy calls them in the order given."""
    manager = PortalPluginManager()
    # pluggy calls the answer registered last first: register in reverse to keep the order.
    for plugin in reversed(list(plugins)):
        manager.add(plugin)
    return manager
