"""Drive the passkey ceremonies over HTTP with the software authenticator (tests.mfa.passkey_device)."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.conftest import AuthActions, csrf_from
from tests.mfa.passkey_device import SoftPasskey

API = "/api/v1/passkeys"


def with_csrf(client: FlaskClient, page: str = "/auth/login") -> FlaskClient:
    """Send the session's CSRF token in X-CSRFToken from now on, as the page's script does."""
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_from(client.get(page).get_data(as_text=True))
    return client


def signed_in(app, username: str) -> FlaskClient:
    client = app.test_client()
    assert AuthActions(client).login(username).status_code == 302
    return with_csrf(client, "/account/security")


def register(client: FlaskClient, device: SoftPasskey, name: str | None = None, **answer):
    options = client.post(f"{API}/register/options")
    assert options.status_code == 200, options.get_json()
    body = {"credential": device.register(options.get_json(), **answer)}
    if name is not None:
        body["name"] = name
    return client.post(f"{API}/register/verify", json=body)


def signin_options(client: FlaskClient, step: str = "first"):
    response = client.post(f"{API}/signin/options?step={step}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def sign_in(
    client: FlaskClient, device: SoftPasskey, step: str = "first", next_url: str | None = None, **answer
):
    """Ask for options, answer them with ``device``, send the answer; return the response."""
    options = signin_options(client, step)
    body = {"credential": device.assert_(options, **answer)}
    if next_url is not None:
        body["next"] = next_url
    return client.post(f"{API}/signin/verify", json=body)


def anonymous(app) -> FlaskClient:
    return with_csrf(app.test_client())


def signed_in_with(app, device: SoftPasskey) -> FlaskClient:
    """A client signed in with ``device``'s passkey alone, sending its CSRF token."""
    client = anonymous(app)
    assert sign_in(client, device).status_code == 200
    return with_csrf(client, "/account/security")


def signed_in_totp(app, user) -> FlaskClient:
    """A client through both steps of a TOTP user (``tests.mfa.conftest.Enrolled``), with the code
    of the current step."""
    client = app.test_client()
    auth = AuthActions(client)
    auth.login(user.username)
    assert auth.post("/mfa/verify", {"code": user.code()}, page="/auth/login").status_code == 302
    return with_csrf(client, "/account/security")
