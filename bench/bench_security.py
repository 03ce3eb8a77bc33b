"""Throughput of the portal with the security plugin on against off, measured in one run.

Both apps serve the same requests through the Flask test client in interleaved rounds (so that
machine noise hits both alike); the plugin's limits are set high enough that nothing is
rejected, so the figure is the cost of the limiter, the ban check and the request inspection.
Run: python bench/bench_security.py [--rounds 7] [--requests 300]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402

PATHS = (
    "/auth/login",
    "/auth/login?next=/plans/&q=Medicare+Advantage+O%27Brien",
    "/api/v1/openapi.json",
    "/healthz",
)


def build(folder: Path, plugins: str):
    app = create_app(
        {
            "PORTAL_ENV": "testing",
            "DATABASE_URL": f"sqlite:///{folder / 'portal.db'}",
            "INSTANCE_PATH": str(folder / "instance"),
            "PORTAL_PLUGINS": plugins,
            "SCHEDULER_ENABLED": False,
            "RATELIMIT_STORAGE_URI": "memory://",
            "RATE_LIMIT_MAX_REQUESTS": 1_000_000,
            "RATE_LIMIT_API": "10000000 per hour",
        }
    )
    with app.app_context():
        db.create_all()
    return app


def measure(client, count: int) -> float:
    started = time.perf_counter()
    for n in range(count):
        response = client.get(PATHS[n % len(PATHS)])
        assert response.status_code == 200, response.status_code
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--requests", type=int, default=120)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as on_dir, tempfile.TemporaryDirectory() as off_dir:
        on, off = build(Path(on_dir), "security"), build(Path(off_dir), "")
        clients = {"on": on.test_client(), "off": off.test_client()}
        for client in clients.values():
            measure(client, 50)  # warm-up: templates compiled, connections opened
        rates: dict[str, list[float]] = {"on": [], "off": []}
        for round_number in range(args.rounds):
            order = ("on", "off") if round_number % 2 == 0 else ("off", "on")
            for name in order:
                rates[name].append(measure(clients[name], args.requests))
    on_rate, off_rate = statistics.median(rates["on"]), statistics.median(rates["off"])
    # Each round pairs two neighbouring measurements; the median pair ratio resists noise best.
    ratio = statistics.median(a / b for a, b in zip(rates["on"], rates["off"], strict=True))
    print(f"security plugin off: {off_rate:8.0f} requests/s (median of {args.rounds} rounds)")
    print(f"security plugin on : {on_rate:8.0f} requests/s")
    print(f"throughput ratio on/off (median of paired rounds): {ratio:.3f} ({1 - ratio:.1%} slower)")


if __name__ == "__main__":
    main()
