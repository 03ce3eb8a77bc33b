"""The signed-in scenario of bench/bench_overhead.py: users created in the bench's database,
each signed in over HTTP with its own address and the User-Agent the load then sends, and wrk
driving the plans search API with a Lua script that rotates their cookies."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import tempfile
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
AGENT = "Mozilla/5.0 (X11; Linux x86_64) bench-overhead/1.0"
PASSWORD = "bench-password-Quartz-7-Harbour"
CSRF_FIELD = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')


def create_users(count: int) -> list[str]:
    """Create ``count`` client users in the current app's database; their names."""
    from app.cli import create_user
    from app.models import Role

    names = [f"bench-user-{n:03d}" for n in range(count)]
    for name in names:
        create_user(name, PASSWORD, Role.CLIENT)
    return names


def seed_plans() -> int:
    """Insert the demo plans (the search answers from a realistic table)."""
    from app.extensions import db
    from plugins.plans.demo import generate_plans
    from plugins.plans.models import Plan

    rows = list(generate_plans())
    db.session.execute(db.insert(Plan), rows)
    db.session.commit()
    return len(rows)


def _cookies(response: http.client.HTTPResponse, jar: dict[str, str]) -> None:
    for header in response.headers.get_all("Set-Cookie") or []:
        for name, morsel in SimpleCookie(header).items():
            jar[name] = morsel.value


def sign_in(port: int, username: str, address: str) -> str:
    """Sign ``username`` in from ``address``; the Cookie header of its session."""
    jar: dict[str, str] = {}
    headers = {"User-Agent": AGENT, "X-Forwarded-For": address}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", "/auth/login", headers=headers)
        response = connection.getresponse()
        match = CSRF_FIELD.search(response.read())
        _cookies(response, jar)
        form = {
            "username": username,
            "password": PASSWORD,
            "csrf_token": match.group(1).decode() if match else "",
        }
        cookie = "; ".join(f"{name}={value}" for name, value in jar.items())
        connection.request(
            "POST",
            "/auth/login",
            body=urlencode(form),
            headers={**headers, "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        )
        response = connection.getresponse()
        response.read()
        _cookies(response, jar)
        if response.status != 302:
            raise SystemExit(f"signing {username} in answered {response.status}, not a redirect")
    finally:
        connection.close()
    return "; ".join(f"{name}={value}" for name, value in jar.items())


def users_file(port: int, names: list[str], address_of) -> Path:
    """Sign every user in on the server at ``port``; the file the Lua script reads."""
    handle, name = tempfile.mkstemp(prefix="bench-users-", suffix=".tsv")
    with os.fdopen(handle, "w") as out:
        for n, username in enumerate(names):
            out.write(f"{sign_in(port, username, address_of(n))}\t{address_of(n)}\n")
    return Path(name)


def refresh(port: int, path: str, users: Path) -> int:
    """Send one request as each user and keep the cookies the answer sets, as a browser does
    (the session cookie is re-issued when its idle clock moves on, every 30 s of use; wrk's
    script cannot map an answer to its user, so the bench does this between rounds). The
    number of users whose cookie changed."""
    lines = [line.rstrip("\n").split("\t") for line in users.read_text().splitlines()]
    changed = 0
    for entry in lines:
        cookie, address = entry
        jar = dict(part.split("=", 1) for part in cookie.split("; ") if "=" in part)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request(
                "GET", path, headers={"User-Agent": AGENT, "X-Forwarded-For": address, "Cookie": cookie}
            )
            response = connection.getresponse()
            response.read()
            before = dict(jar)
            _cookies(response, jar)
        finally:
            connection.close()
        if jar != before:
            changed += 1
            entry[0] = "; ".join(f"{name}={value}" for name, value in jar.items())
    users.write_text("".join(f"{cookie}\t{address}\n" for cookie, address in lines))
    return changed


def wrk(
    port: int, path: str, users: Path | None, seconds: float, connections: int, threads: int
) -> tuple[int, float, str]:
    """Load ``path`` with wrk; (requests, seconds, what else than 200 it got)."""
    env = {**os.environ, "BENCH_PATH": path, "BENCH_AGENT": AGENT, "BENCH_THREADS": str(threads),
           "BENCH_USERS": str(users or os.devnull)}  # fmt: skip
    script = HERE / ("signed_in.lua" if users else "plain.lua")
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s", "--timeout", "10s",
               "-s", str(script), f"http://127.0.0.1:{port}{path}"]  # fmt: skip
    output = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 60)
    if output.returncode:
        raise SystemExit(f"wrk failed: {output.stderr.strip()}")
    line = next(line for line in output.stdout.splitlines() if line.startswith("BENCH "))
    fields = dict(item.split("=", 1) for item in line.split()[1:4])
    refused = line.split("non-200:", 1)[1].strip()
    if int(fields["errors"]):
        refused = f"{refused} socket/status errors={fields['errors']}".strip()
    return int(fields["requests"]), float(fields["seconds"]), refused
