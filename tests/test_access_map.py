"""Walk the whole URL map (every plugin enabled) and prove the access rules on every route:
admin routes answer 403 to a client and send an anonymous user to sign-in (401 under /api/)."""

import pytest
from werkzeug.routing import IntegerConverter

from app.access import ADMIN, PUBLIC, access_level
from tests.conftest import AuthActions

ALL_PLUGINS = ("mfa", "security", "performance", "cache", "plans")
# Paths that belong to the admin area by their place in the URL space: whatever their view
# declares, these must be admin-only (catches an admin page that forgot its guard).
ADMIN_AREAS = (
    "/admin",
    "/security",
    "/performance",
    "/cache",
    "/api/v1/security",
    "/api/v1/performance",
    "/api/v1/cache",
)
SAMPLE_VALUES = {"ip": "203.0.113.9", "filename": "portal.css"}


def sample_url(rule) -> str:
    values = {}
    for name, converter in rule._converters.items():
        values[name] = 1 if isinstance(converter, IntegerConverter) else SAMPLE_VALUES.get(name, "x")
    return rule.build(values)[1]


def routes(app):
    for rule in app.url_map.iter_rules():
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        for method in methods:
            yield rule, method, access_level(app, rule.endpoint)


def call(client, method, url, csrf):
    headers = {"X-CSRFToken": csrf}
    if method == "GET":
        return client.get(url)
    return client.open(url, method=method, data={"csrf_token": csrf}, headers=headers)


def in_admin_area(rule) -> bool:
    """Admin URL space, except static files (stylesheets and scripts are public everywhere)."""
    if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
        return False
    return rule.rule.startswith(ADMIN_AREAS) or "/admin/" in rule.rule


pytestmark = [pytest.mark.plugins(*ALL_PLUGINS), pytest.mark.config(MFA_REQUIRED_ROLES="")]


def test_admin_area_routes_are_declared_admin(app):
    wrong = [rule.rule for rule, _, level in routes(app) if in_admin_area(rule) and level != ADMIN]
    assert wrong == []


def test_there_are_admin_routes_to_check(app):
    assert sum(1 for _, _, level in routes(app) if level == ADMIN) >= 5


def test_anonymous_users_are_sent_to_sign_in(app):
    client = app.test_client()
    csrf = AuthActions(client).csrf_token()
    for rule, method, level in routes(app):
        if level == PUBLIC:
            continue
        response = call(client, method, sample_url(rule), csrf)
        where = f"{method} {rule.rule}"
        if rule.rule.startswith("/api/"):
            assert response.status_code == 401, where
        else:
            assert response.status_code == 302, where
            assert response.headers["Location"].startswith("/auth/login?next="), where


def test_clients_get_403_on_every_admin_route(app, make_user):
    make_user("carol", role="client")
    client = app.test_client()
    auth = AuthActions(client)
    assert auth.login("carol").status_code == 302
    csrf = auth.csrf_token("/")
    for rule, method, level in routes(app):
        if level != ADMIN:
            continue
        response = call(client, method, sample_url(rule), csrf)
        assert response.status_code == 403, f"{method} {rule.rule}"


def test_admins_reach_every_admin_page_without_a_server_error(app, make_user):
    make_user("root", role="admin")
    client = app.test_client()
    assert AuthActions(client).login("root").status_code == 302
    for rule, method, level in routes(app):
        if level == ADMIN and method == "GET":
            response = client.get(sample_url(rule))
            assert response.status_code in (200, 302, 400, 404), f"GET {rule.rule}: {response.status_code}"
