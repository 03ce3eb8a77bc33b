"""Real servers for tests: the portal in a thread (werkzeug) and under gunicorn (subprocess)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import requests
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, timeout: float = 30.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering {url}")
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@contextlib.contextmanager
def serve_in_thread(app) -> Iterator[str]:
    """Serve ``app`` on a free loopback port in a thread; yield its base URL."""
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        wait_until_up(base + "/healthz")
        yield base
    finally:
        server.shutdown()
        thread.join(timeout=10)


@contextlib.contextmanager
def gunicorn(
    env: Mapping[str, str], workers: int = 2, threads: int = 1, extra_args: tuple[str, ...] = ()
) -> Iterator[str]:
    """Run ``gunicorn wsgi:app`` with ``env`` added to the environment; yield its base URL.

    The caller prepares the database ``env['DATABASE_URL']`` points at (schema created)."""
    port = free_port()
    process_env = {**os.environ, "PORTAL_ENV": "testing", **env}
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "wsgi:app",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--log-level",
        "warning",
        *extra_args,
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=process_env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + "/healthz", process=process)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
