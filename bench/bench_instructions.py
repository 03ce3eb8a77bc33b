"""Instructions per request with every plugin on against every plugin off, counted by valgrind's
callgrind: the same count for the same code whatever else the machine is doing, so it can tell a
3 % change that throughput on a shared machine cannot.

Each side is one Python process under callgrind with counting switched off until its app is
built and warmed up (callgrind_control turns it on for the measured requests only). The
requests go through the Flask test client in process: no HTTP server, so the ratio is the
plugins' share of the application's own work (gunicorn and the network dilute it further).
Work done every so many seconds (the flushers, reloading the ban and block lists) is deferred:
its cost per request depends on wall time, which valgrind slows fifty-fold; bench_flush.py
measures the flush.

    .venv/bin/python bench/bench_instructions.py [--path /auth/login] [--requests 200]
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


def child(side: str, path: str, requests: int) -> None:
    """Runs under callgrind: build the app, warm it up, count ``requests`` requests."""
    sys.path.insert(0, str(ROOT))
    from app import create_app
    from app.extensions import db

    workdir = tempfile.mkdtemp(prefix="bench-instr-")
    app = create_app(
        {
            "PORTAL_ENV": "testing",
            "SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789",
            "DATABASE_URL": f"sqlite:///{workdir}/bench.db",
            "INSTANCE_PATH": workdir,
            "PORTAL_PLUGINS": PLUGINS,
            "PORTAL_SAFE_MODE": side == "off",
            "SCHEDULER_ENABLED": False,
            "TRUSTED_PROXY_COUNT": 1,
            "RATE_LIMIT_DRY_RUN": True,
            "PERFORMANCE_FLUSH_INTERVAL_SECONDS": 3600.0,
            "SECURITY_TRAFFIC_FLUSH_SECONDS": 3600,
            "SECURITY_BAN_CACHE_SECONDS": 3600,
            "SECURITY_BLOCK_CACHE_SECONDS": 3600,
        }
    )
    with app.app_context():
        db.create_all()
    client = app.test_client()

    def send(number: int) -> None:
        # requests from many client addresses, as in bench_overhead.py
        address = f"10.0.{number // 250 % 250}.{number % 250}"
        response = client.get(path, headers={"X-Forwarded-For": address})
        if response.status_code >= 500:
            raise RuntimeError(f"{path} answered {response.status_code}")

    for number in range(50):
        send(number)
    control = ["callgrind_control", "-i"]
    subprocess.run([*control, "on", str(os.getpid())], check=True, capture_output=True)
    for number in range(50, 50 + requests):
        send(number)
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
    parser.add_argument("--path", default="/auth/login")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--child", choices=("on", "off"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.path, args.requests)
        return
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        raise SystemExit("needs valgrind (Debian package valgrind)")
    with tempfile.TemporaryDirectory() as directory:
        processes = {side: count(side, args.path, args.requests, Path(directory)) for side in ("on", "off")}
        per_request = {}
        for side, process in processes.items():
            _, errors = process.communicate()
            collected = re.findall(r"Collected : (\d+)", errors)
            if process.returncode != 0 or not collected:
                raise SystemExit(f"callgrind run '{side}' failed:\n{errors[-2000:]}")
            per_request[side] = int(collected[-1]) / args.requests
    print(json.dumps({"path": args.path, "requests": args.requests, "plugins": PLUGINS}))
    print(f"instructions per request: plugins on {per_request['on']:,.0f}; off {per_request['off']:,.0f}")
    print(
        f"ratio off/on (the throughput ratio if nothing else counted): {per_request['off'] / per_request['on']:.3f}"
    )


if __name__ == "__main__":
    main()
