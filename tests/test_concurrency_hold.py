"""A thread never holds one pooled connection while it waits for another: on a pool of exactly
one connection, the request's reads, a cache lookup and fill, and the threat rules all complete
(a second checkout would wait for the one this thread holds, and time out)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from app import caching
from app.connection_hold import release_if_read_only, statement_writes
from app.models import User
from tests.conftest import PASSWORD

ONE_CONNECTION = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 2, "pool_pre_ping": True}
pytestmark = pytest.mark.config(SQLALCHEMY_ENGINE_OPTIONS=ONE_CONNECTION, CACHE_BACKEND="database")


@pytest.fixture
def most_held(app, db):
    """The largest number of connections one thread held at once while the test ran."""
    state = {"now": 0, "most": 0}

    def checkout(*_):
        state["now"] += 1
        state["most"] = max(state["most"], state["now"])

    def checkin(*_):
        state["now"] -= 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)
    yield state
    event.remove(engine, "checkout", checkout)
    event.remove(engine, "checkin", checkin)


def test_statement_classification_errs_towards_writing():
    assert not statement_writes("SELECT users.id FROM users WHERE users.id = ?")
    assert not statement_writes("  pragma busy_timeout=250")
    for statement in ("INSERT INTO t VALUES (1)", "UPDATE t SET a = 1", "BEGIN IMMEDIATE",
                      "SELECT * FROM t FOR UPDATE", "SELECT pg_advisory_xact_lock(1)",
                      "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x"):  # fmt: skip
        assert statement_writes(statement), statement


@pytest.mark.plugins("cache")
def test_a_cache_fill_after_the_request_read_takes_turns_on_one_connection(app, db, make_user, most_held):
    make_user("alice")
    with app.test_request_context("/"):
        assert db.session.scalar(select(User.username)) == "alice"  # the session holds the one
        assert caching.get_or_set("k", lambda: "v", tags=("t",)) == "v"  # a miss, then a fill
        assert caching.get_or_set("k", lambda: "other") == "v"  # a hit: the fill was stored
        assert db.session.scalar(select(User.username)) == "alice"
    assert most_held["most"] == 1


@pytest.mark.plugins("cache")
def test_a_request_that_wrote_keeps_its_transaction_and_the_cache_reads_on_it(app, db, make_user, most_held):
    user = make_user("alice")
    with app.test_request_context("/"):
        db.session.get(User, user.id).username = "alicia"
        db.session.flush()  # written, not committed: the transaction must survive the lookup
        assert caching.get_or_set("k2", lambda: "v") == "v"
        assert not release_if_read_only(db.session())
        db.session.rollback()
        assert db.session.get(User, user.id).username == "alice"  # nothing was committed early
    assert most_held["most"] == 1


@pytest.mark.plugins("security")
def test_failed_and_successful_sign_ins_run_the_threat_rules_on_one_connection(
    app, db, make_user, auth, most_held
):
    from plugins.security.models import SecurityEvent
    from plugins.security.threats.models import AuthFailure, KnownAddress

    make_user("alice")
    assert auth.login("alice", "wrong password here").status_code == 401
    assert auth.login("alice", PASSWORD).status_code == 302
    assert most_held["most"] == 1
    with app.app_context():  # the events were stored, and the rules ran on them
        kinds = set(db.session.scalars(select(SecurityEvent.event_type)))
        assert {"LOGIN_FAILURE", "LOGIN_SUCCESS"} <= kinds
        assert db.session.scalar(select(AuthFailure.username)) == "alice"
        assert db.session.scalar(select(KnownAddress.ip_address)) == "127.0.0.1"
