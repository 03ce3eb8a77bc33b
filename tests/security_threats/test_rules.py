"""Each inline rule: a hit and a near-miss."""

from __future__ import annotations

import pytest

from app.events import EventType
from tests.security_threats.conftest import alerts, emit, events_of


def test_brute_force_per_account_hits_at_threshold(app):
    for number in range(5):
        emit(app, EventType.LOGIN_FAILURE, username="alice", ip=f"198.51.100.{number + 1}")
    detections = [
        e for e in events_of(app, EventType.BRUTE_FORCE_ATTEMPT) if e.details["rule"] == "brute_force_account"
    ]
    assert len(detections) == 1
    assert detections[0].details["subject"] == "user:alice"
    assert detections[0].details["count"] == 5
    (alert,) = alerts(app, rule="brute_force_account")
    assert alert.status == "ACTIVE" and alert.subject == "user:alice" and alert.event_count == 1


def test_brute_force_per_account_near_miss(app):
    for number in range(4):
        emit(app, EventType.LOGIN_FAILURE, username="alice", ip=f"198.51.100.{number + 1}")
    emit(app, EventType.LOGIN_FAILURE, username="bob", ip="198.51.100.9")
    assert events_of(app, EventType.BRUTE_FORCE_ATTEMPT) == []
    assert alerts(app) == []


@pytest.mark.config(SECURITY_BRUTE_FORCE_WINDOW_SECONDS=60)
def test_brute_force_outside_the_window_does_not_count(app):
    from datetime import timedelta

    from app.extensions import db
    from plugins.security.threats.models import AuthFailure

    for _ in range(4):
        emit(app, EventType.LOGIN_FAILURE, username="alice", ip="198.51.100.1")
    with app.app_context():  # age the first four failures past the window
        for row in db.session.scalars(db.select(AuthFailure)):
            row.occurred_at = row.occurred_at - timedelta(seconds=120)
        db.session.commit()
    emit(app, EventType.LOGIN_FAILURE, username="alice", ip="198.51.100.1")
    assert events_of(app, EventType.BRUTE_FORCE_ATTEMPT) == []


@pytest.mark.config(SECURITY_AUTO_BLOCK=False)
def test_brute_force_per_ip_and_repeats_grow_one_alert(app):
    for number in range(20):
        emit(app, EventType.LOGIN_FAILURE, username=f"user{number % 3}", ip="203.0.113.50")
    by_ip = [a for a in alerts(app) if a.rule == "brute_force_ip"]
    assert len(by_ip) == 1
    # detections at 10 and 20 failures: one alert whose count grew
    assert by_ip[0].event_count == 2 and by_ip[0].subject == "ip:203.0.113.50"


def test_brute_force_per_ip_near_miss(app):
    for number in range(9):
        emit(app, EventType.LOGIN_FAILURE, username="alice" if number % 2 else "bob", ip="203.0.113.50")
    assert [a for a in alerts(app) if a.rule == "brute_force_ip"] == []


@pytest.mark.config(SECURITY_AUTO_BLOCK=False)
def test_credential_stuffing_one_ip_many_usernames(app):
    for number in range(5):
        emit(app, EventType.LOGIN_FAILURE, username=f"victim{number}", ip="203.0.113.77")
    (alert,) = alerts(app, rule="credential_stuffing")
    assert alert.subject == "ip:203.0.113.77"
    # a sixth new username grows the same alert; a repeated one does not
    emit(app, EventType.LOGIN_FAILURE, username="victim5", ip="203.0.113.77")
    emit(app, EventType.LOGIN_FAILURE, username="victim5", ip="203.0.113.77")
    (alert,) = alerts(app, rule="credential_stuffing")
    assert alert.event_count == 2


def test_credential_stuffing_near_miss(app):
    for number in range(4):
        emit(app, EventType.LOGIN_FAILURE, username=f"victim{number}", ip="203.0.113.77")
        emit(app, EventType.LOGIN_FAILURE, username=f"victim{number}", ip="203.0.113.77")
    assert alerts(app, rule="credential_stuffing") == []


def test_mfa_brute_force_from_the_signal(app, make_user):
    user = make_user("carol")
    for _ in range(5):
        emit(app, EventType.MFA_FAILURE, user=user, ip="192.0.2.44")
    (alert,) = alerts(app, rule="mfa_brute_force")
    assert alert.subject == f"user:{user.id}" and alert.severity == "HIGH"


def test_mfa_brute_force_near_miss(app, make_user):
    carol, dave = make_user("carol"), make_user("dave")
    for _ in range(4):
        emit(app, EventType.MFA_FAILURE, user=carol, ip="192.0.2.44")
    emit(app, EventType.MFA_FAILURE, user=dave, ip="192.0.2.44")
    assert alerts(app, rule="mfa_brute_force") == []


def test_detection_events_do_not_trigger_detection(app):
    """A rule's own event goes to the alert only: no rule runs on it, nothing recurses."""
    for number in range(5):
        emit(app, EventType.LOGIN_FAILURE, username="alice", ip=f"198.51.100.{number + 1}")
    kinds = [e.event_type for e in events_of(app, EventType.BRUTE_FORCE_ATTEMPT)]
    assert kinds == ["BRUTE_FORCE_ATTEMPT"]


@pytest.mark.config(SECURITY_DETECTION_ENABLED=False)
def test_detection_can_be_switched_off(app):
    for number in range(12):
        emit(app, EventType.LOGIN_FAILURE, username="alice", ip="198.51.100.1")
    assert alerts(app) == []
