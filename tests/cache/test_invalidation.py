"""A committed change to a model carrying ``__cache_tags__`` invalidates those tags."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, update

from app.extensions import db
from app.models import User

pytestmark = pytest.mark.plugins("cache")


@pytest.fixture
def tagged_users(monkeypatch):
    monkeypatch.setattr(User, "__cache_tags__", ("users",), raising=False)


def test_commit_invalidates_the_model_tags(app, quick_user, tagged_users):
    user = quick_user("alice")
    service = app.extensions["plugin.cache"]
    service.set("user-list", ["alice"], tags=("users",))
    service.set("plans", ["p"], tags=("plans",))
    with app.app_context():
        db.session.get(User, user.id).active = False
        db.session.commit()
    assert service.get("user-list") is None
    assert service.get("plans") == ["p"]


def test_insert_and_delete_invalidate_too(app, quick_user, tagged_users):
    service = app.extensions["plugin.cache"]
    service.set("user-list", [], tags=("users",))
    user = quick_user("bob")  # an insert
    assert service.get("user-list") is None
    service.set("user-list", ["bob"], tags=("users",))
    with app.app_context():
        db.session.delete(db.session.get(User, user.id))
        db.session.commit()
    assert service.get("user-list") is None


def test_bulk_statements_through_the_session_invalidate_too(app, quick_user, tagged_users):
    user = quick_user("erin")
    service = app.extensions["plugin.cache"]
    service.set("user-list", ["erin"], tags=("users",))
    with app.app_context():
        db.session.execute(update(User).where(User.id == user.id).values(active=False))
        assert service.get("user-list") == ["erin"]  # not before the commit
        db.session.commit()
    assert service.get("user-list") is None
    service.set("user-list", [], tags=("users",))
    with app.app_context():
        db.session.execute(update(User).where(User.id == user.id).values(active=True))
        db.session.rollback()
        assert service.get("user-list") == []  # a rolled-back statement keeps the cache
        db.session.execute(delete(User).where(User.id == user.id))
        db.session.commit()
    assert service.get("user-list") is None


def test_rollback_keeps_the_cache(app, quick_user, tagged_users):
    user = quick_user("carol")
    service = app.extensions["plugin.cache"]
    service.set("user-list", ["carol"], tags=("users",))
    with app.app_context():
        db.session.get(User, user.id).active = False
        db.session.flush()
        db.session.rollback()
        db.session.commit()  # nothing left to commit: the flushed change is gone
    assert service.get("user-list") == ["carol"]


def test_untagged_models_leave_the_cache_alone(app, quick_user):
    user = quick_user("dave")
    service = app.extensions["plugin.cache"]
    service.set("user-list", ["dave"], tags=("users",))
    with app.app_context():
        db.session.get(User, user.id).active = False
        db.session.commit()
    assert service.get("user-list") == ["dave"]


@pytest.mark.plugins()
def test_apps_without_the_plugin_commit_normally(app, quick_user, tagged_users):
    user = quick_user("erin")
    with app.app_context():
        db.session.get(User, user.id).active = False
        db.session.commit()
        assert db.session.get(User, user.id).active is False
