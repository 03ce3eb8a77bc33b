"""The contract test: the portal boots with each bundled plugin alone (with the plugins it
requires), with all of them and with none; what each enabled plugin declares (blueprints, hook
answers, jobs, navigation, API description) is exactly what is wired, while a disabled plugin
leaves no trace; and every bundled plugin follows the one template of the README."""

from __future__ import annotations

import importlib
import re
import sys

import pytest
from flask import url_for

from app import create_app
from app.api import API_PREFIX
from app.config import CORE_SETTINGS
from app.plugin import Plugin
from app.plugin.loader import discover
from tests.support import plugin_template

CORE_BLUEPRINTS = {"core", "auth", "account", "admin", "api"}
HTTP_METHODS = {"GET", "PUT", "POST", "DELETE", "PATCH"}
RULE_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def _bundled() -> dict[str, Plugin]:
    found, _ = discover()
    return {name: load() for name, (source, load) in found.items() if source == "bundled"}


PLUGINS = _bundled()
DEFAULT_ORDER = next(s.default for s in CORE_SETTINGS if s.name == "PORTAL_PLUGINS").split(",")


def with_requirements(name: str) -> tuple[str, ...]:
    """``name`` after every plugin it requires, directly or not (an enable list that starts)."""
    order: list[str] = []

    def visit(current: str) -> None:
        for required in PLUGINS[current].requires:
            visit(required)
        if current not in order:
            order.append(current)

    visit(name)
    return tuple(order)


def _all_in_enable_order() -> tuple[str, ...]:
    """Every bundled plugin: those of the default PORTAL_PLUGINS in its order, then the others."""
    order: dict[str, None] = {}
    for name in [*DEFAULT_ORDER, *sorted(PLUGINS)]:
        if name in PLUGINS:
            order.update(dict.fromkeys(with_requirements(name)))
    return tuple(order)


ALL = _all_in_enable_order()
COMBINATIONS = [(), *(with_requirements(name) for name in sorted(PLUGINS)), ALL]


@pytest.fixture(
    params=[pytest.param(names, marks=pytest.mark.plugins(*names)) for names in COMBINATIONS],
    ids=lambda names: "+".join(names) or "none",
)
def enabled(request):
    return request.param


pytestmark = pytest.mark.config(MFA_REQUIRED_ROLES="")


def test_the_combinations_cover_every_bundled_plugin():
    assert set(ALL) == set(PLUGINS) and {"plans", "performance", "cache"} <= set(PLUGINS)


def test_what_is_declared_is_what_is_wired(app, enabled):
    registry = app.extensions["portal.plugins"]
    assert [plugin.name for plugin in registry.enabled] == list(enabled)
    declared = {bp.name for name in enabled for bp in PLUGINS[name].blueprints}
    assert set(app.blueprints) == CORE_BLUEPRINTS | declared
    for name, plugin in PLUGINS.items():
        answers = registry.manager.get_plugin(name)
        if name in enabled:
            assert answers is not None and answers.hook_names == set(plugin.hooks)
        else:
            assert answers is None
    expected_jobs = [job.name for name in enabled for job in PLUGINS[name].jobs]
    assert [job.name for job in registry.jobs()] == expected_jobs
    commands = set(app.cli.list_commands(None))
    for name, plugin in PLUGINS.items():
        if plugin.cli is not None:
            assert (name in commands) == (name in enabled)


def test_every_url_rule_belongs_to_a_declared_blueprint(app, enabled):
    # A rule added by hand (app.add_url_rule in a setup) belongs to no blueprint: refused here.
    strays = plugin_template.stray_rules(app, CORE_BLUEPRINTS)
    assert not strays, f"URL rules outside every declared blueprint: {strays}"


def test_the_portal_serves_and_navigates(app, enabled, client, auth, make_user):
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    login = client.get("/auth/login")
    assert login.status_code == 200 and 'type="password"' in login.get_data(as_text=True)
    make_user("root", role="admin")
    auth.login("root")
    home = client.get("/")
    assert home.status_code == 200
    html = home.get_data(as_text=True)
    with app.test_request_context():
        for name in enabled:
            answer = PLUGINS[name].hooks.get("portal_nav_items")
            for item in answer(user=_Admin()) if answer else ():
                assert f'href="{url_for(item.endpoint)}"' in html
    for name in set(PLUGINS) - set(enabled):
        for blueprint in PLUGINS[name].blueprints:
            assert f'href="{blueprint.url_prefix}' not in html  # a disabled plugin adds no navigation


