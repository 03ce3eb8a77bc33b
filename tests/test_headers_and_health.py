"""Security headers on every response; /healthz and /readyz."""

import pytest

from app.extensions import db
from tests.conftest import PASSWORD
from tests.support.servers import free_port


@pytest.mark.parametrize("path", ["/auth/login", "/healthz", "/static/portal.css", "/nowhere", "/"])
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_over_https(client):
    response = client.get("/auth/login", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_pages_have_no_inline_script_or_style(client):
    html = client.get("/auth/login").get_data(as_text=True)
    assert "<script>" not in html and "<script src" in html
    assert "style=" not in html and "<style" not in html


def test_not_found_is_a_page_and_json_under_api(client):
    page = client.get("/no/such/page")
    assert page.status_code == 404 and "Back to the portal home" in page.get_data(as_text=True)
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.json == {"error": api.json["error"], "status": 404}


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_readyz_when_the_database_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"] == {"database": True}


@pytest.mark.config(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
def test_readyz_names_redis_when_it_is_down(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["failing"] == ["redis"]
    assert response.json["checks"]["database"] is True


def test_readyz_names_the_database_when_it_is_down(tmp_path):
    from app import create_app

    broken = create_app(
        {
            "PORTAL_ENV": "testing",
            "PORTAL_PLUGINS": "",
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path}/no/such/dir/x.db",
        }
    )
    response = broken.test_client().get("/readyz")
    assert response.status_code == 503 and response.json["failing"] == ["database"]


def test_nul_characters_get_a_form_error_or_a_400_naming_the_field(client, auth, app, make_user):
    token = auth.csrf_token()
    form = client.post("/auth/login", data={"username": "ad\x00min", "password": "x", "csrf_token": token})
    assert form.status_code == 400 and "Use letters, digits and punctuation only." in form.get_data(
        as_text=True
    )


@pytest.mark.plugins("mfa", "security", "performance", "cache", "plans")
@pytest.mark.config(MFA_REQUIRED_ROLES="")
def test_every_signed_in_json_and_csv_answer_says_no_store(app, auth, make_user):
    """Walk every GET route under /api/ that takes no argument, plus the CSV export, as an
    admin: each answer that carries data must stay out of caches (ASVS 8.2.1)."""
    make_user("root", role="admin")
    auth.login("root")
    paths = sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") and "GET" in rule.methods and not rule.arguments
    )
    assert len(paths) >= 6, paths
    answers = {path: auth.client.get(path) for path in [*paths, "/security/events.csv"]}
    for path, response in answers.items():
        assert response.mimetype in ("application/json", "text/csv"), (path, response.status_code)
        assert response.headers.get("Cache-Control") == "no-store", path
    assert answers["/security/events.csv"].status_code == 200


def test_anonymous_json_answers_are_not_stored_either(client):
    for path in ("/api/v1/openapi.json", "/healthz", "/api/v1/no-such-thing"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path


def test_static_files_keep_their_own_caching(client):
    assert client.get("/static/portal.css").headers.get("Cache-Control") != "no-store"


def test_production_session_cookie_is_host_prefixed(tmp_path):
    from tests.conftest import AuthActions, in_production, portal

    with portal(tmp_path, **in_production({})) as production:
        assert production.config["SESSION_COOKIE_NAME"] == "__Host-portal_session"
        with production.app_context():
            from app.auth.passwords import hash_password
            from app.models import User

            db.session.add(User(username="alice", password_hash=hash_password(PASSWORD), role="client"))
            db.session.commit()
        client = production.test_client()
        client.environ_base["wsgi.url_scheme"] = "https"
        response = AuthActions(client).login()
        assert response.status_code == 302
        cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("__Host-"))
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
        assert {"secure", "path", "httponly"} <= attributes and "domain" not in attributes
        assert "Path=/;" in cookie or cookie.endswith("Path=/")
        assert client.get("/", base_url="https://localhost").status_code == 200


@pytest.mark.parametrize(
    ("name", "value"), [("SESSION_COOKIE_SECURE", "false"), ("SESSION_COOKIE_DOMAIN", "example.org")]
)
def test_production_refuses_cookie_settings_a_host_cookie_cannot_have(tmp_path, name, value):
    from app import ConfigError, create_app

    config = {
        "PORTAL_ENV": "production",
        "SECRET_KEY": "x" * 40,
        "INSTANCE_PATH": str(tmp_path),
        "PORTAL_PLUGINS": "",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
        name: value,
    }
    with pytest.raises(ConfigError, match=name):
        create_app(config)
