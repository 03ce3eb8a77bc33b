"""The OpenAPI document describes every /api/v1 route of every plugin and is valid OpenAPI 3.1."""

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator

from tests.api.conftest import ALL_PLUGINS, API_PREFIX, openapi_path, operations, response_problem

METHODS = {"GET", "PUT", "POST", "DELETE", "PATCH"}


def api_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith(API_PREFIX + "/")]


def test_every_plugin_is_enabled(api_app):
    registry = api_app.extensions["portal.plugins"]
    assert sorted(plugin.name for plugin in registry.enabled) == list(ALL_PLUGINS)


def test_every_api_route_is_documented(api_app, document):
    missing = []
    for rule in api_rules(api_app):
        item = document["paths"].get(openapi_path(rule.rule), {})
        missing += [
            f"{method} {rule.rule}" for method in sorted(rule.methods & METHODS) if method.lower() not in item
        ]
    assert not missing, f"routes missing from /api/v1/openapi.json: {missing}"


def test_every_documented_operation_exists(api_app, document):
    routes = {
        (openapi_path(rule.rule), method.lower()) for rule in api_rules(api_app) for method in rule.methods
    }
    stale = [
        f"{method.upper()} {path}" for path, method, _ in operations(document) if (path, method) not in routes
    ]
    assert not stale, f"documented but not served: {stale}"


def test_path_parameters_are_documented(api_app, document):
    for rule in api_rules(api_app):
        for method, operation in document["paths"][openapi_path(rule.rule)].items():
            if method == "parameters":
                continue
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            declared |= {p["name"] for p in document["paths"][openapi_path(rule.rule)].get("parameters", [])}
            assert set(rule.arguments) <= declared, (
                f"{method.upper()} {rule.rule}: {rule.arguments - declared}"
            )


def test_the_document_is_valid_openapi_3_1(document):
    OpenAPIV31SpecValidator(document).validate()


def test_operations_are_complete(document):
    """Unique operation ids, a success response, and JSON errors described with a schema."""
    ids = [operation.get("operationId") for _, _, operation in operations(document)]
    assert None not in ids and len(ids) == len(set(ids))
    for path, method, operation in operations(document):
        responses = operation["responses"]
        assert any(code.startswith("2") for code in responses), f"{method} {path}: no success response"
        for code, response in responses.items():
            if code != "204":
                assert "application/json" in response.get("content", {}), f"{method} {path} {code}"
        if path != "/openapi.json":
            assert "401" in responses, f"{method} {path}: the sign-in refusal is not described"
        # Query parameters and bodies can be wrong (400); a path parameter that does not match
        # its converter is simply a URL that does not exist (404).
        query = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
        if query or operation.get("requestBody"):
            assert "400" in responses, f"{method} {path}: takes input but describes no 400"


@pytest.mark.parametrize("name", ["Error"])
def test_core_schemas_are_present(document, name):
    assert name in document["components"]["schemas"]


def test_every_schema_is_a_valid_json_schema(document):
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_every_operation_documents_the_answers_the_portal_gives_around_it(document):
    """Request inspection (400), a blocked address (403) and the rate limits (429) can answer any
    operation; a path value no route accepts any operation with a path parameter (404); a body
    over the size limit any operation that takes one (413)."""
    for path, method, operation in operations(document):
        expected = {"400", "403", "429"}
        expected |= {"404"} if "{" in path else set()
        expected |= {"413"} if "requestBody" in operation else set()
        assert expected <= set(operation["responses"]), (method, path, sorted(operation["responses"]))


@pytest.mark.parametrize("ip", ["1.2.3.4%0A", "%F1%90%9B%88v%0A%03"])
def test_an_address_no_route_accepts_is_a_documented_404(as_admin, as_client, document, ip):
    """A line break after the first character matches no route (the path converter's ``.``)."""
    for caller in (as_admin, as_client):
        for method, suffix in (("get", ""), ("post", "/block"), ("delete", "/block")):
            response = getattr(caller, method)(f"{API_PREFIX}/security/ips/{ip}{suffix}", json={})
            assert response.status_code == 404
            assert response_problem(document, "/security/ips/{ip}" + suffix, method, response) is None


def test_a_body_over_the_size_limit_is_a_documented_413(api_app, as_admin, document):
    body = b'{"tags": ["' + b"x" * api_app.config["MAX_CONTENT_LENGTH"] + b'"]}'
    response = as_admin.post(f"{API_PREFIX}/cache/invalidate", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response_problem(document, "/cache/invalidate", "post", response) is None
