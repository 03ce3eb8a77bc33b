"""Overhead of the plugins, measured from outside under gunicorn, in interleaved rounds of one run.

The signed-in scenario (the default; needs wrk): 40 users, each signed in with its own cookie,
address and User-Agent, load the plans search API (its answer cached) on (a) every plugin on,
(b) security, mfa and performance off (cache and plans on), (c) a bare Flask "Hello, World!"
under the same gunicorn; printed as a/b (goal >= 0.85) and a/c (goal >= 0.30). Before each round
every user's cookie is refreshed from one request, as a browser keeps the cookie it is sent
(the session cookie is re-issued when its idle clock moves on). The API's limit
is raised so that nothing is refused; any answer other than 200 is printed (a run with one is
invalid). The anonymous scenario: one route with every plugin on against PORTAL_SAFE_MODE.

    .venv/bin/python bench/bench_overhead.py [--rounds 6] [--seconds 5] [--users 40]
    .venv/bin/python bench/bench_overhead.py --scenario anonymous [--path /auth/login]
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
sys.path.insert(0, str(ROOT / "bench"))
import signed_in  # noqa: E402  (bench/ is not a package)

WANTED = ("mfa", "security", "performance", "cache", "plans")


def available_plugins() -> list[str]:
    """The wanted plugins that exist in this checkout (others are being written elsewhere)."""
    from app.plugin.loader import discover

    found, _ = discover()
    return [name for name in WANTED if name in found]


def prepare_database(workdir: Path, plugins: list[str], users: int = 0) -> tuple[str, list[str]]:
    """Create the bench's database (with ``users`` client users and the demo plans if asked)."""
    from app import create_app
    from app.extensions import db

    url = f"sqlite:///{workdir / 'bench.db'}"
    app = create_app({"PORTAL_ENV": "testing", "DATABASE_URL": url, "INSTANCE_PATH": str(workdir),
                      "PORTAL_PLUGINS": ",".join(plugins)})  # fmt: skip
    names: list[str] = []
    with app.app_context():
        db.create_all()
        if users:
            names = signed_in.create_users(users)
            signed_in.seed_plans()
        db.engine.dispose()
    return url, names


def start_server(port: int, env: dict[str, str], workers: int, module: str = "wsgi:app") -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", module, "--bind", f"127.0.0.1:{port}",
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


def anonymous(args: argparse.Namespace) -> None:
    plugins = available_plugins()
    if args.plugins:
        plugins = [name for name in args.plugins.split(",") if name in plugins]
    workdir = Path(tempfile.mkdtemp(prefix="bench-overhead-"))
    (workdir / "prom").mkdir()
    url, _ = prepare_database(workdir, plugins)
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


SIGNED_IN_PATH = "/api/v1/plans/search?state=CA&sort=premium"


