"""Limits on second factors count wrong codes only: an office behind one address signs in all
day; a wrong code is counted per user and per address, exactly, at any concurrency."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pyotp
import pytest
import requests

from tests.conftest import PASSWORD, AuthActions, csrf_from
from tests.mfa.conftest import MfaFlow
from tests.support.servers import serve_in_thread


def sign_out(flow: MfaFlow) -> None:
    flow.auth.logout()
    assert not flow.signed_in()


@pytest.mark.plugins("mfa", "security")
def test_an_office_of_six_behind_one_address_signs_in_twice_each(app, enrol):
    """Defaults throughout: every request comes from 127.0.0.1. Before, the MFA policy counted
    every request to /mfa/verify per address (5 per 5 minutes) and the third person got a 429."""
    people = [enrol(f"clerk{n}") for n in range(6)]
    flows = {}
    for person in people:
        client = app.test_client()
        flows[person.username] = flow = MfaFlow(client, AuthActions(client))
        assert flow.password_step(person.username).headers["Location"] == "/mfa/verify"
        for _ in range(3):  # looking at the form (reloads) counts nothing
            assert client.get("/mfa/verify").status_code == 200
        assert flow.submit_code(person.code()).status_code == 302
        assert flow.signed_in()
        sign_out(flow)
    for n, person in enumerate(people):  # the second sign-in of the day, with a backup code
        flow = flows[person.username]
        flow.password_step(person.username)
        assert flow.submit_code(person.backup_codes[n]).status_code == 302
        assert flow.signed_in()


@pytest.mark.plugins("mfa")
@pytest.mark.config(MFA_IP_RATE_LIMIT="4 per 5 minutes", MFA_LOCKOUT_THRESHOLD=50)
def test_the_address_limit_never_refuses_a_user_who_has_not_failed(app, enrol):
    enrol("mallory")
    enrol("trudy")
    carol = enrol("carol")
    dave = enrol("dave")

    def pending(name: str) -> MfaFlow:
        client = app.test_client()
        flow = MfaFlow(client, AuthActions(client))
        flow.password_step(name)
        return flow

    guesser, other = pending("mallory"), pending("trudy")
    codes = [guesser.submit_code("000001").status_code for _ in range(3)]
    codes.append(other.submit_code("000002").status_code)
    assert codes == [401] * 4  # the address's four wrong codes
    assert guesser.submit_code("000003").status_code == 429
    assert pending("carol").submit_code(carol.code()).status_code == 302  # clean: not refused
    late = pending("dave")
    assert late.submit_code("000004").status_code == 401  # his first code is checked ...
    refused = late.submit_code(dave.code())
    assert refused.status_code == 429  # ... after a failure, the address's limit holds
    assert "Too many wrong codes" in refused.get_data(as_text=True)


@pytest.mark.slow
@pytest.mark.plugins("mfa")
@pytest.mark.config(MFA_RATE_LIMIT="5 per 5 minutes", MFA_LOCKOUT_THRESHOLD=100)
def test_concurrent_wrong_codes_are_checked_at_most_the_limit(app, enrol, events):
    user = enrol("alice")
    with serve_in_thread(app) as base:
        session = requests.Session()
        token = csrf_from(session.get(base + "/auth/login", timeout=30).text)
        signed = session.post(
            base + "/auth/login",
            data={"username": "alice", "password": PASSWORD, "csrf_token": token},
            allow_redirects=False,
            timeout=30,
        )
        assert signed.headers["Location"] == "/mfa/verify"
        right = pyotp.TOTP(user.secret).now()
        wrong = [c for c in ("000000", "111111", "222222") if c != right][0]
        start = threading.Barrier(40)

        def guess(_):
            start.wait(timeout=30)
            data = {"code": wrong, "csrf_token": token}
            return session.post(
                base + "/mfa/verify", data=data, allow_redirects=False, timeout=60
            ).status_code

        with ThreadPoolExecutor(max_workers=40) as pool:
            codes = list(pool.map(guess, range(40)))
    assert codes.count(401) == 5 and codes.count(429) == 35, codes
    assert [kind for kind, _ in events].count("MFA_FAILURE") == 5  # codes checked


@pytest.mark.plugins("mfa", "security")
@pytest.mark.config(MFA_LOCKOUT_THRESHOLD=50, SECURITY_AUTO_BLOCK=False)
def test_a_refused_code_is_recorded_like_every_rejection(app, enrol, flow):
    from app.extensions import db
    from plugins.security.models import RateLimitRecord
    from plugins.security.rejection import flush_rejections

    user = enrol("alice")
    flow.password_step()
    assert [flow.submit_code(f"00000{i}").status_code for i in range(5)] == [401] * 5
    refused = flow.submit_code(user.code())
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 300
    assert "Too many wrong codes" in refused.get_data(as_text=True)
    flush_rejections(app)  # rejections are counted in memory and written in batches
    with app.app_context():
        rows = {
            (r.identifier, r.endpoint): r.request_count
            for r in db.session.scalars(db.select(RateLimitRecord))
        }
    assert rows == {(f"mfa-user:{user.user_id}", "mfa.verify"): 1}
