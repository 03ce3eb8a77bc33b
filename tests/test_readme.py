"""The README's commands and its example plugin stay true: the example's files are written to a
package ``plugins/hello`` (found as a bundled plugin is), the portal starts with it, and the
package holds to the plugin template."""

import importlib
import re
import sys

import pytest

import plugins
from app import create_app
from tests.conftest import AuthActions
from tests.support import plugin_template
from tests.support.readme import README, example_files


def test_readme_opens_with_the_two_commands():
    commands = re.search(r"```sh\n(.*?)```", README, re.S).group(1).splitlines()
    assert commands[0].startswith("python3 dev.py ") and commands[1].startswith("python3 dev.py test")


def test_the_example_has_every_file_the_template_names_for_it():
    files = list(example_files())
    assert files[-1] == "__init__"  # shown last: the table of contents of what comes before
    assert {"__init__", "views", "api", "hookimpls", "settings", "state", "hooks"} <= set(files)


@pytest.fixture
def hello_package(tmp_path, monkeypatch):
    """The README's example as the package ``plugins.hello``, removed again afterwards."""
    folder = tmp_path / "bundle" / "hello"
    folder.mkdir(parents=True)
    for name, source in example_files().items():
        (folder / f"{name}.py").write_text(source)
    monkeypatch.setattr(plugins, "__path__", [*plugins.__path__, str(folder.parent)])
    importlib.invalidate_caches()
    yield importlib.import_module("plugins.hello")
    for module in [m for m in sys.modules if m == "plugins.hello" or m.startswith("plugins.hello.")]:
        del sys.modules[module]
    if hasattr(plugins, "hello"):
        delattr(plugins, "hello")


def _portal(tmp_path, **config):
    from app.extensions import db

    app = create_app(
        {
            "PORTAL_ENV": "testing",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
            "INSTANCE_PATH": str(tmp_path),
            "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
            **config,
        }
    )
    with app.app_context():
        db.create_all()
    return app


@pytest.fixture
def hello_app(tmp_path, hello_package):
    return _portal(tmp_path, PORTAL_PLUGINS="hello", HELLO_GREETING="Good day")


def test_the_example_plugin_works(hello_app):
    from app.auth.passwords import hash_password
    from app.extensions import db
    from app.models import User

    record = {r.name: r for r in hello_app.extensions["portal.plugins"].records}["hello"]
    assert (record.source, record.status) == ("bundled", "enabled")
    client = hello_app.test_client()
    assert client.get("/hello/ping").json == {"pong": True}
    assert client.get("/hello/").status_code == 302
    assert client.get("/api/v1/hello/greeting").status_code == 401
    with hello_app.app_context():
        db.session.add(User(username="alice", password_hash=hash_password("a long password 1")))
        db.session.commit()
    AuthActions(client).login("alice", "a long password 1")
    page = client.get("/hello/").get_data(as_text=True)
    assert "Good day" in page and "Sign-ins: 1" in page  # the receiver counted the sign-in
    assert client.get("/api/v1/hello/greeting").json == {"greeting": "Good day"}
    assert 'href="/hello/"' in client.get("/").get_data(as_text=True)
    document = client.get("/api/v1/openapi.json").json
    assert "get" in document["paths"]["/hello/greeting"]


def test_the_example_plugin_follows_the_template(tmp_path, hello_app, hello_package):
    core = _portal(tmp_path / "core", PORTAL_PLUGINS="")
    assert type(hello_app.extensions["plugin.hello"]).__name__ == "HelloState"
    assert plugin_template.all_problems(hello_app, core.extensions, hello_package.plugin) == []
