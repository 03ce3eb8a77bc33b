"""The plugin contract: discovery, enable list, flags, safe mode, failures, hooks, CLI listing."""

import subprocess
import sys
import textwrap

import pytest
from flask import Blueprint

from app import ConfigError, create_app
from app.config import Setting, as_int
from app.plugin import Job, NavItem, Plugin, RequestGuard
from app.plugin.loader import ENTRY_POINT_GROUP, discover
from tests.support.readme import entry_point_setup_cfg, example_files

BUNDLED = ("mfa", "security", "performance", "cache", "plans")


def config(tmp_path, **extra):
    return {
        "PORTAL_ENV": "testing",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        **extra,
    }


def statuses(app):
    return {r.name: (r.status, r.reason) for r in app.extensions["portal.plugins"].records}


def test_every_bundled_plugin_is_discovered():
    found, duplicates = discover()
    assert set(BUNDLED) <= set(found)
    assert duplicates == []


def test_enable_list_and_flags_decide(tmp_path):
    app = create_app(config(tmp_path, PORTAL_PLUGINS="mfa,cache", CACHE_ENABLED="false"))
    result = statuses(app)
    assert result["mfa"] == ("enabled", "")
    assert result["cache"] == ("disabled", "CACHE_ENABLED=false")
    assert result["plans"] == ("disabled", "not in PORTAL_PLUGINS")


def test_safe_mode_enables_nothing(tmp_path):
    app = create_app(config(tmp_path, PORTAL_SAFE_MODE="true"))
    assert all(status == "disabled" for status, _ in statuses(app).values())
    assert all("safe mode" in reason for _, reason in statuses(app).values())
    assert app.extensions["portal.plugins"].enabled == []


def test_unknown_plugin_name_fails_fast(tmp_path):
    with pytest.raises(ConfigError, match="unknown plugin"):
        create_app(config(tmp_path, PORTAL_PLUGINS="mfa,nosuchplugin"))


def test_plugin_listed_twice_fails_fast(tmp_path):
    with pytest.raises(ConfigError, match="listed more than once: mfa"):
        create_app(config(tmp_path, PORTAL_PLUGINS="mfa,mfa"))


def test_duplicate_plugin_name_from_two_sources_fails_fast(tmp_path):
    clash = Plugin(name="mfa")
    with pytest.raises(ConfigError, match="duplicate plugin names: mfa"):
        create_app(config(tmp_path, PORTAL_PLUGINS="", PORTAL_EXTRA_PLUGINS=[clash]))


def test_unmet_requires_fails_fast(tmp_path):
    needy = Plugin(name="needy", requires=("cache",))
    with pytest.raises(ConfigError, match="'needy' requires cache"):
        create_app(config(tmp_path, PORTAL_PLUGINS="needy", PORTAL_EXTRA_PLUGINS=[needy]))


def test_unknown_hook_name_fails_fast(tmp_path):
    odd = Plugin(name="odd", hooks={"portal_no_such_hook": lambda: None})
    with pytest.raises(ConfigError, match="unknown hooks: portal_no_such_hook"):
        create_app(config(tmp_path, PORTAL_PLUGINS="odd", PORTAL_EXTRA_PLUGINS=[odd]))


def test_plugin_setting_is_validated_naming_the_variable(tmp_path):
    tuned = Plugin(name="tuned", settings=(Setting("TUNED_LEVEL", 3, as_int(0, 9)),))
    app = create_app(config(tmp_path, PORTAL_PLUGINS="tuned", PORTAL_EXTRA_PLUGINS=[tuned]))
    assert app.config["TUNED_LEVEL"] == 3
    with pytest.raises(ConfigError, match="^TUNED_LEVEL: must be at most 9"):
        create_app(config(tmp_path, PORTAL_PLUGINS="tuned", TUNED_LEVEL="12", PORTAL_EXTRA_PLUGINS=[tuned]))


def test_a_plugin_is_wired_only_when_enabled(tmp_path):
    bp = Blueprint("hello", __name__, url_prefix="/hello")
    bp.add_url_rule("/", "index", lambda: "hi")
    api_bp = Blueprint("hello_api", __name__, url_prefix="/api/v1/hello")
    api_bp.add_url_rule("/ping", "ping", lambda: {"pong": True})
    calls = []
    hello = Plugin(
        name="hello",
        blueprints=(bp, api_bp),
        setup=lambda app: calls.append(app),
        jobs=(Job("hello.tick", func=lambda: None),),
        hooks={"portal_nav_items": lambda user: [NavItem("Hello", "hello.index")]},
    )
    on = create_app(config(tmp_path, PORTAL_PLUGINS="hello", PORTAL_EXTRA_PLUGINS=[hello]))
    off = create_app(
        config(tmp_path, PORTAL_PLUGINS="hello", HELLO_ENABLED="false", PORTAL_EXTRA_PLUGINS=[hello])
    )
    assert {"hello.index", "hello_api.ping"} <= set(on.view_functions)
    assert "hello.index" not in off.view_functions and "hello_api.ping" not in off.view_functions
    assert calls == [on]
    assert [j.name for j in on.extensions["portal.plugins"].jobs()] == ["hello.tick"]
    assert off.extensions["portal.plugins"].jobs() == []


