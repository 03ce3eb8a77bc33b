"""Exactly one scheduler runner per deployment: two processes, one lock (file, PostgreSQL, Redis)."""

import json
import subprocess
import sys
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