def signed_in_run(args: argparse.Namespace) -> None:
    """(a) every plugin on, (b) security, mfa and performance off, (c) bare Flask: rounds of each."""
    plugins = available_plugins()
    workdir = Path(tempfile.mkdtemp(prefix="bench-overhead-"))
    (workdir / "prom").mkdir()
    url, names = prepare_database(workdir, plugins, users=args.users)
    common = {"PORTAL_ENV": "testing", "DATABASE_URL": url, "PORTAL_INSTANCE_PATH": str(workdir),
              "SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789", "SCHEDULER_ENABLED": "false",
              "LOG_LEVEL": "warning", "TRUSTED_PROXY_COUNT": "1",
              # The default limits stay; the API's is raised so that no request is refused.
              "RATE_LIMIT_API": "100000000 per 15 minutes"}  # fmt: skip
    kept = [name for name in plugins if name not in ("security", "mfa", "performance")]
    envs = {"a": {**common, "PORTAL_PLUGINS": ",".join(plugins), "PROMETHEUS_MULTIPROC_DIR": str(workdir / "prom")},
            "b": {**common, "PORTAL_PLUGINS": ",".join(kept)}}  # fmt: skip
    ports = {name: free_port() for name in ("a", "b", "c")}
    servers = {name: start_server(ports[name], envs[name], args.workers) for name in envs}
    servers["c"] = start_server(ports["c"], {}, args.workers, "bench.hello_app:app")
    paths = {"a": SIGNED_IN_PATH, "b": SIGNED_IN_PATH, "c": "/"}
    users: dict[str, Path | None] = {"c": None}
    try:
        for name in servers:
            wait_up(ports[name], "/" if name == "c" else "/auth/login")
        for name in envs:
            users[name] = signed_in.users_file(ports[name], names, client_address)
        for name in servers:  # warm-up: imports, first requests, the cached answer
            signed_in.wrk(ports[name], paths[name], users[name], 1.0, args.connections, args.wrk_threads)
        print(f"(a) plugins: {', '.join(plugins)}; (b) plugins: {', '.join(kept)}; (c) bare Flask; "
              f"GET {SIGNED_IN_PATH} as {len(names)} signed-in users; gunicorn {args.workers} sync workers; "
              f"wrk {args.wrk_threads} threads, {args.connections} connections")  # fmt: skip
        totals = {name: [0, 0.0] for name in servers}
        cpu = dict.fromkeys(servers, 0.0)
        refused: dict[str, list[str]] = {name: [] for name in servers}
        orders = [("a", "b", "c"), ("c", "b", "a"), ("b", "a", "c"), ("c", "a", "b")]
        for round_number in range(args.rounds):
            rate = {}
            for name in orders[round_number % len(orders)]:
                if users[name] is not None:  # the newest cookies, as the users' browsers hold them
                    signed_in.refresh(ports[name], paths[name], users[name])
                cpu_before = server_cpu_seconds(servers[name])
                done, seconds, other = signed_in.wrk(ports[name], paths[name], users[name], args.seconds,
                                                     args.connections, args.wrk_threads)  # fmt: skip
                cpu[name] += server_cpu_seconds(servers[name]) - cpu_before
                totals[name][0] += done
                totals[name][1] += seconds
                rate[name] = done / seconds
                if other:
                    refused[name].append(other)
            print(f"round {round_number + 1}: " + " | ".join(f"{n} {rate[n]:7.1f} req/s" for n in "abc")
                  + f" | a/b {rate['a'] / rate['b']:.3f} a/c {rate['a'] / rate['c']:.3f}")  # fmt: skip
        total = {name: done / seconds for name, (done, seconds) in totals.items()}
        for name in servers:
            print(f"({name}) non-200 answers: {'; '.join(refused[name]) or 'none'}")
        if any(refused.values()):
            print("INVALID: some requests were not answered 200 (see above)")
        print(f"(a) {total['a']:.1f} req/s, (b) {total['b']:.1f} req/s, (c) {total['c']:.1f} req/s")
        # On a shared machine throughput moves with the neighbours' load; the server's CPU time
        # per request moves much less, and its inverse ratio is what throughput would be alone.
        per_request = {name: 1000 * cpu[name] / max(1, totals[name][0]) for name in servers}
        print("server CPU per request: " + ", ".join(f"({n}) {per_request[n]:.3f} ms" for n in servers))
        print(f"cost of the plugins per request: {per_request['a'] - per_request['b']:.3f} ms of CPU; "
              f"of the portal over bare Flask: {per_request['a'] - per_request['c']:.3f} ms")  # fmt: skip
        print(f"ratio a/b: {total['a'] / total['b']:.3f} by throughput, "
              f"{per_request['b'] / per_request['a']:.3f} by CPU per request (goal >= 0.85)")  # fmt: skip
        print(f"ratio a/c: {total['a'] / total['c']:.3f} by throughput, "
              f"{per_request['c'] / per_request['a']:.3f} by CPU per request (goal >= 0.30)")  # fmt: skip
    finally:
        for server in servers.values():
            server.terminate()
        for server in servers.values():
            server.wait(timeout=30)
        for path in users.values():
            if path:
                path.unlink(missing_ok=True)
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=("signed-in", "anonymous"), default="signed-in")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--users", type=int, default=40, help="signed-in users (signed-in scenario)")
    parser.add_argument("--connections", type=int, default=40, help="wrk connections (signed-in scenario)")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (signed-in scenario)")
    parser.add_argument("--path", default="/auth/login", help="route (anonymous scenario)")
    parser.add_argument("--threads", type=int, default=8, help="client threads (anonymous scenario)")
    parser.add_argument("--plugins", help="comma-separated subset to switch on (anonymous scenario)")
    parser.add_argument(
        "--clients",
        type=int,
        default=1000,
        help="client addresses the requests come from (X-Forwarded-For, one trusted proxy; anonymous scenario)",
    )
    args = parser.parse_args()
    if args.scenario == "signed-in":
        if shutil.which("wrk") is None:
            raise SystemExit("the signed-in scenario needs wrk (Debian: apt-get install wrk)")
        signed_in_run(args)
    else:
        anonymous(args)


if __name__ == "__main__":
    main()
