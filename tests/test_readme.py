"""The README's commands and its minimal plugin example stay true."""

import re
from pathlib import Path

import pytest

from app import create_app
from app.plugin import Plugin
from tests.conftest import AuthActions

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def minimal_plugin() -> Plugin:
    block = re.search(r"```python\n# plugins/hello/__init__.py\n(.*?)```", README, re.S).group(1)
    namespace: dict = {"__name__": "readme_hello"}
    exec(compile(block, "README.md", "exec"), namespace)
    return namespace["plugin"]


def test_readme_opens_with_the_two_commands():
    commands = re.search(r"```sh\n(.*?)```", README, re.S).group(1).splitlines()
    assert commands[0].startswith("python3 dev.py ") and commands[1].startswith("python3 dev.py test")


@pytest.fixture
def hello_app(tmp_path):
    from app.extensions import db

    app = create_app(
        {
            "PORTAL_ENV": "testing",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
            "INSTANCE_PATH": str(tmp_path),
            "PORTAL_PLUGINS": "hello",
            "PORTAL_EXTRA_PLUGINS": [minimal_plugin()],
            "HELLO_GREETING": "Good day",
        }
    )
    with app.app_context():
        db.create_all()
    return app


def test_the_minimal_plugin_works(hello_app):
    from app.auth.passwords import hash_password
    from app.extensions import db
    from app.models import User

    client = hello_app.test_client()
    assert client.get("/hello/ping").json == {"pong": True}
    assert client.get("/hello/").status_code == 302
    with hello_app.app_context():
        db.session.add(User(username="alice", password_hash=hash_password("a long password 1")))
        db.session.commit()
    AuthActions(client).login("alice", "a long password 1")
    page = client.get("/hello/").get_data(as_text=True)
    assert "Good day" in page
    assert 'href="/hello/"' in client.get("/").get_data(as_text=True)
