"""The embedded mode, started as the README says, serves a crowd: 50 people signing in at the same
moment, then 200 page loads 50 at a time; and it stops cleanly, with nothing buffered lost."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from app import create_app
from tests.conftest import PASSWORD
from tests.support.crowd import create_members, crowd_credentials, load_pages, sign_in_all
from tests.support.servers import free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow
CROWD = 50
PAGE_LOADS = 200


@contextmanager
def embedded_server(instance: Path, **settings: str) -> Iterator[tuple[str, subprocess.Popen, list[str]]]:
    """``flask --app wsgi serve`` on a free port with its instance in ``instance``; yield the base
    URL, the process and the lines it printed so far (a thread keeps reading them)."""
    port = free_port()
    env = {
        **os.environ,
        "PORTAL_ENV": "development",
        "PORTAL_INSTANCE_PATH": str(instance),
        "PYTHONUNBUFFERED": "1",
        "PORTAL_DOTENV": str(instance / "none.env"),
        **settings,
    }
    for name in ("DATABASE_URL", "REDIS_URL", "PORTAL_PLUGINS", "PORTAL_SAFE_MODE"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    started = threading.Event()

    def read() -> None:
        for line in process.stdout:
            lines.append(line)
            if "El-Mag Client Portal on" in line:
                started.set()
        started.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert started.wait(120), "".join(lines)[-3000:]
        base = f"http://127.0.0.1:{port}"
        assert any(f"El-Mag Client Portal on {base}/" in line for line in lines), "".join(lines)[-3000:]
        wait_until_up(base + "/healthz", process=process)
        yield base, process, lines
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        reader.join(timeout=10)


def test_fifty_concurrent_sign_ins_then_page_loads_and_a_clean_stop(tmp_path):
    # The default limit (100 requests per 15 minutes per address) would refuse a crowd that all
    # comes from 127.0.0.1; the flusher's long interval leaves the metrics to the final flush.
    settings = {"RATE_LIMIT_MAX_REQUESTS": "100000", "PERFORMANCE_FLUSH_INTERVAL_SECONDS": "3600"}
    with embedded_server(tmp_path, **settings) as (base, process, lines):
        output = "".join(lines)
        assert "WARNING: This is a development server" not in output
        assert re.search(r"client username: client\s+password: \S+", output)
        database = f"sqlite:///{tmp_path / 'portal.db'}"
        members = crowd_credentials(CROWD, PASSWORD)
        create_members(
            create_app({"PORTAL_ENV": "testing", "DATABASE_URL": database, "PORTAL_PLUGINS": "",
                        "INSTANCE_PATH": str(tmp_path / "members")}),
            members,
        )  # fmt: skip

        signed, sessions = sign_in_all(base, members)
        assert signed.successes == CROWD, signed.summary()
        pages = load_pages(base, sessions, total=PAGE_LOADS, concurrency=CROWD)
        assert pages.successes == PAGE_LOADS, pages.summary()
        assert signed.server_errors == pages.server_errors == 0
        # No header names the server software; a body over MAX_CONTENT_LENGTH is refused while
        # it is read (waitress would otherwise buffer up to 1 GB of it first).
        assert "Server" not in sessions[0].get(base + "/").headers
        oversized = requests.post(base + "/auth/login", data=b"x" * (3 * 1024 * 1024), timeout=60)
        assert oversized.status_code == 413

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, "".join(lines)[-3000:]
    output = "".join(lines)
    assert "Traceback" not in output, output[-5000:]
    assert "QueuePool limit" not in output
    # Every page load was measured, and the measurements, held in memory by the one-hour flush
    # interval, reached the database when the server stopped.
    engine = create_engine(database)
    with engine.connect() as conn:
        counted = conn.scalar(
            text("SELECT COALESCE(SUM(count), 0) FROM performance_rollups WHERE resolution = 60 AND method = 'GET' "
                 "AND endpoint = '/plans/policies'")
        )  # fmt: skip
    engine.dispose()
    assert counted == PAGE_LOADS // 4