def test_failing_plugin_stops_startup_when_strict_and_is_listed_as_failed_otherwise(tmp_path):
    # A plugin whose object is wrong is a failure too: its blueprint must carry its name.
    wrong_bp = Plugin(name="wrongbp", blueprints=(Blueprint("other", __name__, url_prefix="/wrongbp"),))
    with pytest.raises(ConfigError, match="'wrongbp' failed to load"):
        create_app(config(tmp_path, PORTAL_PLUGINS="wrongbp", PORTAL_EXTRA_PLUGINS=[wrong_bp]))
    app = create_app(
        config(
            tmp_path, PORTAL_PLUGINS="wrongbp", PORTAL_PLUGINS_STRICT="false", PORTAL_EXTRA_PLUGINS=[wrong_bp]
        )
    )
    status, reason = statuses(app)["wrongbp"]
    assert status == "failed" and "blueprint must be named" in reason


def install_entry_point_plugin(tmp_path, monkeypatch, name: str, body: str) -> None:
    """Install a third-party package ``portal_<name>`` that declares ``name`` in portal.plugins."""
    site = tmp_path / f"site_{name}"
    package = site / f"portal_{name}"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(body))
    dist = site / f"portal_{name}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: portal-{name}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[portal.plugins]\n{name} = portal_{name}:plugin\n")
    monkeypatch.syspath_prepend(str(site))


def test_entry_point_plugins_are_discovered(tmp_path, monkeypatch):
    install_entry_point_plugin(
        tmp_path,
        monkeypatch,
        "hello_ep",
        """
        from flask import Blueprint

        from app.plugin import NavItem, Plugin

        bp = Blueprint("hello_ep", __name__, url_prefix="/hello_ep")
        bp.add_url_rule("/", "index", lambda: "hi")
        plugin = Plugin(
            name="hello_ep",
            description="from an entry point",
            blueprints=(bp,),
            hooks={"portal_nav_items": lambda user: [NavItem("Hello", "hello_ep.index")]},
        )
        """,
    )
    app = create_app(config(tmp_path, PORTAL_PLUGINS="hello_ep"))
    registry = app.extensions["portal.plugins"]
    record = {r.name: r for r in registry.records}["hello_ep"]
    assert record.status == "enabled"
    assert record.source == "entry point portal-hello_ep"
    assert "hello_ep.index" in app.view_functions
    assert [items[0].label for items in registry.call("portal_nav_items", user=None)] == ["Hello"]


def test_an_entry_point_plugin_with_a_mismatched_hook_fails_startup_naming_hook_and_plugin(
    tmp_path, monkeypatch
):
    install_entry_point_plugin(
        tmp_path,
        monkeypatch,
        "askew_ep",
        """
        from app.plugin import Plugin

        def second_factor(user, session):  # the hook passes user only
            return None

        plugin = Plugin(name="askew_ep", hooks={"portal_second_factor": second_factor})
        """,
    )
    message = "plugin 'askew_ep': its answer to hook 'portal_second_factor' takes session"
    with pytest.raises(ConfigError, match=message):
        create_app(config(tmp_path, PORTAL_PLUGINS="askew_ep"))
    # Not strict: the portal starts without it and `flask plugins list` says why.
    app = create_app(config(tmp_path, PORTAL_PLUGINS="askew_ep", PORTAL_PLUGINS_STRICT="false"))
    status, reason = statuses(app)["askew_ep"]
    assert status == "failed" and "portal_second_factor" in reason and "session" in reason
    assert app.extensions["portal.plugins"].manager.get_plugin("askew_ep") is None


PYPROJECT = """\
[build-system]
requires = ["setuptools>=70.1"]
build-backend = "setuptools.build_meta"
"""


