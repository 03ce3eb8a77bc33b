"""Recent security activity on the account page: the account's newest 20 events from the
security plugin's audit log (and none of another user's)."""

from __future__ import annotations

import re

import pytest

from app.events import EventType, Severity
from app.extensions import db
from app.models import User
from app.signals import emit_security_event

EVENT_ROW = re.compile(r'<tr data-event="([A-Z_]+)">')


@pytest.mark.plugins("security")
def test_the_last_twenty_events_of_the_account_are_listed_newest_first(app, client, auth, make_user):
    alice, bob = make_user("alice"), make_user("bob")
    with app.test_request_context("/"):
        for number in range(25):
            emit_security_event(
                EventType.DATA_VIEWED,
                Severity.LOW,
                user=db.session.get(User, alice.id),
                description=f"view {number}",
            )
        emit_security_event(
            EventType.ROLE_CHANGE, Severity.LOW, user=db.session.get(User, bob.id), description="bob's"
        )
    auth.login("alice")
    html = client.get("/account/security").get_data(as_text=True)
    rows = EVENT_ROW.findall(html)
    assert len(rows) == 20
    assert rows[0] == "LOGIN_SUCCESS" and "view 24" in html and "view 5" not in html
    assert "bob&#39;s" not in html and "bob's" not in html


@pytest.mark.plugins("security")
def test_an_account_without_events_says_so(app, make_user):
    from app.account.views import recent_activity

    alice = make_user("alice")
    with app.test_request_context("/"):
        assert recent_activity(db.session.get(User, alice.id)) == []
