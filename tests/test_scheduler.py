"""Exactly one scheduler runner per deployment: two processes, one lock (file, PostgreSQL, Redis)."""

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app import create_app
from app.extensions import db
from app.models import JobRun
from tests.conftest import POSTGRES_URL, REDIS_URL

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def start_runner(config: dict, seconds: float) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.scheduler_proc", json.dumps(config), str(seconds)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "started"
    return process


def runs_by_runner(config: dict) -> list[tuple[str, float]]:
    app = create_app({**config, "PORTAL_PLUGINS": ""})
    with app.app_context():
        rows = db.session.scalars(db.select(JobRun).order_by(JobRun.id)).all()
        result = [(run.runner, run.started_at.timestamp()) for run in rows]
        assert all(run.outcome == "success" for run in rows)
    return result


def prove_single_runner(config: dict) -> None:
    app = create_app({**config, "PORTAL_PLUGINS": ""})
    with app.app_context():
        db.drop_all()
        db.create_all()
    first = start_runner(config, seconds=3)
    time.sleep(0.8)
    second = start_runner(config, seconds=6)  # stands by, then takes over when the first stops
    assert first.wait(timeout=30) == 0
    assert second.wait(timeout=30) == 0
    runs = runs_by_runner(config)
    runners = [runner for runner, _ in runs]
    host = runners[0].split(":")[0]
    first_id, second_id = f"{host}:{first.pid}", f"{host}:{second.pid}"
    assert runners[0] == first_id, "the first process holds the lock first"
    assert second_id in runners, "the second process takes over after the first stopped"
    switch = runners.index(second_id)
    assert set(runners[:switch]) == {first_id} and set(runners[switch:]) == {second_id}, runners
    # While both processes were alive, only the first one ran jobs.
    assert runs[switch][1] >= runs[switch - 1][1]
    assert len(runs) >= 4


def base_config(tmp_path, **extra) -> dict:
    return {
        "PORTAL_ENV": "testing",
        "SECRET_KEY": "x" * 40,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'sched.db'}",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        **extra,
    }


def test_file_lock_keeps_one_runner(tmp_path):
    prove_single_runner(base_config(tmp_path, SCHEDULER_LOCK="file"))


@pytest.mark.postgres
def test_postgres_advisory_lock_keeps_one_runner(tmp_path):
    prove_single_runner(base_config(tmp_path, DATABASE_URL=POSTGRES_URL, SCHEDULER_LOCK="postgres"))


@pytest.mark.redis
def test_redis_lock_keeps_one_runner(tmp_path):
    prove_single_runner(base_config(tmp_path, REDIS_URL=REDIS_URL, SCHEDULER_LOCK="redis"))


def test_auto_lock_choice(tmp_path):
    from app.runner_lock import FileRunnerLock, PostgresRunnerLock, RedisRunnerLock, make_runner_lock

    def lock_for(**extra):
        return type(make_runner_lock(create_app(base_config(tmp_path, PORTAL_PLUGINS="", **extra))))

    assert lock_for() is FileRunnerLock
    assert lock_for(DATABASE_URL="postgresql://u@127.0.0.1/x") is PostgresRunnerLock
    assert lock_for(REDIS_URL="redis://127.0.0.1:6379/0") is RedisRunnerLock


def test_create_app_never_starts_a_scheduler(tmp_path):
    import threading

    before = {t.name for t in threading.enumerate()}
    create_app(base_config(tmp_path, PORTAL_PLUGINS="", SCHEDULER_ENABLED="true"))
    assert "portal-scheduler" not in {t.name for t in threading.enumerate()} - before


# --- takeover after a crash, counted in renewal periods ---------------------------------------

TAKEOVER_POLL = 0.5


def start_watched_runner(config: dict, seconds: float) -> tuple[subprocess.Popen, threading.Event]:
    """A runner process polling every TAKEOVER_POLL s, and an event set when it becomes active."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.scheduler_proc", json.dumps(config), str(seconds),
         str(TAKEOVER_POLL)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert process.stdout.readline().strip() == "started"
    active = threading.Event()

    def watch() -> None:
        for line in process.stderr:
            if "scheduler active in" in line:
                active.set()

    threading.Thread(target=watch, daemon=True).start()
    return process, active


def takeover_periods(config: dict) -> float:
    """Kill the active runner outright (no release) and count the renewal periods until the
    standby is active."""
    app = create_app({**config, "PORTAL_PLUGINS": ""})
    with app.app_context():
        db.drop_all()
        db.create_all()
    first, first_active = start_watched_runner(config, seconds=60)
    second = None
    try:
        assert first_active.wait(30), "the first runner never became active"
        second, second_active = start_watched_runner(config, seconds=60)
        time.sleep(4 * TAKEOVER_POLL)  # the standby has looked at the held lock a few times
        assert not second_active.is_set(), "two runners were active at once"
        first.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        assert second_active.wait(60), "the standby never took over"
        return (time.monotonic() - killed) / TAKEOVER_POLL
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
            if process is not None:
                process.wait(timeout=10)


def test_file_lock_takeover_after_a_crash_within_a_period(tmp_path):
    assert takeover_periods(base_config(tmp_path, SCHEDULER_LOCK="file")) <= 2


@pytest.mark.postgres
def test_postgres_lock_takeover_after_a_crash_within_a_period(tmp_path):
    config = base_config(tmp_path, DATABASE_URL=POSTGRES_URL, SCHEDULER_LOCK="postgres")
    assert takeover_periods(config) <= 2


@pytest.mark.redis
def test_redis_lock_takeover_after_a_crash_within_its_ttl(tmp_path):
    from app.runner_lock import TTL_PERIODS

    periods = takeover_periods(base_config(tmp_path, REDIS_URL=REDIS_URL, SCHEDULER_LOCK="redis"))
    # Not before the dead runner's TTL ran out (nobody released it), and within one period after.
    assert TTL_PERIODS - 1 <= periods <= TTL_PERIODS + 2
