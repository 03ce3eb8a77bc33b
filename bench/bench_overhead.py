"""Overhead of the plugins: requests per second of one portal route under gunicorn with every
plugin on against the same route with every plugin off (PORTAL_SAFE_MODE), in interleaved rounds
of one run, printed as a ratio (goal: 0.85 or better).

    .venv/bin/python bench/bench_overhead.py [--path /auth/login] [--rounds 6] [--seconds 4]
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
WANTED = ("mfa", "security", "performance", "cache", "plans")


def available_plugins() -> list[str]:
    """The wanted plugins that exist in this checkout (others are being written elsewhere)."""
    from app.plugin.loader import discover

    found, _ = discover()
    return [name for name in WANTED if name in found]


def prepare_database(workdir: Path, plugins: list[str]) -> str:
    from app import create_app
    from app.extensions import db

    url = f"sqlite:///{workdir / 'bench.db'}"
    app = create_app({"PORTAL_ENV": "testing", "DATABASE_URL": url, "INSTANCE_PATH": str(workdir),
                      "PORTAL_PLUGINS": ",".join(plugins)})  # fmt: skip
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    return url


def start_server(port: int, env: dict[str, str], workers: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--log-level", "warning"]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})


def wait_up(port: int, path: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            status, _ = fetch(port, path)
            if status < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server on port {port} did not come up")


def client_address(n: int) -> str:
    """The n-th simulated client, in 198.18.0.0/15 (the range set aside for benchmarks)."""
    return f"198.18.{(n // 250) % 256}.{n % 250 + 1}"


def fetch(port: int, path: str, client: str | None = None) -> tuple[int, int]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"X-Forwarded-For": client} if client else {}
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        return response.status, len(body)
    finally:
        connection.close()


def load(port: int, path: str, seconds: float, threads: int, clients: int = 1) -> tuple[int, dict[int, int]]:
    """Hit ``path`` from ``threads`` client threads for ``seconds``, the requests spread over
    ``clients`` addresses; (requests, status counts)."""
    stop = time.monotonic() + seconds
    counts: list[dict[int, int]] = [{} for _ in range(threads)]

    def worker(index: int, mine: dict[int, int]) -> None:
        n = index
        while time.monotonic() < stop:
            status, _ = fetch(port, path, client_address(n % clients))
            mine[status] = mine.get(status, 0) + 1
            n += threads

    pool = [threading.Thread(target=worker, args=(i, counts[i])) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    merged: dict[int, int] = {}
    for mine in counts:
        for status, n in mine.items():
            merged[status] = merged.get(status, 0) + n
    return sum(merged.values()), merged


def server_cpu_seconds(server: subprocess.Popen) -> float:
    """CPU time (user + system) used so far by the gunicorn master and its workers: the work per
    request, less sensitive than throughput to what else the machine is doing."""
    import psutil

    master = psutil.Process(server.pid)
    total = 0.0
    for process in [master, *master.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default="/auth/login")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--plugins", help="comma-separated subset to switch on (default: every one present)")
    parser.add_argument(
        "--clients",
        type=int,
        default=1000,
        help="client addresses the requests come from (X-Forwarded-For, one trusted proxy)",
    )
    args = parser.parse_args()

    plugins = available_plugins()
    if args.plugins:
        plugins = [name for name in args.plugins.split(",") if name in plugins]
    workdir = Path(tempfile.mkdtemp(prefix="bench-overhead-"))
    (workdir / "prom").mkdir()
    url = prepare_database(workdir, plugins)
    common = {"PORTAL_ENV": "testing", "DATABASE_URL": url, "PORTAL_INSTANCE_PATH": str(workdir),
              "SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789", "SCHEDULER_ENABLED": "false",
              "LOG_LEVEL": "warning", "TRUSTED_PROXY_COUNT": "1"}  # fmt: skip
    # A portal's load comes from many clients, each well under its limits: the requests are
    # spread over --clients addresses (through one trusted proxy) and the default limits stay
    # as configured. Dry run keeps a client that does cross a limit from getting cheap 429s.
    # (With --clients 1 and a huge budget, the in-memory moving window holds one entry per
    # request of the window, and the limiter's cost grows with the run.)
    on_env = {**common, "PORTAL_PLUGINS": ",".join(plugins), "PROMETHEUS_MULTIPROC_DIR": str(workdir / "prom"),
              "RATE_LIMIT_DRY_RUN": "true"}  # fmt: skip
    off_env = {**common, "PORTAL_SAFE_MODE": "true"}
    ports = {"on": free_port(), "off": free_port()}
    servers = {"on": start_server(ports["on"], on_env, args.workers),
               "off": start_server(ports["off"], off_env, args.workers)}  # fmt: skip
    try:
        for name in servers:
            wait_up(ports[name], args.path)
            load(ports[name], args.path, 1.0, args.threads)  # warm-up: imports, first-request work
        totals = {"on": [0, 0.0], "off": [0, 0.0]}
        cpu = {"on": 0.0, "off": 0.0}
        round_ratios: list[float] = []
        statuses: dict[str, dict[int, int]] = {"on": {}, "off": {}}
        print(f"plugins on: {', '.join(plugins) or 'none'}; route GET {args.path}; {args.workers} workers; "
              f"{args.threads} client threads; {args.clients} client addresses")  # fmt: skip
        for round_number in range(args.rounds):
            order = ("on", "off") if round_number % 2 == 0 else ("off", "on")
            line, round_rate = [], {}
            for name in order:
                started, cpu_before = time.perf_counter(), server_cpu_seconds(servers[name])
                done, status_counts = load(ports[name], args.path, args.seconds, args.threads, args.clients)
                elapsed = time.perf_counter() - started
                cpu[name] += server_cpu_seconds(servers[name]) - cpu_before
                totals[name][0] += done
                totals[name][1] += elapsed
                for status, n in status_counts.items():
                    statuses[name][status] = statuses[name].get(status, 0) + n
                line.append(f"{name} {done / elapsed:7.1f} req/s")
                round_rate[name] = done / elapsed
            round_ratios.append(round_rate["on"] / round_rate["off"])
            print(f"round {round_number + 1}: " + " | ".join(line) + f" | on/off {round_ratios[-1]:.3f}")
        rate = {name: done / elapsed for name, (done, elapsed) in totals.items()}
        print(f"status codes: on {statuses['on']}, off {statuses['off']}")
        print(f"all plugins on: {rate['on']:.1f} req/s; all off: {rate['off']:.1f} req/s")
        per_request = {name: 1000 * cpu[name] / max(1, totals[name][0]) for name in cpu}
        print(f"server CPU per request: on {per_request['on']:.3f} ms; off {per_request['off']:.3f} ms "
              f"(off/on {per_request['off'] / per_request['on']:.3f})")  # fmt: skip
        print(f"per-round on/off: median {statistics.median(round_ratios):.3f}, "
              f"range {min(round_ratios):.3f}-{max(round_ratios):.3f}")  # fmt: skip
        print(f"ratio on/off: {rate['on'] / rate['off']:.3f} (goal >= 0.85)")
    finally:
        for server in servers.values():
            server.terminate()
        for server in servers.values():
            server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
