"""Property-based fuzzing of every documented operation: wrong types, negative and huge numbers,
unknown enum values, 10 kB strings, malformed JSON and wrong content types answer a documented
4xx (400 with a JSON error naming the field), never a 500."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.api.conftest import concrete_path, operations, response_problem

BAD_TEXT = st.sampled_from(
    ["", " ", "-1", "0", "-0", "1e309", "NaN", "-Infinity", "9" * 40, "x" * 10_240, "\x00", "%00",
     "' OR 1=1 --", "<script>alert(1)</script>", "../../etc/passwd", "true", "null", "[]", "{}", "\u202e"]
)  # fmt: skip
BAD_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats()
    | st.text(max_size=20)
    | BAD_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
FUZZ = settings(max_examples=120, deadline=None)


def valid_value(schema: dict):
    """A strategy for values the parameter's schema allows (as query-string text)."""
    if "enum" in schema:
        return st.sampled_from([str(value) for value in schema["enum"]])
    kind = schema.get("type")
    if kind == "integer":
        return st.integers(schema.get("minimum", -1000), schema.get("maximum", 1000)).map(str)
    if kind == "number":
        low, high = schema.get("minimum", -1000), schema.get("maximum", 1000)
        return st.floats(low, high, allow_nan=False).map(str)
    return st.text(max_size=min(schema.get("maxLength", 20), 20))


def query_operations(document):
    return [(path, method, op) for path, method, op in operations(document) if method == "get"]


def body_operations(document):
    return [(path, method, op) for path, method, op in operations(document) if "requestBody" in op]


def body_fields(document, operation) -> set[str]:
    """The top-level property names of the operation's JSON body schema."""
    content = operation["requestBody"].get("content", {}).get("application/json", {})
    schema = content.get("schema", {})
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return set(schema.get("properties", {}))


def check_error(response, sent_names) -> None:
    """A 4xx is JSON with a message; a 400 names the offending field."""
    body = response.get_json()
    assert isinstance(body, dict) and body.get("error"), response.data[:200]
    if response.status_code == 400:
        assert body.get("field"), body
        assert body["field"] in sent_names or body["field"] == "body", body


@FUZZ
@given(data=st.data())
def test_query_parameters_never_cause_a_server_error(as_admin, document, data):
    path, method, operation = data.draw(st.sampled_from(query_operations(document)))
    parameters = [p for p in operation.get("parameters", []) if p["in"] == "query"]
    query = {}
    for parameter in parameters:
        value = data.draw(
            st.none() | valid_value(parameter.get("schema", {})) | BAD_TEXT | st.text(max_size=30)
        )
        if value is not None:
            query[parameter["name"]] = value
    if data.draw(st.booleans()):
        query[data.draw(st.text(min_size=1, max_size=10))] = data.draw(BAD_TEXT)
    response = as_admin.get(concrete_path(document, path, method), query_string=query)
    assert response.status_code < 500, (path, query, response.data[:300])
    assert response_problem(document, path, method, response) is None
    if response.status_code >= 400:
        path_names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        check_error(response, {name[:80] for name in query} | path_names)


@FUZZ
@given(data=st.data())
def test_request_bodies_never_cause_a_server_error(as_admin, document, data):
    operations_with_body = body_operations(document)
    if not operations_with_body:
        pytest.skip("no operation takes a body")
    path, method, operation = data.draw(st.sampled_from(operations_with_body))
    kind = data.draw(st.sampled_from(["json", "malformed", "form", "text", "none"]))
    url = concrete_path(document, path, method)
    send = getattr(as_admin, method)
    if kind == "json":
        payload = data.draw(BAD_JSON)
        response = send(url, data=json.dumps(payload), content_type="application/json")
        sent = set(payload) if isinstance(payload, dict) else set()
    elif kind == "malformed":
        response = send(url, data=data.draw(st.sampled_from(['{"tags": [', "{'a': 1}", "\x00", ""])),
                        content_type="application/json")  # fmt: skip
        sent = set()
    elif kind == "form":
        response = send(url, data={"tags": "plans"})
        sent = {"tags"}
    elif kind == "text":
        response = send(url, data="tags=plans", content_type="text/plain")
        sent = set()
    else:
        response = send(url)
        sent = set()
    assert response.status_code < 500, (path, kind, response.data[:300])
    assert response_problem(document, path, method, response) is None
    if response.status_code >= 400:
        path_names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        known = path_names | body_fields(document, operation)
        check_error(response, {str(name)[:80] for name in sent} | known)
