"""Cache benchmarks, measured side by side in one run.

1. get/set operations per second of each backend (memory, Redis, database on SQLite, and on
   PostgreSQL when BENCH_POSTGRES_URL is set), on a value shaped like one page of plan search.
2. GET /api/v1/plans/search served by gunicorn with the cache on (memory and Redis backends)
   against the same server with CACHE_ENABLED=false, as requests per second and their ratio.

Run: .venv/bin/python bench/bench_cache.py [--requests 600] [--concurrency 4] [--workers 2]
Redis: BENCH_REDIS_URL (default redis://127.0.0.1:6379/6; skipped when unreachable).
PostgreSQL: BENCH_POSTGRES_URL, a database of the benchmark's own (migrated and seeded in place);
the search benchmark then runs on it instead of SQLite.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.util
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from importlib import import_module
from pathlib import Path
from urllib.parse import parse_qsl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from sqlalchemy import text  # noqa: E402
from werkzeug.datastructures import MultiDict  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from tests.support.servers import gunicorn  # noqa: E402

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL")
PASSWORD = "bench password that is long enough"
# Sign-in and searches send the same User-Agent, as one browser would: flask-login marks a session
# seen from another agent as not fresh, which rewrites the cookie on every response when the
# client (like this one) does not keep the cookies it is sent back.
USER_AGENT = "bench-cache"
QUERIES = [
    f"state={state}&sort={sort}&page={page}"
    for state in ("FL", "TX", "CA", "NY", "OH")
    for sort in ("premium", "-stars")
    for page in (1, 2)
] + ["type=PPO&sort=deductible", "carrier=Health&sort=name", "min_stars=4&sort=-stars", "premium_max=50"]


def sample_value() -> dict:
    """One page of search results, as the plans plugin caches it."""
    plan = {
        "id": 1,
        "name": "Sunshine Advantage Plus (HMO)",
        "carrier": "Sunshine Health",
        "plan_type": "HMO",
        "state": "FL",
        "county": "Miami-Dade",
        "monthly_premium": Decimal("23.50"),
        "deductible": Decimal("250.00"),
        "star_rating": Decimal("4.5"),
        "benefits": ["Dental", "Vision", "Fitness membership"],
    }
    return {"items": [dict(plan, id=n) for n in range(20)], "pagination": {"page": 1, "total": 412}}


def redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


def drop_prefix(prefix: str) -> None:
    """Delete the benchmark's Redis keys."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    names = list(client.scan_iter(match=prefix + "*", count=1000))
    if names:
        client.unlink(*names)


def ops_per_second(function, seconds: float = 1.0) -> float:
    count, started = 0, time.perf_counter()
    while True:
        for _ in range(50):
            function()
        count += 50
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return count / elapsed


def backend_apps(tmp: Path) -> list[tuple[str, object]]:
    base = {
        "PORTAL_ENV": "testing",
        "SECRET_KEY": "b" * 40,
        "PORTAL_PLUGINS": "cache",
        "SCHEDULER_ENABLED": False,
    }
    sqlite = f"sqlite:///{tmp / 'ops.db'}"
    configs = [
        ("memory", {"DATABASE_URL": sqlite}),
        ("database (SQLite)", {"DATABASE_URL": sqlite, "CACHE_BACKEND": "database"}),
    ]
    if POSTGRES_URL:
        configs.append(("database (PostgreSQL)", {"DATABASE_URL": POSTGRES_URL, "CACHE_BACKEND": "database"}))
    if redis_available():
        prefix = f"bench:{uuid.uuid4().hex[:8]}:"
        configs.insert(
            1,
            (
                "redis",
                {
                    "DATABASE_URL": sqlite,
                    "CACHE_BACKEND": "redis",
                    "CACHE_REDIS_URL": REDIS_URL,
                    "CACHE_KEY_PREFIX": prefix,
                },
            ),
        )
    apps = []
    for name, extra in configs:
        app = create_app({**base, "INSTANCE_PATH": str(tmp), **extra})
        with app.app_context():
            db.create_all()
        apps.append((name, app))
    return apps


