"""Signed-in sessions on the account page: listed with data-session rows, another one ended by
its owner (and then signed out), never another user's (404), re-authentication and CSRF
required, "sign out everywhere else", a bound on the list, and last seen written at most once a
minute a session."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event

from app.auth.sessions import LAST_SEEN_STEP
from app.extensions import db
from app.models import UserSession, utcnow
from tests.conftest import AuthActions, csrf_from
from tests.support.reauth import age_authentication

SESSION_ROW = re.compile(r'<tr data-session="(\d+)"( data-current="true")?')
PAST_TIMEOUT = 301


def session_ids(client) -> tuple[int | None, list[int]]:
    """(this browser's session id, the other ids) as the page lists them."""
    html = client.get("/account/security").get_data(as_text=True)
    rows = SESSION_ROW.findall(html)
    current = next((int(sid) for sid, mark in rows if mark), None)
    return current, [int(sid) for sid, mark in rows if not mark]


def revoke(client, session_id: int):
    token = csrf_from(client.get("/account/security").get_data(as_text=True))
    return client.post(f"/account/sessions/{session_id}/revoke", data={"csrf_token": token})


def signed_in(app, username: str = "alice", user_agent: str | None = None):
    client = app.test_client()
    if user_agent:
        client.environ_base["HTTP_USER_AGENT"] = user_agent
    assert AuthActions(client).login(username).status_code == 302
    return client


def test_each_session_is_a_row_with_its_browser_and_this_one_marked(app, make_user):
    make_user("alice")
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    signed_in(app, user_agent=firefox)
    me = signed_in(
        app, user_agent="Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
    )
    html = me.get("/account/security").get_data(as_text=True)
    assert len(SESSION_ROW.findall(html)) == 2
    assert "Firefox on Linux" in html and "Chrome on Windows" in html
    current, others = session_ids(me)
    assert current is not None and len(others) == 1
    assert re.findall(r'action="/account/sessions/(\d+)/revoke"', html) == [str(others[0])]  # none on ours


def test_the_owner_ends_another_session_which_is_then_signed_out(app, make_user):
    make_user("alice")
    other = signed_in(app)
    me = signed_in(app)
    _, [other_id] = session_ids(me)
    response = revoke(me, other_id)
    assert response.status_code == 302 and response.headers["Location"] == "/account/security"
    assert other.get("/account/security").status_code == 302  # back to sign-in
    assert me.get("/account/security").status_code == 200
    assert session_ids(me)[1] == []


def test_another_users_session_is_a_404_and_stays_signed_in(app, make_user):
    make_user("alice")
    make_user("bob")
    bob = signed_in(app, "bob")
    bob_id = session_ids(bob)[0]
    alice = signed_in(app, "alice")
    assert revoke(alice, bob_id).status_code == 404
    assert revoke(alice, 999_999).status_code == 404
    assert bob.get("/account/security").status_code == 200


def test_this_browsers_own_row_is_not_ended_from_the_list(app, make_user):
    make_user("alice")
    me = signed_in(app)
    current, _ = session_ids(me)
    assert revoke(me, current).status_code == 302
    assert me.get("/account/security").status_code == 200


def test_ending_a_session_needs_a_recent_authentication(app, make_user):
    make_user("alice")
    other = signed_in(app)
    me = signed_in(app)
    _, [other_id] = session_ids(me)
    age_authentication(me, PAST_TIMEOUT)
    response = revoke(me, other_id)
    assert response.status_code == 303 and "/auth/reauth" in response.headers["Location"]
    assert other.get("/account/security").status_code == 200  # nothing was ended


def test_ending_a_session_needs_the_csrf_token(app, make_user):
    make_user("alice")
    signed_in(app)
    me = signed_in(app)
    _, [other_id] = session_ids(me)
    assert me.post(f"/account/sessions/{other_id}/revoke").status_code == 400
    assert len(session_ids(me)[1]) == 1


def test_sign_out_everywhere_else_keeps_this_browser(app, make_user):
    make_user("alice")
    others = [signed_in(app) for _ in range(3)]
    me = signed_in(app)
    html = me.get("/account/security").get_data(as_text=True)
    assert 'data-confirm="Sign out every other browser' in html
    response = me.post("/account/sessions/revoke-others", data={"csrf_token": csrf_from(html)})
    assert response.status_code == 302
    assert all(client.get("/account/security").status_code == 302 for client in others)
    assert session_ids(me) == (session_ids(me)[0], [])


@pytest.mark.config(SESSION_MAX_AGE_HOURS=12)
def test_very_many_sessions_show_the_latest_and_the_count(app, make_user):
    from app.account.views import SESSIONS_LISTED

    alice = make_user("alice")
    me = signed_in(app)
    with app.app_context():
        now = utcnow()
        db.session.add_all(
            UserSession(
                key_hash=f"{n:064x}",
                user_id=alice.id,
                created_at=now - timedelta(minutes=5),
                last_seen_at=now + timedelta(seconds=30),  # all seen after this browser
                ip_address="198.51.100.7",
                user_agent="curl/8",
            )
            for n in range(SESSIONS_LISTED + 10)
        )
        db.session.commit()
    html = me.get("/account/security").get_data(as_text=True)
    assert len(SESSION_ROW.findall(html)) == SESSIONS_LISTED
    assert f"of {SESSIONS_LISTED + 11} sessions" in html
    first = SESSION_ROW.search(html)
    assert first.group(2), "this browser's session is listed, and first, even beyond the bound"


def count_session_writes(app):
    writes: list[str] = []
    with app.app_context():
        engine = db.engine

    def before(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE USER_SESSIONS"):
            writes.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    return writes, lambda: event.remove(engine, "before_cursor_execute", before)


def test_last_seen_is_written_at_most_once_a_minute_a_session(app, make_user):
    alice = make_user("alice")
    me = signed_in(app)
    writes, stop = count_session_writes(app)
    try:
        for _ in range(30):
            assert me.get("/").status_code == 200
        assert writes == []  # signed in just now: last seen is fresh
        with app.app_context():
            row = db.session.scalar(db.select(UserSession).where(UserSession.user_id == alice.id))
            row.last_seen_at = utcnow() - LAST_SEEN_STEP - timedelta(seconds=1)
            db.session.commit()
        writes.clear()
        for _ in range(30):
            assert me.get("/").status_code == 200
        assert len(writes) == 1
    finally:
        stop()
    with app.app_context():
        seen = db.session.scalar(db.select(UserSession.last_seen_at).where(UserSession.user_id == alice.id))
    from app.models import as_utc

    assert utcnow() - as_utc(seen) < LAST_SEEN_STEP
