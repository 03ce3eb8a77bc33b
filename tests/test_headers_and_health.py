"""Security headers on every response; /healthz and /readyz."""

import pytest

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
