"""The embedded run command end to end: migrate, seed, scheduler in-process, serve."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import CSRF_PATTERN
from tests.support.servers import free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def test_flask_serve_brings_up_a_working_portal(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "PORTAL_ENV": "development",
        "PORTAL_INSTANCE_PATH": str(tmp_path),
        "PYTHONUNBUFFERED": "1",
        "PORTAL_DOTENV": str(tmp_path / "none.env"),
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
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "El-Mag Client Portal on" in line:
                break
        output = "".join(lines)
        assert f"http://127.0.0.1:{port}/" in output, output[-3000:]
        password = re.search(r"client username: client\s+password: (\S+)", output).group(1)
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base + "/healthz", process=process)
        assert (tmp_path / "portal.db").is_file()
        # The scheduler runs inside this process: it holds the runner lock file.
        lock = tmp_path / "scheduler.lock"
        for _ in range(50):
            if lock.is_file() and lock.read_text() == str(process.pid):
                break
            time.sleep(0.2)
        assert lock.read_text() == str(process.pid)
        session = requests.Session()
        token = CSRF_PATTERN.search(session.get(base + "/auth/login").text).group(1)
        response = session.post(
            base + "/auth/login",
            data={"username": "client", "password": password, "csrf_token": token},
            allow_redirects=False,
        )
        assert response.status_code == 302
        assert "Welcome, client" in session.get(base + "/").text
        assert session.get(base + "/readyz").json()["status"] == "ready"
    finally:
        process.terminate()
        process.wait(timeout=20)
