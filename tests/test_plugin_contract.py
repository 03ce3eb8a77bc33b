"""The contract test: the portal boots with each bundled plugin alone, with all of them and with
none, and what each enabled plugin declares (blueprints, hook answers, jobs, navigation) is
exactly what is wired, while a disabled plugin leaves no trace."""

from __future__ import annotations

import pytest
from flask import url_for

from app.plugin.loader import discover

BUNDLED = ("mfa", "security", "performance", "cache", "plans")
CORE_BLUEPRINTS = {"core", "auth", "account", "admin", "api"}
COMBINATIONS = [(), *((name,) for name in BUNDLED), BUNDLED]


def bundled_plugins():
    found, _ = discover()
    return {name: found[name][1]() for name in BUNDLED}


@pytest.fixture(
    params=[pytest.param(names, marks=pytest.mark.plugins(*names)) for names in COMBINATIONS],
    ids=lambda names: "+".join(names) or "none",
)
def enabled(request):
    return request.param


pytestmark = pytest.mark.config(MFA_REQUIRED_ROLES="")


def test_what_is_declared_is_what_is_wired(app, enabled):
    registry = app.extensions["portal.plugins"]
    plugins = bundled_plugins()
    assert [plugin.name for plugin in registry.enabled] == list(enabled)
    declared = {bp.name for name in enabled for bp in plugins[name].blueprints}
    assert set(app.blueprints) == CORE_BLUEPRINTS | declared
    for name, plugin in plugins.items():
        answers = registry.manager.get_plugin(name)
        if name in enabled:
            assert answers is not None and answers.hook_names == set(plugin.hooks)
        else:
            assert answers is None
    expected_jobs = [job.name for name in enabled for job in plugins[name].jobs]
    assert [job.name for job in registry.jobs()] == expected_jobs


def test_the_portal_serves_and_navigates(app, enabled, client, auth, make_user):
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/auth/login").status_code == 200
    make_user("root", role="admin")
    auth.login("root")
    home = client.get("/")
    assert home.status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 200
    html = home.get_data(as_text=True)
    plugins = bundled_plugins()
    with app.test_request_context():
        for name, plugin in plugins.items():
            if "portal_nav_items" not in plugin.hooks or name not in enabled:
                continue
            for item in plugin.hooks["portal_nav_items"](user=_Admin()):
                assert f'href="{url_for(item.endpoint)}"' in html
    for name in set(BUNDLED) - set(enabled):
        assert f'href="/{name}/' not in html  # a disabled plugin adds no navigation


def test_flask_plugins_list_runs(app, enabled):
    result = app.test_cli_runner().invoke(args=["plugins", "list"])
    assert result.exit_code == 0
    for name in enabled:
        assert "enabled" in next(line for line in result.output.splitlines() if line.startswith(name))


class _Admin:
    """The navigation hooks' view of the signed-in admin (they read ``is_admin`` only)."""

    is_admin = True
    is_authenticated = True
