"""Sign-in context rules: new IP notice, impossible travel, session moves, TOR and VPN lists."""

from __future__ import annotations

import pytest

from app.events import EventType
from tests.security_threats.conftest import alerts, events_of, login
from tests.security_threats.mmdb import write_city_db

BERLIN, PARIS, SYDNEY = "198.51.100.10", "192.0.2.7", "203.0.113.20"


@pytest.fixture
def city_db(tmp_path):
    return write_city_db(
        tmp_path / "cities.mmdb",
        {
            "198.51.100.0/24": (52.52, 13.405, "Berlin"),
            "192.0.2.7/32": (48.857, 2.352, "Paris"),
            "203.0.113.0/24": (-33.87, 151.21, "Sydney"),
        },
    )


def _rules(app, kind):
    return [e.details.get("rule") for e in events_of(app, kind)]


def test_new_ip_is_shown_to_the_user_but_a_known_ip_is_not(app, make_user):
    make_user("alice")
    assert login(app.test_client(), "alice", ip="198.51.100.1").status_code == 302  # first ever
    client = app.test_client()
    assert login(client, "alice", ip="198.51.100.1").status_code == 302
    assert "new_ip" not in _rules(app, EventType.SUSPICIOUS_ACTIVITY)
    page = client.get("/", environ_base={"REMOTE_ADDR": "198.51.100.1"})
    assert "has not used before" not in page.get_data(as_text=True)

    other = app.test_client()
    assert login(other, "alice", ip="203.0.113.99").status_code == 302
    home = other.get("/", environ_base={"REMOTE_ADDR": "203.0.113.99"})
    assert "has not used before (203.0.113.99)" in home.get_data(as_text=True)
    (event,) = [e for e in events_of(app, EventType.SUSPICIOUS_ACTIVITY) if e.details["rule"] == "new_ip"]
    assert event.severity == "LOW" and event.ip_address == "203.0.113.99"
    assert alerts(app) == []  # a notice for the user, not an alert for the admins


def test_impossible_travel_and_a_plausible_trip(app, make_user, city_db):
    app.config["SECURITY_GEOIP_DB"] = str(city_db)
    make_user("alice")
    assert login(app.test_client(), "alice", ip=BERLIN).status_code == 302
    # Berlin to Paris (~880 km) "in a few seconds" is too fast; but first check a near-miss:
    # travel within the minimum distance (same Berlin network, other address) is never flagged.
    assert login(app.test_client(), "alice", ip="198.51.100.11").status_code == 302
    assert "impossible_travel" not in _rules(app, EventType.GEO_LOCATION_ANOMALY)
    assert login(app.test_client(), "alice", ip=SYDNEY).status_code == 302
    (event,) = events_of(app, EventType.GEO_LOCATION_ANOMALY)
    assert event.details["rule"] == "impossible_travel"
    assert event.details["from_place"] == "Berlin" and event.details["to_place"] == "Sydney"
    assert event.details["km"] > 15_000
    (alert,) = alerts(app, rule="impossible_travel")
    assert alert.severity == "HIGH"


def test_a_plane_trip_is_a_near_miss(app, make_user, city_db):
    from datetime import timedelta

    from app.extensions import db
    from plugins.security.threats.models import KnownAddress

    app.config["SECURITY_GEOIP_DB"] = str(city_db)
    make_user("alice")
    login(app.test_client(), "alice", ip=BERLIN)
    with app.app_context():  # the Berlin sign-in was two hours ago: ~880 km at ~440 km/h
        for known in db.session.scalars(db.select(KnownAddress)):
            known.last_seen = known.last_seen - timedelta(hours=2)
        db.session.commit()
    login(app.test_client(), "alice", ip=PARIS)
    assert events_of(app, EventType.GEO_LOCATION_ANOMALY) == []


