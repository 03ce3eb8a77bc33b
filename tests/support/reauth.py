"""Step-up re-authentication in tests: move a session's last authentication into the past (the
clock the guard reads is the time stored in the signed session, so no test sleeps), copy a
session cookie into another client as a thief would, and re-authenticate through the form."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from flask import Flask
from flask.testing import FlaskClient

from app.auth.reauth import AUTH_AT_KEY
from tests.conftest import PASSWORD, csrf_from


def age_authentication(client: FlaskClient, seconds: int) -> None:
    """Make the client's session look signed in (or re-authenticated) ``seconds`` ago."""
    with client.session_transaction() as session:
        session[AUTH_AT_KEY] = int(time.time()) - seconds


def copied_client(app: Flask, client: FlaskClient) -> FlaskClient:
    """A new client holding a copy of ``client``'s session cookie (a stolen session)."""
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(name)
    assert cookie is not None, "the client has no session cookie to copy"
    thief = app.test_client()
    thief.set_cookie(name, cookie.value, domain=cookie.domain)
    return thief


def reauthenticate(
    client: FlaskClient, password: str = PASSWORD, code: str | None = None, next_url: str | None = None
):
    """Submit the re-authentication form (reading its CSRF token from the page first)."""
    url = "/auth/reauth" + ("?" + urlencode({"next": next_url}) if next_url is not None else "")
    token = csrf_from(client.get(url).get_data(as_text=True))
    data = {"password": password, "csrf_token": token}
    if code is not None:
        data["code"] = code
    return client.post(url, data=data)


def age_browser_session(app, page, seconds: int) -> None:
    """Rewrite the browser's signed session cookie as if it had signed in ``seconds`` ago (the
    clock the guard reads), signed with the portal's own key."""
    serializer = app.session_interface.get_signing_serializer(app)
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = next(c for c in page.context.cookies() if c["name"] == name)
    data = serializer.loads(cookie["value"])
    data[AUTH_AT_KEY] = int(time.time()) - seconds
    page.context.add_cookies([{**cookie, "value": serializer.dumps(data)}])
