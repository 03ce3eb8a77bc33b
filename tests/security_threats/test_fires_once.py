"""A detection fires once: a stolen cookie replayed from another browser or address is reported
once per session and new value, whether or not the replaying client keeps the cookie it is sent
back; the requests after that write nothing."""

from __future__ import annotations

import pytest
import redis

from app.events import EventType
from app.extensions import db
from plugins.security.models import SecurityEvent
from tests.conftest import REDIS_URL
from tests.security_threats.conftest import BASE_CONFIG, alerts, events_of, login

HOME = "198.51.100.1"


def _rows(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count(SecurityEvent.id)))


def _moves(app) -> list:
    return [
        e for e in events_of(app, EventType.SUSPICIOUS_ACTIVITY) if e.details.get("rule") == "session_change"
    ]


def _stolen_cookie(app, make_user) -> str:
    """Sign alice in from Firefox at HOME and return her session cookie, as a thief would copy it."""
    client = app.test_client()
    make_user("alice")
    assert login(client, "alice", ip=HOME, agent="Firefox").status_code == 302
    return client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value


def replay(app, cookie: str, count: int, *, agent: str = "curl/8", ip: str = HOME) -> list[int]:
    """Send ``count`` requests with the same copied cookie, never keeping what the portal sends back."""
    thief = app.test_client(use_cookies=False)
    headers = {"Cookie": f"{app.config['SESSION_COOKIE_NAME']}={cookie}", "User-Agent": agent}
    return [
        thief.get("/", headers=headers, environ_base={"REMOTE_ADDR": ip}).status_code for _ in range(count)
    ]


@pytest.mark.parametrize("move", [{"agent": "curl/8"}, {"ip": "203.0.113.5", "agent": "Firefox"}])
def test_a_replayed_cookie_is_reported_once_in_a_hundred_requests(app, make_user, move):
    cookie = _stolen_cookie(app, make_user)
    before = _rows(app)
    statuses = replay(app, cookie, 100, **move)
    assert statuses == [200] * 100  # the default response only reports the move
    assert _rows(app) - before == 1
    (moved,) = _moves(app)
    assert moved.details["changed"] == ("user_agent" if "ip" not in move else "ip")
    (alert,) = alerts(app, rule="session_change")
    assert alert.event_count == 1


def test_another_value_in_the_same_session_is_reported_again_once(app, make_user):
    cookie = _stolen_cookie(app, make_user)
    replay(app, cookie, 20, agent="curl/8")
    replay(app, cookie, 20, agent="python-requests/2")
    replay(app, cookie, 20, agent="curl/8")  # already reported for this session
    assert len(_moves(app)) == 2
    (alert,) = alerts(app, rule="session_change")
    assert alert.event_count == 2


def test_a_second_session_of_the_same_user_is_a_session_of_its_own(app, make_user):
    cookie = _stolen_cookie(app, make_user)
    replay(app, cookie, 5)
    other = app.test_client()
    assert login(other, "alice", ip=HOME, agent="Firefox").status_code == 302
    second = other.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    replay(app, second, 5)
    assert len(_moves(app)) == 2


@pytest.mark.config(SECURITY_SESSION_CHANGE_ACTION="logout")
def test_ending_the_session_makes_every_later_replay_anonymous(app, make_user):
    cookie = _stolen_cookie(app, make_user)
    before = _rows(app)
    statuses = replay(app, cookie, 50)
    assert statuses[0] == 302 and set(statuses[1:]) == {302}  # to the sign-in page
    moved = _moves(app)
    assert len(moved) == 1 and moved[0].details["action"] == "logout"
    assert _rows(app) - before == 2  # the move and the LOGOUT it caused, nothing per replay


def test_a_count_event_grows_the_alert_by_its_count(app):
    from app.events import Severity
    from plugins.security.audit import log_event
    from plugins.security.repeats import flush

    for _ in range(5):
        with app.test_request_context(environ_base={"REMOTE_ADDR": "203.0.113.9"}):
            log_event(
                EventType.SUSPICIOUS_ACTIVITY,
                Severity.MEDIUM,
                description="probing",
                metadata={"rule": "privilege_probing", "subject": "ip:203.0.113.9"},
            )
    (alert,) = alerts(app, rule="privilege_probing")
    assert alert.event_count == 1
    assert flush(app) == 1
    (alert,) = alerts(app, rule="privilege_probing")
    assert alert.event_count == 5


def test_probing_one_admin_page_over_and_over_is_still_probing(app, make_user):
    from plugins.security.repeats import flush
    from plugins.security.threats.scan import run_scan

    make_user("mallory")
    client = app.test_client()
    login(client, "mallory")
    assert {client.get("/security/").status_code for _ in range(6)} == {403}
    assert len(events_of(app, EventType.ACCESS_DENIED)) == 1  # stored once, the rest counted
    flush(app)
    with app.app_context():
        result = run_scan()
    assert [d.rule for d in result.detections] == ["privilege_probing"]
    assert result.detections[0].metadata["count"] == 6


def _second_worker(app):
    """Another process of the same portal: the same settings, database and storage, its own memory."""
    from app import create_app

    keys = (
        "PORTAL_ENV",
        "SECRET_KEY",
        "DATABASE_URL",
        "INSTANCE_PATH",
        "PORTAL_PLUGINS",
        "SCHEDULER_ENABLED",
    )
    keys += ("RATELIMIT_STORAGE_URI", "PASSWORD_HASH_METHOD", *BASE_CONFIG)
    return create_app({key: app.config[key] for key in keys})


@pytest.mark.redis
@pytest.mark.config(RATE_LIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=REDIS_URL)
def test_workers_sharing_redis_report_a_replay_once_in_all(app, make_user):
    redis.Redis.from_url(REDIS_URL).flushdb()
    cookie = _stolen_cookie(app, make_user)
    other = _second_worker(app)
    for _ in range(10):
        replay(app, cookie, 1)
        replay(other, cookie, 1)
    assert len(_moves(app)) == 1
    redis.Redis.from_url(REDIS_URL).flushdb()


def test_workers_without_a_shared_storage_report_a_replay_once_each(app, make_user):
    cookie = _stolen_cookie(app, make_user)
    other = _second_worker(app)
    for _ in range(10):
        replay(app, cookie, 1)
        replay(other, cookie, 1)
    assert len(_moves(app)) == 2


def test_a_new_user_agent_on_every_request_is_reported_a_few_times_only(app, make_user):
    from plugins.security.threats.signin import MOVES_REPORTED_PER_SESSION

    cookie = _stolen_cookie(app, make_user)
    before = _rows(app)
    for number in range(50):
        replay(app, cookie, 1, agent=f"scanner/{number}")
    assert len(_moves(app)) == MOVES_REPORTED_PER_SESSION
    assert _rows(app) - before == MOVES_REPORTED_PER_SESSION


def test_the_reported_memory_is_atomic_bounded_and_forgets_after_its_window():
    from concurrent.futures import ThreadPoolExecutor

    from plugins.security.state_parts import ReportedMemory

    memory = ReportedMemory(max_keys=3)
    with ThreadPoolExecutor(max_workers=8) as pool:
        taken = list(pool.map(lambda _: memory.take("move", 60, 2), range(200)))
    assert taken.count(True) == 2
    for key in ("a", "b", "c", "d"):
        memory.take(key, 60, 1)
    assert list(memory.entries) == ["b", "c", "d"]
    assert memory.take("gone", 0, 1) and memory.take("gone", 0, 1)  # a window of 0 s is over at once
