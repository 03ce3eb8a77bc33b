"""Every date-time the API and the CSV export write is RFC 3339 with its offset: the database
keeps naive UTC (SQLite), and ``isoformat()`` of that has none ("2026-12-01T21:20:12.260800"),
which a client reads as its own local time and which ``format: date-time`` does not allow."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.extensions import db
from app.timestamps import rfc3339
from plugins.security.threats.models import SecurityAlert
from tests.api.conftest import (
    ALL_PLUGINS,
    API_PREFIX,
    concrete_path,
    operations,
    portal_of_its_own,
    seed_api_users,
    signed_in,
)

LOOKS_LIKE_A_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def test_rfc3339_writes_utc_with_its_offset():
    assert rfc3339(datetime(2026, 12, 1, 21, 20, 12, 260800)) == "2026-12-01T21:20:12.260800Z"
    assert rfc3339(datetime(2026, 12, 1, 21, 20, tzinfo=UTC)) == "2026-12-01T21:20:00Z"
    east = timezone(timedelta(hours=2))
    assert rfc3339(datetime(2026, 12, 1, 23, 20, tzinfo=east)) == "2026-12-01T21:20:00Z"
    assert rfc3339(None) is None


def test_the_json_provider_writes_datetimes_as_rfc3339(portal_app):
    app = portal_app
    with app.test_request_context():
        body = app.json.dumps(
            {"naive": datetime(2026, 12, 1, 21, 20), "aware": datetime(2026, 1, 2, tzinfo=UTC)}
        )
    assert app.json.loads(body) == {"naive": "2026-12-01T21:20:00Z", "aware": "2026-01-02T00:00:00Z"}


def _times(value, where: str = ""):
    """Every (place, text) in a JSON value whose text looks like a date and time."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _times(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _times(item, f"{where}[{index}]")
    elif isinstance(value, str) and LOOKS_LIKE_A_TIME.match(value):
        yield where, value


@pytest.fixture(scope="module")
def portal_app(tmp_path_factory):
    config = {"PORTAL_PLUGINS": ",".join(ALL_PLUGINS), "MFA_REQUIRED_ROLES": ""}
    with portal_of_its_own(tmp_path_factory.mktemp("api-times"), **config) as app:
        seed_api_users(app)
        with app.app_context():
            db.session.add(SecurityAlert(title="probe", severity="HIGH", rule="probe", subject="203.0.113.9"))
            db.session.commit()
        yield app


@pytest.fixture(scope="module")
def admin(portal_app):
    return signed_in(portal_app, "admin")


def test_every_date_time_the_api_answers_has_an_offset(admin):
    blocked = admin.post(f"{API_PREFIX}/security/ips/203.0.113.9/block", json={"minutes": 5})
    assert blocked.status_code == 201
    document = admin.get(f"{API_PREFIX}/openapi.json").get_json()
    found = [("POST block", "blocked_until", blocked.get_json()["blocked_until"])]
    for path, method, _ in operations(document):
        if method == "get":
            url = concrete_path(document, path, method)
            url = url.replace("203.0.113.7", "203.0.113.9")
            response = admin.get(url)
            assert response.status_code == 200, (url, response.status_code)
            found += [(path, *place) for place in _times(response.get_json())]
    bad = [entry for entry in found if not RFC3339.match(entry[-1])]
    assert not bad, bad
    places = {(path, where.split("[")[0]) for path, where, _ in found}
    # The check reached the stored timestamps of each kind (SQLite hands them back naive).
    assert ("/security/events", ".items") in places
    assert ("/security/alerts", ".alerts") in places
    assert ("/security/ips/{ip}", ".ip.blocks") in places
    assert ("/security/ips/{ip}", ".ip.first_seen") in places


def test_the_csv_export_writes_times_with_their_offset(admin):
    response = admin.get("/security/events.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert rows
    assert all(RFC3339.match(row["timestamp"]) and row["timestamp"].endswith("Z") for row in rows), rows[:3]
