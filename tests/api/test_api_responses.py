"""Real responses of every documented GET operation match the documented status and schema,
for an anonymous caller, a client and an admin."""

from tests.api.conftest import concrete_path, operations, response_problem


def test_real_responses_match_the_document(api_app, as_admin, as_client, document):
    problems, checked = [], []
    callers = {"anonymous": api_app.test_client(), "client": as_client, "admin": as_admin}
    for path, method, _ in operations(document):
        if method != "get":
            continue
        for who, caller in callers.items():
            response = caller.get(concrete_path(document, path, method))
            problem = response_problem(document, path, method, response)
            if problem:
                problems.append(f"{who}: {problem}")
            checked.append((path, who, response.status_code))
    assert not problems, "\n".join(problems)
    assert ("/plans/search", "client", 200) in checked
    assert ("/plans/search", "anonymous", 401) in checked


def test_a_full_search_page_matches_its_schema(as_client, document):
    response = as_client.get("/api/v1/plans/search?state=CA&per_page=100&sort=-stars")
    assert response.status_code == 200 and len(response.get_json()["items"]) == 100
    assert response_problem(document, "/plans/search", "get", response) is None


def test_a_schema_violation_is_caught(as_client, document):
    """The checker itself fails on a body that breaks the schema (no test that cannot fail)."""
    response = as_client.get("/api/v1/plans/search?per_page=1")
    response.set_data(response.get_data(as_text=True).replace('"plan_type":"', '"plan_type":"X'))
    assert "is not one of" in response_problem(document, "/plans/search", "get", response)
