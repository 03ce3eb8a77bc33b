"""Schemathesis over the whole /api/v1 document, signed in as a client and as an admin: the
examples, coverage and fuzzing phases, and no response that breaks the document (no 5xx, no
undocumented status or content type, no body outside its schema).

The fuzzer runs against a portal of its own (its own database): the alerts it changes, the
addresses it blocks and the caches it invalidates stay there. Its limits are raised rather than
switched off, so the limiter still runs on every request without answering thousands of them
with 429; the test address is never blocked automatically, so a probe the fuzzer makes (a
client calling admin operations) cannot lock the test users out.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import ALL_PLUGINS, API_PREFIX, portal_of_its_own, seed_api_users, signed_in
from tests.conftest import portal

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Examples per operation and phase: the whole run stays within a few minutes on two cores.
MAX_EXAMPLES = 60
FUZZ_CONFIG = {
    "phases": {
        "examples": {"enabled": True},
        "coverage": {"enabled": True},
        "fuzzing": {"enabled": True},
        "stateful": {"enabled": False},
    },
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES},
}


FUZZ_PORTAL = {
    "PORTAL_PLUGINS": ",".join(ALL_PLUGINS),
    "PORTAL_PLUGINS_STRICT": True,
    "RATE_LIMIT_MAX_REQUESTS": 1_000_000,
    "RATE_LIMIT_API": "1000000 per 15 minutes",
    "SECURITY_BAN_THRESHOLD": "1000000 per 10 minutes",
    "SECURITY_NEVER_BLOCK": "127.0.0.0/8,::1/128",
    # Admins must otherwise enrol in MFA before any API answers them (as in ``api_app``).
    "MFA_REQUIRED_ROLES": "",
}


def _served_document() -> dict:
    """The document a portal with every plugin serves (read at collection: schemathesis makes
    one test per operation from it; ``test_the_fuzzed_document_is_the_served_one`` keeps the
    two the same)."""
    with tempfile.TemporaryDirectory() as folder:
        sqlite = f"sqlite:///{Path(folder) / 'document.db'}"  # never the shared test database
        with portal(Path(folder), **{**FUZZ_PORTAL, "DATABASE_URL": sqlite}) as app:
            response = app.test_client().get(f"{API_PREFIX}/openapi.json")
    assert response.status_code == 200
    return response.get_json()


DOCUMENT = _served_document()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=schemathesis.Config.from_dict(FUZZ_CONFIG))


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    with portal_of_its_own(tmp_path_factory.mktemp("api-fuzz"), **FUZZ_PORTAL) as app:
        seed_api_users(app)
        yield app


@pytest.fixture(scope="module")
def fuzz_as_client(fuzz_app):
    return signed_in(fuzz_app, "client")


@pytest.fixture(scope="module")
def fuzz_as_admin(fuzz_app):
    return signed_in(fuzz_app, "admin")


def test_the_fuzzed_document_is_the_served_one(fuzz_app):
    assert fuzz_app.test_client().get(f"{API_PREFIX}/openapi.json").get_json() == DOCUMENT


@schema.parametrize()
def test_the_api_keeps_its_document_for_a_client(case, fuzz_app, fuzz_as_client):
    case.call_and_validate(session=fuzz_as_client, app=fuzz_app, checks=CHECKS)


@schema.parametrize()
def test_the_api_keeps_its_document_for_an_admin(case, fuzz_app, fuzz_as_admin):
    case.call_and_validate(session=fuzz_as_admin, app=fuzz_app, checks=CHECKS)


@pytest.mark.parametrize("break_it", ["drop the 200", "require a field", "say it is text"])
def test_the_checks_fail_on_a_response_the_document_does_not_allow(fuzz_app, fuzz_as_client, break_it):
    """The same checks against a document that no longer fits a real answer (not a check that
    cannot fail)."""
    document = copy.deepcopy(DOCUMENT)
    responses = document["paths"]["/mfa/status"]["get"]["responses"]
    if break_it == "drop the 200":
        del responses["200"]
    elif break_it == "require a field":
        responses["200"]["content"]["application/json"]["schema"] = {"type": "object", "required": ["nope"]}
    else:
        responses["200"]["content"] = {"text/plain": {"schema": {"type": "string"}}}
    operation = schemathesis.openapi.from_dict(document)["/mfa/status"]["GET"]
    with pytest.raises(FailureGroup):
        operation.Case().call_and_validate(session=fuzz_as_client, app=fuzz_app, checks=CHECKS)