def build_project(root, dist: str, package: str, modules: dict[str, str], entry_points: str) -> None:
    """A source tree that pip can build: ``package`` with ``modules``, declared in setup.cfg."""
    (root / package).mkdir(parents=True)
    for name, source in modules.items():
        (root / package / f"{name}.py").write_text(source)
    (root / "pyproject.toml").write_text(PYPROJECT)
    metadata = f"[metadata]\nname = {dist}\nversion = 1.0\n\n[options]\npackages = {package}\n\n"
    (root / "setup.cfg").write_text(metadata + entry_points)


def pip_install(project, target) -> None:
    """Install ``project`` into ``target`` with pip, as an operator would (no network: the
    venv's setuptools builds it, and it needs nothing the portal lacks)."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps"]
    command += ["--no-build-isolation", "--disable-pip-version-check", "--target", str(target), str(project)]
    subprocess.run(command, check=True, capture_output=True, timeout=300)


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """Install a project built by ``build_project`` into a site folder put on sys.path."""
    site = tmp_path / "site"
    names_before = set(sys.modules)

    def install(dist: str, package: str, modules: dict[str, str], entry_points: str) -> None:
        project = tmp_path / "src" / dist
        build_project(project, dist, package, modules, entry_points)
        pip_install(project, site)
        monkeypatch.syspath_prepend(str(site))

    yield install
    for name in set(sys.modules) - names_before:
        if name.split(".")[0].startswith("portal_"):
            del sys.modules[name]


@pytest.mark.slow
def test_the_readme_example_installed_with_pip_as_a_third_party_plugin_works(tmp_path, installed):
    # The README's example as the package portal_hello, declared by the README's setup.cfg lines.
    assert f"{ENTRY_POINT_GROUP} =" in entry_point_setup_cfg()
    installed("portal-hello", "portal_hello", example_files("portal_hello"), entry_point_setup_cfg())
    app = create_app(config(tmp_path, PORTAL_PLUGINS="hello", HELLO_GREETING="Howdy"))
    record = {r.name: r for r in app.extensions["portal.plugins"].records}["hello"]
    assert (record.status, record.source) == ("enabled", "entry point portal-hello")
    assert type(record.plugin.blueprints[0]).__module__ == "flask.blueprints"
    assert record.plugin.blueprints[0].import_name == "portal_hello.views"
    client = app.test_client()
    assert client.get("/hello/ping").json == {"pong": True}
    assert client.get("/hello/").status_code == 302  # deny-by-default holds for it too
    assert app.extensions["plugin.hello"].greeting == "Howdy"


@pytest.mark.slow
def test_a_pip_installed_plugin_with_a_mismatched_hook_fails_startup_naming_hook_and_plugin(
    tmp_path, installed
):
    source = """\
        from app.plugin import Plugin


        def portal_second_factor(user, session):  # the hook passes user only
            return None


        plugin = Plugin(name="askew", hooks={"portal_second_factor": portal_second_factor})
        """
    entry_points = f"[options.entry_points]\n{ENTRY_POINT_GROUP} =\n    askew = portal_askew:plugin\n"
    installed("portal-askew", "portal_askew", {"__init__": textwrap.dedent(source)}, entry_points)
    message = "plugin 'askew': its answer to hook 'portal_second_factor' takes session"
    with pytest.raises(ConfigError, match=message):
        create_app(config(tmp_path, PORTAL_PLUGINS="askew"))


def test_flask_plugins_list_shows_enabled_disabled_and_failed(tmp_path):
    bad = Plugin(name="wrongbp", blueprints=(Blueprint("other", __name__, url_prefix="/wrongbp"),))
    app = create_app(
        config(
            tmp_path,
            PORTAL_PLUGINS="mfa,plans,wrongbp",
            PLANS_ENABLED="0",
            PORTAL_PLUGINS_STRICT="false",
            PORTAL_EXTRA_PLUGINS=[bad],
        )
    )
    output = app.test_cli_runner().invoke(args=["plugins", "list"]).output
    lines = {line.split()[0]: line for line in output.splitlines()}
    assert "enabled" in lines["mfa"]
    assert "disabled" in lines["plans"] and "PLANS_ENABLED=false" in lines["plans"]
    assert "disabled" in lines["cache"] and "not in PORTAL_PLUGINS" in lines["cache"]
    assert "failed" in lines["wrongbp"]


def test_hooks_are_called_in_enable_list_order(tmp_path):
    def answering(name: str) -> Plugin:
        return Plugin(
            name=name,
            hooks={
                "portal_nav_items": lambda user: [NavItem(name, "core.home")],
                "portal_after_password": lambda user, next_url: {"by": name, "next": next_url},
            },
        )

    names = ["third", "first", "second", "fourth"]
    plugins = [answering(name) for name in sorted(names)]  # given in another order than enabled
    app = create_app(config(tmp_path, PORTAL_PLUGINS=",".join(names), PORTAL_EXTRA_PLUGINS=plugins))
    registry = app.extensions["portal.plugins"]
    answers = registry.call("portal_nav_items", user=None)
    assert [items[0].label for items in answers] == names
    assert registry.call_first("portal_after_password", user=None, next_url="/x") == {
        "by": "third",
        "next": "/x",
    }
    with pytest.raises(KeyError):
        registry.call("portal_unknown")


def test_hooks_are_called_by_keyword_and_first_result_hooks_only_one_way(tmp_path):
    app = create_app(config(tmp_path, PORTAL_PLUGINS="plans"))
    registry = app.extensions["portal.plugins"]
    with pytest.raises(TypeError, match="positional argument"):
        registry.call("portal_nav_items", None)  # type: ignore[misc]  (a positional argument)
    with pytest.raises(TypeError, match="positional argument"):
        registry.manager.hook.portal_nav_items(None)
    with pytest.raises(
        TypeError, match="'portal_cache_stats' is first-result: call it with first_hook_result"
    ):
        registry.call("portal_cache_stats")
    with pytest.raises(TypeError, match="'portal_nav_items' is not first-result: call it with call_hook"):
        registry.call_first("portal_nav_items", user=None)


def test_an_answer_may_take_a_subset_of_the_arguments(tmp_path):
    seen = []
    modest = Plugin(name="modest", hooks={"portal_after_password": lambda user: seen.append(user)})
    app = create_app(config(tmp_path, PORTAL_PLUGINS="modest", PORTAL_EXTRA_PLUGINS=[modest]))
    registry = app.extensions["portal.plugins"]
    assert registry.call_first("portal_after_password", user="alice", next_url="/x") is None
    assert seen == ["alice"]


def test_an_answer_with_an_argument_its_hook_lacks_fails_startup_naming_hook_and_plugin(tmp_path):
    greedy = Plugin(name="greedy", hooks={"portal_nav_items": lambda user, request: []})
    with pytest.raises(ConfigError, match="plugin 'greedy'.*hook 'portal_nav_items' takes request"):
        create_app(config(tmp_path, PORTAL_PLUGINS="greedy", PORTAL_EXTRA_PLUGINS=[greedy]))


def test_request_guards_run_before_csrf_and_access(tmp_path):
    from flask import request

    def guard():
        if request.remote_addr == "203.0.113.66":
            return "blocked", 403
        return None

    bouncer = Plugin(name="bouncer", guards=(RequestGuard("bouncer.blocklist", order=50, func=guard),))
    app = create_app(config(tmp_path, PORTAL_PLUGINS="bouncer", PORTAL_EXTRA_PLUGINS=[bouncer]))
    client = app.test_client()
    blocked = client.post("/auth/login", environ_base={"REMOTE_ADDR": "203.0.113.66"})
    assert blocked.status_code == 403 and blocked.get_data(as_text=True) == "blocked"
    assert client.post("/auth/login").status_code == 400  # others reach the CSRF check


@pytest.mark.parametrize(
    ("blueprints", "message"),
    [
        (
            (Blueprint("elsewhere", __name__, url_prefix="/outside"),),
            "first blueprint must be named 'outside'",
        ),
        (
            (
                Blueprint("outside", __name__, url_prefix="/outside"),
                Blueprint("other", __name__, url_prefix="/x"),
            ),
            "blueprint 'other' must be named outside_",
        ),
        ((Blueprint("outside", __name__),), "must have the url_prefix /outside or /api/v1/outside"),
        ((Blueprint("outside", __name__, url_prefix="/auth"),), "not '/auth'"),
        ((Blueprint("outside", __name__, url_prefix="/outsider"),), "not '/outsider'"),
        (
            (
                Blueprint("outside", __name__, url_prefix="/outside"),
                Blueprint("outside_api", __name__, url_prefix="/api/v1/plans"),
            ),
            "blueprint 'outside_api' must have the url_prefix",
        ),
    ],
)
def test_every_blueprint_keeps_to_its_plugins_names_and_urls(tmp_path, blueprints, message):
    # Another plugin's or the core's URLs (here /auth and /api/v1/plans) stay out of reach.
    plugin = Plugin(name="outside", blueprints=blueprints)
    with pytest.raises(ConfigError, match=message):
        create_app(config(tmp_path, PORTAL_PLUGINS="outside", PORTAL_EXTRA_PLUGINS=[plugin]))


def test_no_bundled_plugin_registers_a_blueprint_by_hand(tmp_path):
    app = create_app(config(tmp_path))
    declared = {
        blueprint.name
        for plugin in app.extensions["portal.plugins"].enabled
        for blueprint in plugin.blueprints
    }
    core = {"core", "auth", "account", "admin", "api"}
    assert set(app.blueprints) == declared | core


def _metrics_like(name: str, root: str, prefix: str | None = None) -> Plugin:
    page = Blueprint(name, __name__, url_prefix=f"/{name}")
    scrape = Blueprint(f"{name}_scrape", __name__, url_prefix=prefix or root)
    scrape.add_url_rule("", "scrape", lambda: "figures")
    return Plugin(name=name, blueprints=(page, scrape), root_paths=(root,))


def test_a_declared_root_path_takes_a_url_outside_the_plugins_prefix(tmp_path):
    plugin = _metrics_like("gauge", "/gauges")
    app = create_app(config(tmp_path, PORTAL_PLUGINS="gauge", PORTAL_EXTRA_PLUGINS=[plugin]))
    assert {rule.rule: rule.endpoint for rule in app.url_map.iter_rules()}["/gauges"] == "gauge_scrape.scrape"


@pytest.mark.parametrize("root", ["/auth", "/healthz", "/static", "/metrics"])
def test_a_root_path_the_core_or_another_plugin_serves_fails_startup(tmp_path, root):
    # /metrics: the performance plugin, enabled first, serves it already.
    plugin = _metrics_like("gauge", root)
    with pytest.raises(ConfigError, match=f"plugin 'gauge': root path '{root}' is taken by"):
        create_app(config(tmp_path, PORTAL_PLUGINS="performance,gauge", PORTAL_EXTRA_PLUGINS=[plugin]))


@pytest.mark.parametrize(
    "root",
    ["/api", "/two/segments", "metrics", "/", "/Upper", "/api/v1", "/api/v1/", "/api/v1/a/b",
     "/api/v1/Upper", "/api/v2/x", "/api/v1x"],
)  # fmt: skip
def test_a_root_path_must_be_one_plain_segment_outside_or_just_below_the_api(tmp_path, root):
    plugin = _metrics_like("gauge", root, prefix="/gauge/x")
    with pytest.raises(
        ConfigError, match="must be one segment such as /metrics, or an API root /api/v1/<segment>"
    ):
        create_app(config(tmp_path, PORTAL_PLUGINS="gauge", PORTAL_EXTRA_PLUGINS=[plugin]))


def test_a_declared_api_root_takes_urls_below_the_api(tmp_path):
    plugin = _metrics_like("gauge", "/api/v1/gauges", prefix="/api/v1/gauges/now")
    app = create_app(config(tmp_path, PORTAL_PLUGINS="gauge", PORTAL_EXTRA_PLUGINS=[plugin]))
    rules = {rule.rule: rule.endpoint for rule in app.url_map.iter_rules()}
    assert rules["/api/v1/gauges/now"] == "gauge_scrape.scrape"


@pytest.mark.parametrize(
    ("root", "enabled", "refusal"),
    [
        ("/api/v1/openapi.json", "gauge", "is taken by 'api.openapi"),  # the core's
        ("/api/v1/passkeys", "mfa,gauge", "is taken by 'mfa_passkeys_api."),  # mfa's API root
        ("/api/v1/mfa", "gauge,mfa", "is plugin 'mfa'"),  # mfa's own API, registered later
        ("/api/v1/plans", "plans,gauge", "is plugin 'plans'"),
    ],
)
def test_an_api_root_the_core_or_another_plugin_serves_fails_startup(tmp_path, root, enabled, refusal):
    plugin = _metrics_like("gauge", root)
    with pytest.raises(ConfigError, match=f"plugin 'gauge': root path '{root}' {refusal}"):
        create_app(config(tmp_path, PORTAL_PLUGINS=enabled, PORTAL_EXTRA_PLUGINS=[plugin]))


def test_a_blueprint_outside_its_declared_root_paths_fails_startup(tmp_path):
    plugin = _metrics_like("gauge", "/gauges", prefix="/other")
    with pytest.raises(ConfigError, match="blueprint 'gauge_scrape' must have the url_prefix /gauge or"):
        create_app(config(tmp_path, PORTAL_PLUGINS="gauge", PORTAL_EXTRA_PLUGINS=[plugin]))


def test_a_root_path_named_like_an_enabled_plugin_fails_startup_whatever_the_order(tmp_path):
    plugin = _metrics_like("gauge", "/plans")
    with pytest.raises(ConfigError, match="root path '/plans' is plugin 'plans'"):
        create_app(config(tmp_path, PORTAL_PLUGINS="gauge,plans", PORTAL_EXTRA_PLUGINS=[plugin]))