def test_session_moving_to_another_ip_or_browser(app, make_user):
    client = app.test_client()
    make_user("alice")
    login(client, "alice", ip="198.51.100.1", agent="Firefox")
    assert (
        client.get(
            "/", environ_base={"REMOTE_ADDR": "198.51.100.1", "HTTP_USER_AGENT": "Firefox"}
        ).status_code
        == 200
    )
    assert "session_change" not in _rules(app, EventType.SUSPICIOUS_ACTIVITY)  # near-miss: same IP and agent
    client.get("/", environ_base={"REMOTE_ADDR": "203.0.113.5", "HTTP_USER_AGENT": "Firefox"})
    client.get(
        "/", environ_base={"REMOTE_ADDR": "203.0.113.5", "HTTP_USER_AGENT": "Firefox"}
    )  # once per move
    moves = [
        e for e in events_of(app, EventType.SUSPICIOUS_ACTIVITY) if e.details["rule"] == "session_change"
    ]
    assert (
        len(moves) == 1
        and moves[0].details["changed"] == "ip"
        and moves[0].details["new_ip"] == "203.0.113.5"
    )
    client.get("/", environ_base={"REMOTE_ADDR": "203.0.113.5", "HTTP_USER_AGENT": "curl/8"})
    moves = [
        e for e in events_of(app, EventType.SUSPICIOUS_ACTIVITY) if e.details["rule"] == "session_change"
    ]
    assert moves[-1].details["changed"] == "user_agent"
    (alert,) = alerts(app, rule="session_change")
    assert alert.event_count == 2


@pytest.mark.config(SECURITY_SESSION_CHANGE_ACTION="logout")
def test_session_move_can_end_the_session(app, make_user):
    client = app.test_client()
    make_user("alice")
    login(client, "alice", ip="198.51.100.1", agent="Firefox")
    response = client.get("/", environ_base={"REMOTE_ADDR": "203.0.113.5", "HTTP_USER_AGENT": "Firefox"})
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    again = client.get("/", environ_base={"REMOTE_ADDR": "203.0.113.5", "HTTP_USER_AGENT": "Firefox"})
    assert again.status_code == 302  # signed out


@pytest.mark.config(SECURITY_AUTO_BLOCK=False)
def test_tor_and_vpn_lists_from_files(app, runner, make_user, tmp_path):
    tor = tmp_path / "tor.txt"
    tor.write_text("# exit nodes\n185.220.101.0/24\n  \n2001:db8:dead::/48  # v6\n")
    vpn = tmp_path / "vpn.txt"
    vpn.write_text("10.8.0.0/16\n")
    result = runner.invoke(args=["security", "load-iplist", "tor", str(tor)])
    assert result.exit_code == 0 and "loaded 2 networks" in result.output
    assert runner.invoke(args=["security", "load-iplist", "vpn", str(vpn)]).exit_code == 0
    make_user("alice")
    login(app.test_client(), "alice", ip="185.220.101.33")
    login(app.test_client(), "alice", password="wrong", ip="10.8.4.4")
    login(app.test_client(), "alice", ip="185.220.102.1")  # near-miss: next /24 is not listed
    (tor_event,) = events_of(app, EventType.TOR_EXIT_NODE)
    assert tor_event.ip_address == "185.220.101.33" and tor_event.details["trigger"] == "LOGIN_SUCCESS"
    (vpn_event,) = events_of(app, EventType.VPN_DETECTED)
    assert vpn_event.ip_address == "10.8.4.4" and vpn_event.details["trigger"] == "LOGIN_FAILURE"
    assert [a.subject for a in alerts(app, rule="tor_exit")] == ["ip:185.220.101.33"]


def test_load_iplist_refuses_a_file_with_bad_lines(app, runner, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("185.220.101.0/24\nnot-an-ip\n300.1.1.1\n")
    result = runner.invoke(args=["security", "load-iplist", "tor", str(bad)])
    assert result.exit_code == 1
    assert "line 2" in result.output and "line 3" in result.output and "nothing loaded" in result.output
    result = runner.invoke(args=["security", "load-iplist", "tor", str(bad), "--allow-errors"])
    assert result.exit_code == 0 and "loaded 1 networks" in result.output
    assert runner.invoke(args=["security", "load-iplist", "spam", str(bad)]).exit_code == 2
