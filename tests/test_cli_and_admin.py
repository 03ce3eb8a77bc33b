"""CLI (users, demo seed, jobs) and the admin shell (jobs page, users page)."""

from pathlib import Path

import pytest

from app.events import EventType
from app.extensions import db
from app.models import JobRun, User
from app.plugin import Job, Plugin
from tests.conftest import PASSWORD, AuthActions

ticks: list[int] = []


def tick():
    ticks.append(1)


def boom():
    raise RuntimeError("disk on fire")


TEST_JOBS = Plugin(
    name="testjobs",
    jobs=(
        Job("testjobs.tick", func=tick, trigger_args={"seconds": 1}, description="counts"),
        Job("testjobs.boom", func=boom, trigger_args={"hours": 1}),
    ),
)
with_jobs = [pytest.mark.plugins("testjobs"), pytest.mark.config(PORTAL_EXTRA_PLUGINS=[TEST_JOBS])]


def test_users_create_reads_the_password_from_stdin(app, runner):
    result = app.test_cli_runner().invoke(args=["users", "create", "dora", "--admin"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "Created admin dora." in result.output
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.username == "dora"))
        assert user.role == "admin" and user.password_hash.startswith("scrypt:")


@pytest.mark.parametrize(
    ("name", "password", "message"),
    [
        ("eve", "short", "Use at least 12 characters."),
        ("eve-the-long-name", "eve-the-long-name", "cannot be the same as the username"),
        ("x", PASSWORD, "Use 3 to 80 letters"),
        ("bad name!", PASSWORD, "Use 3 to 80 letters"),
    ],
)
def test_users_create_applies_the_web_rules(app, name, password, message):
    result = app.test_cli_runner().invoke(args=["users", "create", name], input=password + "\n")
    assert result.exit_code != 0
    assert message in result.output


def test_users_create_refuses_a_duplicate(app, make_user):
    make_user("alice")
    result = app.test_cli_runner().invoke(args=["users", "create", "alice"], input=PASSWORD + "\n")
    assert result.exit_code != 0 and "already exists" in result.output


def test_demo_seed_is_idempotent_and_prints_working_credentials(app):
    cli = app.test_cli_runner()
    first = cli.invoke(args=["demo", "seed"])
    second = cli.invoke(args=["demo", "seed"])
    assert first.exit_code == 0 and second.exit_code == 0
    assert first.output == second.output
    credentials = dict(
        (line.split("username: ")[1].split()[0], line.split("password: ")[1].strip())
        for line in first.output.splitlines()
        if "username:" in line
    )
    assert set(credentials) == {"admin", "client"}
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(User.id))) == 2
    client = app.test_client()
    assert AuthActions(client).login("admin", credentials["admin"]).status_code == 302
    assert Path(app.instance_path, "demo-credentials.txt").stat().st_mode & 0o077 == 0


def test_users_set_role_ends_sessions_and_emits_role_change(app, make_user, events):
    make_user("alice")
    client = app.test_client()
    AuthActions(client).login("alice")
    result = app.test_cli_runner().invoke(args=["users", "set-role", "alice", "admin"])
    assert result.exit_code == 0
    assert client.get("/").status_code == 302
    assert events[-1]["kind"] == EventType.ROLE_CHANGE


@pytest.mark.usefixtures("app")
class TestJobs:
    pytestmark = with_jobs

    def test_jobs_list_and_run(self, app):
        cli = app.test_cli_runner()
        listing = cli.invoke(args=["jobs", "list"]).output
        assert "testjobs.tick" in listing and "never run" in listing
        before = len(ticks)
        result = cli.invoke(args=["jobs", "run", "testjobs.tick"])
        assert result.exit_code == 0 and "success" in result.output
        assert len(ticks) == before + 1
        assert "last " in cli.invoke(args=["jobs", "list"]).output

    def test_a_failing_job_is_recorded_with_its_error(self, app):
        result = app.test_cli_runner().invoke(args=["jobs", "run", "testjobs.boom"])
        assert result.exit_code == 1
        with app.app_context():
            run = db.session.scalar(db.select(JobRun).where(JobRun.job_name == "testjobs.boom"))
            assert run.outcome == "error" and run.error == "RuntimeError: disk on fire"
            assert run.duration_ms is not None and run.finished_at is not None

    def test_unknown_job_is_a_usage_error(self, app):
        result = app.test_cli_runner().invoke(args=["jobs", "run", "nope"])
        assert result.exit_code == 2 and "Known jobs: testjobs.boom, testjobs.tick" in result.output

    def test_admin_jobs_page_runs_and_pauses(self, app, make_user, events):
        make_user("root", role="admin")
        client = app.test_client()
        auth = AuthActions(client)
        auth.login("root")
        page = client.get("/admin/jobs").get_data(as_text=True)
        assert "testjobs.tick" in page and "never" in page
        response = auth.post("/admin/jobs/testjobs.boom/run", page="/admin/jobs", follow_redirects=True)
        assert "testjobs.boom: error" in response.get_data(as_text=True)
        assert "RuntimeError: disk on fire" in client.get("/admin/jobs").get_data(as_text=True)
        auth.post("/admin/jobs/testjobs.tick/pause", {"value": "pause"}, page="/admin/jobs")
        assert '<span class="badge">paused</span>' in client.get("/admin/jobs").get_data(as_text=True)
        assert events[-1]["kind"] == EventType.CONFIGURATION_CHANGE
        assert events[-1]["metadata"] == {"job": "testjobs.tick", "paused": True}
        assert "[paused]" in app.test_cli_runner().invoke(args=["jobs", "list"]).output

    def test_paused_job_is_skipped_by_the_scheduler(self, app):
        from app.jobs import run_job, set_paused

        with app.app_context():
            set_paused("testjobs.tick", True, "root")
        before = len(ticks)
        assert run_job(app, TEST_JOBS.jobs[0], trigger="schedule") is None
        assert len(ticks) == before
        assert run_job(app, TEST_JOBS.jobs[0], trigger="manual").outcome == "success"


def test_admin_changes_a_role_with_an_audit_event(app, make_user, events):
    make_user("root", role="admin")
    alice = make_user("alice")
    admin_client, alice_client = app.test_client(), app.test_client()
    AuthActions(alice_client).login("alice")
    auth = AuthActions(admin_client)
    auth.login("root")
    auth.post(f"/admin/users/{alice.id}/role", {"role": "admin"}, page="/admin/users")
    assert events[-1]["kind"] == EventType.ROLE_CHANGE
    assert events[-1]["metadata"] == {"target_user_id": alice.id, "from": "client", "to": "admin"}
    assert alice_client.get("/").status_code == 302  # her sessions were ended


def test_admin_cannot_change_their_own_role(app, make_user):
    root = make_user("root", role="admin")
    client = app.test_client()
    auth = AuthActions(client)
    auth.login("root")
    response = auth.post(
        f"/admin/users/{root.id}/role", {"role": "client"}, page="/admin/users", follow_redirects=True
    )
    assert "cannot change your own role" in response.get_data(as_text=True)


def test_admin_page_bad_page_number_is_a_400(app, make_user):
    make_user("root", role="admin")
    client = app.test_client()
    AuthActions(client).login("root")
    assert client.get("/admin/users?page=abc").status_code == 400
    assert client.get("/admin/users?page=99").status_code == 200