def test_the_openapi_document_describes_the_enabled_routes_only(app, enabled, client):
    document = client.get(f"{API_PREFIX}/openapi.json").get_json()
    documented = {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method.upper() in HTTP_METHODS
    }
    served = {
        (RULE_ARGUMENT.sub(r"{\1}", rule.rule)[len(API_PREFIX) :], method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(f"{API_PREFIX}/")
        for method in rule.methods & HTTP_METHODS
    }
    assert documented == served
    for name in set(PLUGINS) - set(enabled):
        assert not any(tag["name"] == name for tag in document.get("tags", []))


def test_flask_plugins_list_runs(app, enabled):
    result = app.test_cli_runner().invoke(args=["plugins", "list"])
    assert result.exit_code == 0
    for name in enabled:
        assert "enabled" in next(line for line in result.output.splitlines() if line.startswith(name))


class _Admin:
    """The navigation hooks' view of the signed-in admin (they read ``is_admin`` only)."""

    is_admin = True
    is_authenticated = True


# --- one template (README, "Write a plugin"), checked plugin by plugin -----------------------


@pytest.mark.parametrize(
    ("name", "aspect"),
    [
        pytest.param(name, aspect, id=f"{name}-{aspect}")
        for name in sorted(PLUGINS)
        for aspect in plugin_template.STATIC_CHECKS
    ],
)
def test_every_plugin_follows_the_template(name, aspect):
    plugin = PLUGINS[name]
    problems = plugin_template.STATIC_CHECKS[aspect](plugin, plugin_template.package_of(plugin))
    assert not problems, f"plugin {name!r} departs from the template: {problems}"


@pytest.fixture(scope="module")
def core_extension_keys(tmp_path_factory):
    """What the core alone keeps in ``app.extensions``."""
    path = tmp_path_factory.mktemp("core")
    core = create_app(
        {
            "PORTAL_ENV": "testing",
            "DATABASE_URL": f"sqlite:///{path / 'core.db'}",
            "INSTANCE_PATH": str(path),
            "PORTAL_PLUGINS": "",
        }
    )
    return frozenset(core.extensions)


@pytest.fixture(
    params=[
        pytest.param(name, marks=pytest.mark.plugins(*with_requirements(name))) for name in sorted(PLUGINS)
    ],
)
def alone(request):
    return request.param


def test_each_plugin_keeps_its_state_in_one_object_of_its_own(app, alone, core_extension_keys):
    plugin = PLUGINS[alone]
    problems = plugin_template.state_shape(
        app, core_extension_keys, plugin, plugin_template.package_of(plugin)
    )
    assert not problems, f"plugin {alone!r} departs from the template: {problems}"


ASKEW = """\
\"\"\"A plugin written every way but the template's.\"\"\"

from flask import Blueprint

from app.plugin import NavItem, Plugin

bp = Blueprint("odd", __name__, url_prefix="/odd")


def setup(app):
    app.extensions["odd"] = {"visits": 0}
    app.add_url_rule("/odd-metrics", "odd_metrics", lambda: "by hand")


def nav(user):
    return [NavItem("Odd", "core.home")]


plugin = Plugin(name="odd", blueprints=(bp,), setup=setup, hooks={"portal_nav_items": nav})
"""


def test_the_template_checks_name_what_departs_from_it(request, tmp_path, monkeypatch, core_extension_keys):
    (tmp_path / "portal_odd").mkdir()
    (tmp_path / "portal_odd" / "__init__.py").write_text(ASKEW)
    monkeypatch.syspath_prepend(str(tmp_path))
    portal_odd = importlib.import_module("portal_odd")
    request.addfinalizer(lambda: sys.modules.pop("portal_odd", None))
    app = create_app(
        {
            "PORTAL_ENV": "testing",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'odd.db'}",
            "INSTANCE_PATH": str(tmp_path),
            "PORTAL_PLUGINS": "odd",
            "PORTAL_EXTRA_PLUGINS": [portal_odd.plugin],
        }
    )
    found = {
        aspect: " | ".join(check(portal_odd.plugin, portal_odd))
        for aspect, check in plugin_template.STATIC_CHECKS.items()
    }
    assert "FunctionDef setup" in found["init"] and "Assign bp" in found["init"]
    assert "blueprint 'odd' should be portal_odd.views.bp" in found["blueprints"]
    assert "portal_nav_items should be portal_odd.hookimpls.portal_nav_items" in found["hooks"]
    assert "Plugin.setup should be portal_odd.hooks.setup" in found["parts"]
    shape = plugin_template.state_shape(app, core_extension_keys, portal_odd.plugin, portal_odd)
    assert shape == ["app.extensions['odd'] is no plugin's state key"]
    assert plugin_template.stray_rules(app, CORE_BLUEPRINTS) == ["/odd-metrics (odd_metrics)"]
