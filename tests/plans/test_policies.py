"""A client's own policies: shown with DATA_VIEWED audit events; another client's are never shown."""

from datetime import date
from decimal import Decimal

import pytest

from app.events import EventType
from app.extensions import db
from app.signals import security_event
from plugins.plans.models import Policy

pytestmark = pytest.mark.plugins("plans")


@pytest.fixture
def events(app):
    """The security events the app emits during the test, as (kind, user name, metadata)."""
    seen = []

    def record(sender, **event):
        seen.append((event["kind"], getattr(event["user"], "username", None), event["metadata"]))

    security_event.connect(record, sender=app)
    yield seen
    security_event.disconnect(record, sender=app)


@pytest.fixture
def policies(app, plans, make_user):
    """Two policies for dave and one for erin; name -> list of policy ids."""
    owners = {"dave": make_user("dave"), "erin": make_user("erin")}
    numbers = (("dave", "H0001-001", "EM-1"), ("dave", "R0003-001", "EM-2"), ("erin", "H0006-001", "EM-3"))
    with app.app_context():
        rows = [
            Policy(
                user_id=owners[owner].id,
                plan_id=plans[code],
                policy_number=number,
                status="active",
                start_date=date(2025, 1, 1),
                monthly_premium=Decimal("10.00"),
            )
            for owner, code, number in numbers
        ]
        db.session.add_all(rows)
        db.session.commit()
        ids: dict[str, list[int]] = {"dave": [], "erin": []}
        for owner, row in zip((owner for owner, _, _ in numbers), rows, strict=True):
            ids[owner].append(row.id)
        return ids


def test_a_client_sees_their_policies_and_the_view_is_audited(client, auth, policies, events):
    auth.login("dave")
    html = client.get("/plans/policies").get_data(as_text=True)
    assert "EM-1" in html and "EM-2" in html and "EM-3" not in html
    detail = client.get(f"/plans/policies/{policies['dave'][0]}")
    assert detail.status_code == 200 and "Policy EM-1" in detail.get_data(as_text=True)
    viewed = [(user, meta) for kind, user, meta in events if kind == EventType.DATA_VIEWED]
    assert viewed == [
        ("dave", {"resource": "policies", "count": 2}),
        ("dave", {"resource": "policy", "policy_id": policies["dave"][0]}),
    ]


def test_guessing_ids_never_shows_another_clients_policy(client, auth, policies, events):
    auth.login("erin")
    own = set(policies["erin"])
    for guess in range(1, max(policies["dave"] + policies["erin"]) + 5):
        response = client.get(f"/plans/policies/{guess}")
        assert response.status_code == (200 if guess in own else 404), guess
        if guess not in own:
            assert "EM-1" not in response.get_data(as_text=True)
    assert client.get("/plans/policies/-1").status_code == 404
    assert client.get("/plans/policies/abc").status_code == 404
    probes = [meta["policy_id"] for kind, user, meta in events if kind == EventType.ACCESS_DENIED]
    assert sorted(probes) == sorted(policies["dave"])  # existing policies of others are reported
    viewed = [meta.get("policy_id") for kind, _, meta in events if kind == EventType.DATA_VIEWED]
    assert viewed == policies["erin"]


def test_an_admin_sees_no_clients_policy_either(client, auth, make_user, policies):
    make_user("root", role="admin")
    auth.login("root")
    assert "You hold no policy" in client.get("/plans/policies").get_data(as_text=True)
    assert client.get(f"/plans/policies/{policies['dave'][0]}").status_code == 404


def test_policy_pages_need_sign_in(client, policies):
    response = client.get(f"/plans/policies/{policies['dave'][0]}")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_navigation_offers_policies_to_clients_only(client, auth, make_user):
    make_user("carol")
    make_user("root", role="admin")
    auth.login("carol")
    html = client.get("/").get_data(as_text=True)
    assert 'href="/plans/"' in html and 'href="/plans/policies"' in html
    auth.logout()
    auth.login("root")
    html = client.get("/").get_data(as_text=True)
    assert 'href="/plans/"' in html and 'href="/plans/policies"' not in html
