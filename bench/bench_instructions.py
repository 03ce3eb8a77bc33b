"""Instructions per request, counted by valgrind's callgrind: the same count for the same code
whatever else the machine is doing, so it can tell a 3 % change that throughput on a shared
machine cannot.

Two scenarios, as in bench_overhead.py:

- ``anonymous`` (``--path``, default ``/auth/login``): every plugin on against every plugin off;
- ``signed-in``: the cached ``GET /api/v1/plans/search`` as a signed-in client (its cookie and
  User-Agent from sign-in) with (a) every plugin on, (b) security, mfa and performance off (cache
  and plans on), and (c) bare Flask's "Hello, World!" (``bench/hello_app.py``); printed as the
  ratios b/a and c/a (what throughput would be if nothing but these instructions counted).

Each side is one Python process under callgrind with counting switched off until its app is
built and warmed up (callgrind_control turns it on for the measured requests only). The
requests go through the Flask test client in process: no HTTP server, so the ratios are the
application's own work (gunicorn and the network dilute them). Work done every so many seconds
(the flushers, reloading the ban and block lists) is deferred: its cost per request depends on
wall time, which valgrind slows fifty-fold; bench_flush.py measures the flush.

    .venv/bin/python bench/bench_instructions.py [--scenario signed-in] [--requests 200]
    .venv/bin/python bench/bench_instructions.py --scenario anonymous [--path /auth/login]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = "mfa,security,performance,cache,plans"
KEPT = "cache,plans"  # (b) of the signed-in scenario
SIGNED_IN_PATH = "/api/v1/plans/search?state=CA&sort=premium"
SIDES = {"anonymous": ("on", "off"), "signed-in": ("a", "b", "c")}


def _portal(side: str, workdir: str):
    from app import create_app

    return create_app(
        {
            "PORTAL_ENV": "testing",
            "SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789",
            "DATABASE_URL": f"sqlite:///{workdir}/bench.db",
            "INSTANCE_PATH": workdir,
            "PORTAL_PLUGINS": KEPT if side == "b" else PLUGINS,
            "PORTAL_SAFE_MODE": side == "off",
            "SCHEDULER_ENABLED": False,
            "TRUSTED_PROXY_COUNT": 1,
            "RATE_LIMIT_DRY_RUN": side in ("on", "off"),
            "RATE_LIMIT_API": "100000000 per 15 minutes",
            "MFA_REQUIRED_ROLES": "",
            "PERFORMANCE_FLUSH_INTERVAL_SECONDS": 3600.0,
            "SECURITY_TRAFFIC_FLUSH_SECONDS": 3600,
            "SECURITY_BAN_CACHE_SECONDS": 3600,
            "SECURITY_BLOCK_CACHE_SECONDS": 3600,
        }
    )


def signed_in_sender(side: str, workdir: str):
    """(a function sending one signed-in search (side a or b) or one "Hello, World!" (side c),
    the app that answers it)."""
    if side == "c":
        sys.path.insert(0, str(ROOT / "bench"))
        from hello_app import app as hello

        client = hello.test_client()
        return (lambda number: client.get("/")), hello
    import signed_in

    from app.extensions import db

    app = _portal(side, workdir)
    with app.app_context():
        db.create_all()
        names = signed_in.create_users(1)
        signed_in.seed_plans()
    client = app.test_client()
    headers = {"User-Agent": signed_in.AGENT, "X-Forwarded-For": "198.18.0.1"}
    form = client.get("/auth/login", headers=headers)
    token = signed_in.CSRF_FIELD.search(form.data)
    answer = client.post(
        "/auth/login",
        data={"username": names[0], "password": signed_in.PASSWORD, "csrf_token": token.group(1).decode()},
        headers=headers,
    )
    if answer.status_code != 302:
        raise RuntimeError(f"signing in answered {answer.status_code}")
    return (lambda number: client.get(SIGNED_IN_PATH, headers=headers)), app


def _anonymous_sender(side: str, workdir: str, path: str):
    from app.extensions import db

    app = _portal(side, workdir)
    with app.app_context():
        db.create_all()
    client = app.test_client()

    def send(number: int):
        # requests from many client addresses, as in bench_overhead.py
        address = f"10.0.{number // 250 % 250}.{number % 250}"
        return client.get(path, headers={"X-Forwarded-For": address})

    return send


def child(side: str, path: str, requests: int) -> None:
    """Runs under callgrind: build the app, warm it up, count ``requests`` requests."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    workdir = tempfile.mkdtemp(prefix="bench-instr-")
    if side in SIDES["signed-in"]:
        send, _ = signed_in_sender(side, workdir)
    else:
        send = _anonymous_sender(side, workdir, path)

    def checked(number: int) -> None:
        response = send(number)
        if response.status_code != 200 and (side in SIDES["signed-in"] or response.status_code >= 500):
            raise RuntimeError(f"side {side} answered {response.status_code}")

    for number in range(50):
        checked(number)
    control = ["callgrind_control", "-i"]
    subprocess.run([*control, "on", str(os.getpid())], check=True, capture_output=True)
    for number in range(50, 50 + requests):
        checked(number)
    subprocess.run([*control, "off", str(os.getpid())], check=True, capture_output=True)
    shutil.rmtree(workdir, ignore_errors=True)


def count(side: str, path: str, requests: int, workdir: Path) -> subprocess.Popen:
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={workdir / side}.out",
        sys.executable,
        __file__,
        "--child",
        side,
        "--path",
        path,
        "--requests",
        str(requests),
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=tuple(SIDES), default="signed-in")
    parser.add_argument("--path", default="/auth/login", help="route (anonymous scenario)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--child", choices=("on", "off", "a", "b", "c"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.path, args.requests)
        return
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        raise SystemExit("needs valgrind (Debian package valgrind)")
    with tempfile.TemporaryDirectory() as directory:
        sides = SIDES[args.scenario]
        processes = {side: count(side, args.path, args.requests, Path(directory)) for side in sides}
        per_request = {}
        for side, process in processes.items():
            _, errors = process.communicate()
            collected = re.findall(r"Collected : (\d+)", errors)
            if process.returncode != 0 or not collected:
                raise SystemExit(f"callgrind run '{side}' failed:\n{errors[-2000:]}")
            per_request[side] = int(collected[-1]) / args.requests
    if args.scenario == "anonymous":
        print(json.dumps({"path": args.path, "requests": args.requests, "plugins": PLUGINS}))
        print(f"instructions per request: plugins on {per_request['on']:,.0f}; off {per_request['off']:,.0f}")
        print(f"ratio off/on (the throughput ratio if nothing else counted): "
              f"{per_request['off'] / per_request['on']:.3f}")  # fmt: skip
        return
    print(
        json.dumps(
            {"path": SIGNED_IN_PATH, "requests": args.requests, "a": PLUGINS, "b": KEPT, "c": "bare Flask"}
        )
    )
    print("instructions per request: " + ", ".join(f"({s}) {per_request[s]:,.0f}" for s in sides))
    print(f"plugins' cost a-b: {per_request['a'] - per_request['b']:,.0f}; ratios (the throughput ratios if "
          f"nothing else counted): b/a {per_request['b'] / per_request['a']:.3f}, "
          f"c/a {per_request['c'] / per_request['a']:.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
