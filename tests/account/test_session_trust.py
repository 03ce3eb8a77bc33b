"""A signed-in session is read from the database once and then trusted until anything that can end
it is committed (app.auth.session_trust). The attacker holds a copied cookie: every way of ending
that session must still end it on the next request, in another process too (a second app on the
same database and instance folder stands for another gunicorn worker)."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event, text

from app import create_app
from app.auth import sessions
from app.auth.session_trust import EXTENSION
from app.extensions import db
from app.models import Role, User, utcnow
from tests.conftest import AuthActions

SIGNED_IN_PAGE = "/"  # the home page: signed-in only, and reads nothing else of these tables


def signed_in(app, username: str = "alice"):
    client = app.test_client()
    assert AuthActions(client).login(username).status_code == 302
    return client


def allowed(client) -> bool:
    response = client.get(SIGNED_IN_PAGE)
    assert response.status_code in (200, 302)
    return response.status_code == 200


def other_process(app):
    """A second portal on the same database and instance folder: another worker process."""
    return create_app(
        {
            key: app.config[key]
            for key in ("PORTAL_ENV", "SECRET_KEY", "DATABASE_URL", "PORTAL_PLUGINS", "SCHEDULER_ENABLED")
        }
        | {"INSTANCE_PATH": app.instance_path, "RATELIMIT_STORAGE_URI": "memory://"}
    )


@contextmanager
def session_reads(app):
    """The statements that read the users or user_sessions tables while the block runs."""
    reads: list[str] = []
    with app.app_context():
        engine = db.engine

    def before(conn, cursor, statement, parameters, context, executemany):
        lowered = " ".join(statement.lower().split())
        if lowered.startswith("select") and ("from users" in lowered or "user_sessions" in lowered):
            reads.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield reads
    finally:
        event.remove(engine, "before_cursor_execute", before)


def test_a_trusted_session_is_not_read_again_on_each_request(app, make_user):
    make_user("alice")
    me = signed_in(app)
    assert allowed(me)  # read once here
    with session_reads(app) as reads:
        for _ in range(10):
            assert allowed(me)
    assert reads == []


def test_with_recheck_off_every_request_reads_the_session(app, make_user):
    app.extensions[EXTENSION].recheck_seconds = 0
    make_user("alice")
    me = signed_in(app)
    with session_reads(app) as reads:
        for _ in range(5):
            assert allowed(me)
    assert len(reads) >= 5


def test_a_session_revoked_in_another_process_ends_on_the_next_request(app, make_user):
    alice = make_user("alice")
    stolen = signed_in(app)
    assert allowed(stolen)
    worker = other_process(app)
    with worker.app_context():
        sessions.revoke_all(alice.id, except_current=False)  # "sign out everywhere", on another worker
    assert not allowed(stolen)


def test_the_owner_revoking_a_session_in_another_process_ends_it_at_once(app, make_user):
    alice = make_user("alice")
    stolen, mine = signed_in(app), signed_in(app)
    assert allowed(stolen) and allowed(mine)
    with app.app_context():
        stolen_id = min(s.id for s in sessions.live_sessions(alice.id, 10)[0])
    worker = other_process(app)
    with worker.app_context():
        assert sessions.revoke_one(alice.id, stolen_id)
    assert not allowed(stolen)
    assert allowed(mine)


def test_a_user_deactivated_in_another_process_is_signed_out_at_once(app, make_user):
    make_user("alice")
    me = signed_in(app)
    assert allowed(me)
    worker = other_process(app)
    with worker.app_context():
        db.session.scalar(db.select(User).where(User.username == "alice")).active = False
        db.session.commit()
    assert not allowed(me)


def test_an_admin_demoted_in_another_process_loses_the_admin_area_at_once(app, make_user):
    make_user("root", role=Role.ADMIN.value)
    admin = signed_in(app, "root")
    assert admin.get("/admin/").status_code == 200
    worker = other_process(app)
    with worker.app_context():
        db.session.scalar(db.select(User).where(User.username == "root")).role = Role.CLIENT.value
        db.session.commit()
    assert admin.get("/admin/").status_code == 403


def test_a_password_change_elsewhere_ends_the_other_sessions_at_once(app, make_user):
    make_user("alice")
    stolen = signed_in(app)
    assert allowed(stolen)
    worker = other_process(app)
    with worker.app_context():
        user = db.session.scalar(db.select(User).where(User.username == "alice"))
        user.session_version += 1  # what end_other_sessions does on a password change
        db.session.commit()
    assert not allowed(stolen)


def test_a_change_made_outside_the_portal_counts_after_the_recheck_interval(app, make_user):
    """Raw SQL typed into the database does not announce itself: the documented bound applies."""
    alice = make_user("alice")
    trust = app.extensions[EXTENSION]
    now = [1000.0]
    trust.clock = lambda: now[0]
    me = signed_in(app)
    assert allowed(me)
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            text("UPDATE user_sessions SET revoked_at = :t WHERE user_id = :u"),
            {"t": utcnow(), "u": alice.id},
        )
    assert allowed(me)  # trusted within SESSION_RECHECK_SECONDS
    now[0] += trust.recheck_seconds + 0.5
    assert not allowed(me)


def test_without_a_usable_instance_folder_every_request_reads_the_session(tmp_path, make_user, app):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    config = {key: app.config[key] for key in ("PORTAL_ENV", "SECRET_KEY", "DATABASE_URL", "PORTAL_PLUGINS")}
    second = create_app(config | {"INSTANCE_PATH": str(blocker / "instance"), "SCHEDULER_ENABLED": False})
    assert not second.extensions[EXTENSION].enabled
    make_user("alice")
    me = signed_in(second)
    with session_reads(second) as reads:
        for _ in range(3):
            assert allowed(me)
    assert len(reads) >= 3


def _probe_routes(app):
    """Two public views on the trusted user: one that never touches the database, and one that
    changes the user before it first uses the session, then commits."""
    from flask_login import current_user

    from app.access import public

    opened: list[bool] = []

    @public
    def probe_untouched():
        current_user.username  # noqa: B018 (reads the trusted user only)
        opened.append(db.session.registry.has())
        return "ok"

    @public
    def probe_change():
        current_user.email = "changed-before-the-session-opened@example.org"
        db.session.commit()
        return "ok"

    app.add_url_rule("/probe-untouched", view_func=probe_untouched)
    app.add_url_rule("/probe-change", view_func=probe_change)
    return opened


def test_a_trusted_user_opens_no_orm_session_for_a_request_that_needs_none(app, make_user):
    opened = _probe_routes(app)
    make_user("alice")
    me = signed_in(app)
    assert allowed(me)  # the session is read (and trusted from here on)
    assert me.get("/probe-untouched").status_code == 200
    assert opened == [False]


def test_a_change_to_the_trusted_user_before_the_session_opens_is_committed(app, make_user):
    _probe_routes(app)
    make_user("alice")
    me = signed_in(app)
    assert allowed(me)
    assert me.get("/probe-change").status_code == 200
    with app.app_context():
        stored = db.session.scalar(db.select(User).where(User.username == "alice"))
        assert stored.email == "changed-before-the-session-opened@example.org"
