"""A replayed session cookie against the same session unchanged, measured side by side in one run.

A script that copied a signed-in cookie replays it with another User-Agent and never keeps the
cookie the portal sends back. Both clients request the signed-in home page through the Flask
test client in interleaved rounds; the figures are requests per second of each, their ratio
(the replay should cost what the unchanged session costs), and the audit rows the replay wrote
per 100 requests.
Run: python bench/bench_replay.py [--rounds 9] [--requests 200]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from app.auth.passwords import hash_password  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import User  # noqa: E402

PASSWORD = "bench password that is long enough"
BROWSER, SCRIPT = "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0", "curl/8.5.0"


def build(folder: Path):
    app = create_app(
        {
            "PORTAL_ENV": "testing",
            "DATABASE_URL": f"sqlite:///{folder / 'portal.db'}",
            "INSTANCE_PATH": str(folder / "instance"),
            "PORTAL_PLUGINS": "security",
            "SCHEDULER_ENABLED": False,
            "RATELIMIT_STORAGE_URI": "memory://",
            "RATE_LIMIT_MAX_REQUESTS": 1_000_000,
            "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
        }
    )
    with app.app_context():
        db.create_all()
        db.session.add(User(username="alice", password_hash=hash_password(PASSWORD), role="client"))
        db.session.commit()
    return app


def signed_in_cookie(app) -> str:
    browser = app.test_client()
    page = browser.get("/auth/login", headers={"User-Agent": BROWSER}).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    form = {"username": "alice", "password": PASSWORD, "csrf_token": token}
    assert browser.post("/auth/login", data=form, headers={"User-Agent": BROWSER}).status_code == 302
    return browser.get_cookie(app.config["SESSION_COOKIE_NAME"]).value


def audit_rows(app) -> int:
    with app.app_context():
        return db.session.scalar(db.text("SELECT count(*) FROM security_events"))


def measure(app, headers: dict, count: int) -> float:
    client = app.test_client(use_cookies=False)
    started = time.perf_counter()
    for _ in range(count):
        response = client.get("/", headers=headers)
        assert response.status_code == 200, response.status_code
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app = build(Path(folder))
        cookie = f"{app.config['SESSION_COOKIE_NAME']}={signed_in_cookie(app)}"
        clients = {
            "same": {"Cookie": cookie, "User-Agent": BROWSER},
            "replayed": {"Cookie": cookie, "User-Agent": SCRIPT},
        }
        for headers in clients.values():
            measure(app, headers, 20)  # warm-up: templates compiled, the first move reported
        rows_before = audit_rows(app)
        rates: dict[str, list[float]] = {"same": [], "replayed": []}
        for round_number in range(args.rounds):
            order = ("same", "replayed") if round_number % 2 == 0 else ("replayed", "same")
            for name in order:
                rates[name].append(measure(app, clients[name], args.requests))
        rows = audit_rows(app) - rows_before
    replayed = args.rounds * args.requests
    ratio = statistics.median(a / b for a, b in zip(rates["replayed"], rates["same"], strict=True))
    print(f"unchanged session : {statistics.median(rates['same']):8.0f} requests/s (median of {args.rounds})")
    print(f"replayed cookie   : {statistics.median(rates['replayed']):8.0f} requests/s")
    print(f"throughput ratio replayed/unchanged (median of paired rounds): {ratio:.3f}")
    print(
        f"audit rows written by {replayed} replayed requests after the first: {rows} ({100 * rows / replayed:.1f} per 100)"
    )


if __name__ == "__main__":
    main()