def measure(service, value) -> tuple[float, float, float]:
    """set, get (hit) and get_or_set (hit) operations per second on ``service``."""
    counter = iter(range(10**9))
    set_rate = ops_per_second(lambda: service.set(f"k{next(counter) % 500}", value, tags=("plans",)))
    service.set("hot", value, tags=("plans",))
    get_rate = ops_per_second(lambda: service.get("hot"))
    gos_rate = ops_per_second(lambda: service.get_or_set("hot", lambda: value, tags=("plans",)))
    return set_rate, get_rate, gos_rate


def bench_backends(tmp: Path) -> None:
    value = sample_value()
    print("\n== get/set operations per second (value: one page of 20 plans) ==")
    print(f"{'backend':<24}{'set':>10}{'get (hit)':>12}{'get_or_set (hit)':>18}{'get vs memory':>15}")
    memory_get = None
    for name, app in backend_apps(tmp):
        with app.app_context():
            service = app.extensions["plugin.cache"]
            set_rate, get_rate, gos_rate = measure(service, value)
            memory_get = memory_get or get_rate
            print(
                f"{name:<24}{set_rate:>10,.0f}{get_rate:>12,.0f}{gos_rate:>18,.0f}{get_rate / memory_get:>14.3f}x"
            )
            if name == "memory":
                encoded = service.codec.encode(value)
                print(
                    f"{'':<24}(one value: {len(encoded.blob):,} bytes stored, {encoded.saved:,} saved by zlib)"
                )
            service.clear()
            errors = service.stats()["errors"]
            if name == "redis":
                drop_prefix(app.config["CACHE_KEY_PREFIX"])
            if name == "database (PostgreSQL)":  # the search benchmark migrates it from empty
                db.drop_all()
                with db.engine.begin() as connection:
                    connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
            if errors:
                raise RuntimeError(f"{name}: {errors} backend errors during the benchmark")


# --- gunicorn (tests/support/servers.py starts it) ----------------------------------------------------------------------------------


def flask(env: dict, *args: str, stdin: str | None = None, check: bool = True) -> None:
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        text=True,
        check=check,
        capture_output=True,
    )


def signed_in_session(base: str) -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    page = session.get(base + "/auth/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = session.post(
        base + "/auth/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token}
    )
    response.raise_for_status()
    return session


SEARCHES = [f"/api/v1/plans/search?{query}" for query in QUERIES]
HEALTH_CHECK = ["/healthz"]


def run_requests(base: str, total: int, concurrency: int, paths: list[str] = SEARCHES) -> float:
    """Requests per second for ``total`` signed-in GETs cycling through ``paths``.

    Each client thread signs in with requests, then sends its GETs over one keep-alive
    http.client connection: requests costs about 2 ms of client CPU per call on this machine,
    more than a cached search costs the server, and the client shares the server's cores."""
    host, port = base.removeprefix("http://").split(":")
    cookies = []
    for _ in range(concurrency):
        session = signed_in_session(base)
        cookies.append("; ".join(f"{name}={value}" for name, value in session.cookies.items()))
    warm_up = http.client.HTTPConnection(host, int(port), timeout=30)
    for path in paths:  # warm-up: the cached server fills its cache, both warm their pools
        get(warm_up, cookies[0], path)
    warm_up.close()

    def worker(index: int) -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            for number in range(index, total, concurrency):
                get(connection, cookies[index], paths[number % len(paths)])
        finally:
            connection.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(worker, range(concurrency)))
    return total / (time.perf_counter() - started)


def get(connection: http.client.HTTPConnection, cookie: str, path: str) -> None:
    """One signed-in GET; anything but a 200 stops the benchmark."""
    connection.request("GET", path, headers={"Cookie": cookie, "User-Agent": USER_AGENT})
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"{response.status}: {body[:200]!r}")


