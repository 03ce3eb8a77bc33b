"""One portal with every bundled plugin enabled and each plugin's demo data, shared by the
API-wide tests; clients signed in as an admin and as a client, and the OpenAPI document."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from app.auth.passwords import hash_password
from app.extensions import db
from app.models import User
from app.plugin import call_hook
from app.plugin.loader import discover
from tests.conftest import PASSWORD, TEST_DATABASE_URL, AuthActions, portal
from tests.support.postgres import private_database

ALL_PLUGINS = tuple(sorted(discover()[0]))
API_PREFIX = "/api/v1"
DOCUMENT_URI = "urn:portal:openapi"
RULE_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def openapi_path(rule: str) -> str:
    """A Werkzeug rule under /api/v1 as an OpenAPI path: /x/<int:id> -> /x/{id}."""
    return RULE_ARGUMENT.sub(r"{\1}", rule)[len(API_PREFIX) :]


@contextmanager
def portal_of_its_own(path: Path, **config) -> Iterator[Flask]:
    """A portal on a database no other portal of the run uses: SQLite under ``path``, or with
    TEST_DATABASE_URL a private database on that PostgreSQL server (the package's ``api_app``
    lives on the shared one meanwhile, and a second portal there would drop its tables)."""
    if not TEST_DATABASE_URL:
        with portal(path, **config) as app:
            yield app
        return
    with private_database(TEST_DATABASE_URL, "api") as url, portal(path, DATABASE_URL=url, **config) as app:
        yield app


def seed_api_users(app: Flask) -> None:
    """An admin ``api-admin`` and a client ``api-client``, and each plugin's demo data."""
    with app.app_context():
        users = {
            role: User(username=f"api-{role}", password_hash=hash_password(PASSWORD), role=role)
            for role in ("admin", "client")
        }
        db.session.add_all(users.values())
        db.session.commit()
        call_hook("portal_demo_seed", users=users)


@pytest.fixture(scope="package")
def api_app(tmp_path_factory):
    with portal(
        tmp_path_factory.mktemp("api"),
        PORTAL_PLUGINS=",".join(ALL_PLUGINS),
        PORTAL_PLUGINS_STRICT=True,
        # The fuzzer sends thousands of requests; rate limits would answer them with 429.
        RATE_LIMIT_ENABLED=False,
        # Admins must otherwise enrol in MFA before any API answers them; enrolment is the mfa
        # plugin's own test subject, the API behind it is ours.
        MFA_REQUIRED_ROLES="",
    ) as app:
        seed_api_users(app)
        yield app


def signed_in(app, role: str):
    client = app.test_client()
    actions = AuthActions(client)
    assert actions.login(f"api-{role}").status_code == 302
    # Unsafe API methods need the session's CSRF token in a header, as a browser script sends it.
    client.environ_base["HTTP_X_CSRFTOKEN"] = actions.csrf_token("/")
    return client


@pytest.fixture(scope="package")
def as_admin(api_app):
    return signed_in(api_app, "admin")


@pytest.fixture(scope="package")
def as_client(api_app):
    return signed_in(api_app, "client")


@pytest.fixture(scope="package")
def document(api_app) -> dict:
    response = api_app.test_client().get(f"{API_PREFIX}/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def operations(document: dict):
    """Every (path, method, operation) of the document."""
    for path, item in sorted(document["paths"].items()):
        for method, operation in sorted(item.items()):
            if method in {"get", "put", "post", "delete", "patch"}:
                yield path, method, operation


def operation_responses(document: dict, path: str, method: str) -> dict:
    return document["paths"][path][method]["responses"]


def _pointer(*parts: str) -> str:
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


def response_problem(document: dict, path: str, method: str, response) -> str | None:
    """Why ``response`` does not match the document for ``method path`` (None when it does)."""
    responses = operation_responses(document, path, method)
    code = str(response.status_code)
    key = code if code in responses else ("default" if "default" in responses else None)
    label = f"{method.upper()} {path} -> {code}"
    if key is None:
        return f"{label}: status not documented ({', '.join(responses)})"
    content = responses[key].get("content", {})
    if "application/json" not in content:
        return None if not response.data or key == "204" else f"{label}: body not documented"
    if response.mimetype != "application/json":
        return f"{label}: documented as JSON but sent {response.mimetype}"
    schema = content["application/json"].get("schema")
    if schema is None:
        return f"{label}: no schema"
    registry = Registry().with_resource(DOCUMENT_URI, DRAFT202012.create_resource(document))
    pointer = _pointer("paths", path, method, "responses", key, "content", "application/json", "schema")
    validator = Draft202012Validator({"$ref": f"{DOCUMENT_URI}#{pointer}"}, registry=registry)
    errors = sorted(validator.iter_errors(response.get_json()), key=lambda error: error.path)
    if errors:
        return f"{label}: {errors[0].message} at {list(errors[0].absolute_path)}"
    return None


def path_value(parameter: dict):
    """A value for a path parameter: its example, else one fitting its schema's type and format."""
    schema = parameter.get("schema", {})
    for candidate in (parameter.get("example"), *schema.get("examples", []), schema.get("default")):
        if candidate is not None:
            return candidate
    if schema.get("type") == "integer":
        return max(1, schema.get("minimum", 1))
    if schema.get("format") in {"ipv4", "ip"}:
        return "203.0.113.7"
    return "x"


def concrete_path(document: dict, path: str, method: str) -> str:
    """``path`` with every {parameter} replaced by a plausible value."""
    operation = document["paths"][path][method]
    parameters = [*document["paths"][path].get("parameters", []), *operation.get("parameters", [])]
    for parameter in parameters:
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}", str(path_value(parameter)))
    return API_PREFIX + path
