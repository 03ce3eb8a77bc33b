"""A crowd for real servers: many users signing in at once, then loading pages, over real HTTP.

Every request has a time bound and the crowd a size bound; each outcome is counted (success,
status, timeout) so a failing test says how many of the crowd got through and how the rest
failed.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

from tests.conftest import CSRF_PATTERN

AGENT = "Mozilla/5.0 (X11; Linux x86_64) crowd-test/1.0"
REQUEST_TIMEOUT = 60.0
PAGES = ("/", "/plans/", "/plans/policies", "/auth/password")


@dataclass
class Outcome:
    """How a batch of requests ended: successes, statuses seen, timeouts and other errors."""

    successes: int = 0
    statuses: Counter = field(default_factory=Counter)
    timeouts: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)

    def summary(self) -> str:
        return (
            f"{self.successes} succeeded, statuses {dict(sorted(self.statuses.items()))}, "
            f"{self.server_errors} 5xx, {self.timeouts} timed out, errors {self.errors[:3]}"
        )


def new_session() -> requests.Session:
    """A client with the browser-like User-Agent every request of the crowd sends."""
    session = requests.Session()
    session.headers["User-Agent"] = AGENT
    return session


def sign_in_all(base: str, credentials: list[tuple[str, str]]) -> tuple[Outcome, list[requests.Session]]:
    """Sign every (username, password) in at once, each on its own session: all fetch the form,
    then all post it together (a barrier), then each checks the home page greets it."""
    outcome, lock = Outcome(), threading.Lock()
    barrier = threading.Barrier(len(credentials), timeout=REQUEST_TIMEOUT * 2)
    signed_in: list[requests.Session] = []

    def one(username: str, password: str) -> None:
        session = new_session()
        status = None
        try:
            form = session.get(base + "/auth/login", timeout=REQUEST_TIMEOUT)
            token = CSRF_PATTERN.search(form.text).group(1)
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass  # someone's form failed: post anyway, the outcome counts it
            response = session.post(
                base + "/auth/login",
                data={"username": username, "password": password, "csrf_token": token},
                allow_redirects=False,
                timeout=REQUEST_TIMEOUT,
            )
            status = response.status_code
            ok = (
                status == 302
                and f"Welcome, {username}" in session.get(base + "/", timeout=REQUEST_TIMEOUT).text
            )
        except requests.Timeout:
            with lock:
                outcome.timeouts += 1
            barrier.abort()
            return
        except Exception as error:  # noqa: BLE001 (counted and reported)
            with lock:
                outcome.errors.append(f"{username}: {type(error).__name__}: {error}"[:200])
            barrier.abort()
            return
        with lock:
            outcome.statuses[status] += 1
            if ok:
                outcome.successes += 1
                signed_in.append(session)

    with ThreadPoolExecutor(max_workers=len(credentials)) as pool:
        list(pool.map(lambda pair: one(*pair), credentials))
    return outcome, signed_in


def load_pages(base: str, sessions: list[requests.Session], total: int, concurrency: int) -> Outcome:
    """``total`` page loads, ``concurrency`` at a time, round-robin over sessions and pages; a
    load succeeds when it answers 200 and is not the sign-in page (still signed in)."""
    outcome, lock = Outcome(), threading.Lock()

    def one(index: int) -> None:
        session = sessions[index % len(sessions)]
        path = PAGES[index % len(PAGES)]
        try:
            response = session.get(base + path, timeout=REQUEST_TIMEOUT, allow_redirects=False)
        except requests.Timeout:
            with lock:
                outcome.timeouts += 1
            return
        except Exception as error:  # noqa: BLE001 (counted and reported)
            with lock:
                outcome.errors.append(f"{path}: {type(error).__name__}: {error}"[:200])
            return
        with lock:
            outcome.statuses[response.status_code] += 1
            if response.status_code == 200:
                outcome.successes += 1

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, range(total)))
    return outcome


def crowd_credentials(count: int, password: str) -> list[tuple[str, str]]:
    return [(f"member{index:03d}", password) for index in range(count)]


def create_members(app, credentials: list[tuple[str, str]]) -> None:
    """Store the crowd's client accounts through the portal's own user creation."""
    from app.cli import create_user
    from app.extensions import db
    from app.models import Role

    with app.app_context():
        for username, password in credentials:
            create_user(username, password, Role.CLIENT)
        db.session.remove()