def bench_search_function(env: dict) -> None:
    """The plans search itself, in process: computing a page against reading it from the cache."""

    app = create_app(
        {
            "PORTAL_ENV": "testing",
            "SECRET_KEY": "b" * 40,
            "PORTAL_PLUGINS": "cache,plans",
            "SCHEDULER_ENABLED": False,
            "DATABASE_URL": env["DATABASE_URL"],
            "INSTANCE_PATH": env["PORTAL_INSTANCE_PATH"],
        }
    )
    search = import_module("plugins.plans.search")
    forms = import_module("plugins.plans.forms")
    print("\n== the plans search in process (no HTTP): compute vs cache hit, memory backend ==")
    with app.test_request_context():
        forms_ = [forms.SearchForm(MultiDict(parse_qsl(q)), per_page=20) for q in QUERIES]
        if not all(form.validate() for form in forms_):
            raise RuntimeError("a benchmark query does not validate")
        criteria = [form.criteria() for form in forms_]
        index = iter(range(10**9))
        compute = ops_per_second(lambda: search.search_plans(criteria[next(index) % len(criteria)]))
        for item in criteria:
            search.cached_search(item)
        hit = ops_per_second(lambda: search.cached_search(criteria[next(index) % len(criteria)]))
    print(f"{'search_plans() (database)':<34}{compute:>10,.0f} per s")
    print(f"{'cached_search() hit':<34}{hit:>10,.0f} per s   {hit / compute:>6.1f}x")


def bench_search(tmp: Path, total: int, concurrency: int, workers: int) -> None:
    env = {
        **os.environ,
        "PORTAL_ENV": "testing",
        "SECRET_KEY": "b" * 40,
        "PORTAL_INSTANCE_PATH": str(tmp / "instance"),
        "DATABASE_URL": POSTGRES_URL or f"sqlite:///{tmp / 'search.db'}",
        "PORTAL_PLUGINS": "cache,plans",
        "SCHEDULER_ENABLED": "false",
        "PORTAL_DOTENV": str(tmp / "none.env"),
    }
    flask(env, "db", "upgrade")
    flask(env, "demo", "seed")
    flask(env, "users", "create", "bench", stdin=PASSWORD + "\n", check=False)  # exists on a reused database
    bench_search_function(env)
    scenarios = {
        "uncached (CACHE_ENABLED=false)": {**env, "CACHE_ENABLED": "false"},
        "cached, memory backend": env,
    }
    if redis_available():
        prefix = f"bench:{uuid.uuid4().hex[:8]}:"
        scenarios["cached, redis backend"] = {
            **env,
            "CACHE_BACKEND": "redis",
            "CACHE_REDIS_URL": REDIS_URL,
            "CACHE_KEY_PREFIX": prefix,
        }
    rates: dict[str, list[float]] = {name: [] for name in scenarios}
    try:
        with contextlib.ExitStack() as stack:
            bases = {
                name: stack.enter_context(gunicorn(scenario, workers=workers, threads=2))
                for name, scenario in scenarios.items()
            }
            floor: list[float] = []
            for _ in range(3):  # interleaved rounds, so that drift in machine load hits every scenario
                for name, base in bases.items():
                    rates[name].append(run_requests(base, total, concurrency))
                floor.append(run_requests(bases["cached, memory backend"], total, concurrency, HEALTH_CHECK))
    finally:
        if "cached, redis backend" in scenarios:
            drop_prefix(scenarios["cached, redis backend"]["CACHE_KEY_PREFIX"])
    print(
        f"\n== GET /api/v1/plans/search under gunicorn ({workers} workers x 2 threads, {concurrency} keep-alive clients, "
        f"{total} requests x 3 rounds over {len(QUERIES)} distinct queries; median) =="
    )
    baseline = statistics.median(rates["uncached (CACHE_ENABLED=false)"])
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"{name:<34}{median:>10,.0f} req/s   {median / baseline:>6.1f}x uncached")
    # No answer, cached or not, can be cheaper than the portal's cheapest request on the same
    # server: its rate over the uncached search's is the highest ratio any cache could reach.
    ceiling = statistics.median(floor)
    print(f"{'GET /healthz (the ceiling)':<34}{ceiling:>10,.0f} req/s   {ceiling / baseline:>6.1f}x uncached")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if importlib.util.find_spec("plugins.plans.search") is None:
        raise SystemExit("the plans plugin (GET /api/v1/plans/search) is needed for the search benchmark")
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        bench_backends(tmp)
        bench_search(tmp, args.requests, args.concurrency, args.workers)


if __name__ == "__main__":
    main()
