"""The embedded server's threads and the database pool are sized together."""

from __future__ import annotations

import pytest

from app import ConfigError, create_app
from app.database import BACKGROUND_THREADS, engine_options
from app.scheduler import JOB_THREADS


def make(tmp_path, **config):
    return create_app(
        {"PORTAL_ENV": "testing", "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "PORTAL_PLUGINS": "",
         "INSTANCE_PATH": str(tmp_path / "instance"), **config}
    )  # fmt: skip


def test_every_thread_that_can_hold_connections_has_two_without_waiting(tmp_path):
    app = make(tmp_path, SERVE_THREADS="12")
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    holders = 12 + JOB_THREADS + 1  # requests, scheduled jobs, the metrics flusher
    assert options["pool_size"] == holders and options["max_overflow"] == holders
    assert BACKGROUND_THREADS == JOB_THREADS + 1
    with app.app_context():
        from app.extensions import db

        assert db.engine.pool.size() == holders


@pytest.mark.parametrize("value", ["0", "65", "many", "-3"])
def test_a_bad_thread_count_stops_start_up_naming_the_setting(tmp_path, value):
    with pytest.raises(ConfigError, match="SERVE_THREADS"):
        make(tmp_path, SERVE_THREADS=value)


def test_explicit_engine_options_win(tmp_path):
    app = make(tmp_path, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 2, "max_overflow": 0})
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_size": 2, "max_overflow": 0}


def test_in_memory_sqlite_gets_no_queue_options():
    assert engine_options("sqlite://", 8) == {"pool_pre_ping": True}
    assert engine_options("sqlite:///:memory:", 8) == {"pool_pre_ping": True}
    assert engine_options("postgresql+psycopg://u@h/db", 1)["pool_size"] == 1 + BACKGROUND_THREADS


def test_the_waitress_server_has_the_threads_and_refuses_oversized_bodies_early(tmp_path):
    from app.serving import BODY_SLACK_BYTES, build_server

    app = make(tmp_path, SERVE_THREADS="3", MAX_CONTENT_LENGTH="4096")
    server = build_server(app, "127.0.0.1", 0)
    try:
        assert len(server.task_dispatcher.threads) == 3
        assert server.adj.max_request_body_size == 4096 + BODY_SLACK_BYTES
        assert server.adj.clear_untrusted_proxy_headers is True
        assert not server.adj.ident  # no Server header
    finally:
        server.task_dispatcher.shutdown()
        server.close()
