"""app.auth.guesses: a limit of N admits N guesses at any concurrency, on memory and on Redis;
a right guess gives its place back; a storage that does not answer falls back to memory."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from app.auth import guesses
from app.auth.guesses import GuessLimit
from tests.conftest import REDIS_URL
from tests.support.servers import free_port

LIMIT = GuessLimit("AUTH", "test-scope", "ip:198.51.100.1", "30 per 15 minutes")


def reserve_concurrently(app, count: int, give_back=lambda n: False) -> list[bool]:
    """``count`` threads reserve at once; those for which ``give_back(n)`` release at once."""
    start = threading.Barrier(count)

    def one(n: int) -> bool:
        with app.app_context():
            start.wait(timeout=30)
            reservation = guesses.reserve_guess([LIMIT])
            if reservation.ok and give_back(n):
                reservation.release()
            return reservation.ok

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def storage_app(request, app):
    if request.param == "redis":
        redis.Redis.from_url(REDIS_URL).flushdb()
        app.extensions[guesses.EXTENSION] = guesses.GuessStore(REDIS_URL)
        yield app
        redis.Redis.from_url(REDIS_URL).flushdb()
    else:
        yield app


def test_two_hundred_threads_get_exactly_the_limit(storage_app):
    admitted = reserve_concurrently(storage_app, 200)
    assert admitted.count(True) == 30
    with storage_app.app_context():
        assert not guesses.reserve_guess([LIMIT]).ok  # and the refused ones left nothing behind


def test_places_given_back_are_free_again_and_refusals_leave_no_count(storage_app):
    # Even threads are "right guesses": they give back, so only odd ones stay counted.
    admitted = reserve_concurrently(storage_app, 60, give_back=lambda n: n % 2 == 0)
    kept = sum(1 for n, ok in enumerate(admitted) if ok and n % 2)
    with storage_app.app_context():
        more = 0
        while guesses.reserve_guess([LIMIT]).ok:
            more += 1
    assert kept + more == 30


def test_a_refusal_in_one_limit_gives_back_the_places_of_the_others(app):
    roomy = GuessLimit("AUTH", "roomy", "k", "10 per minute")
    full = GuessLimit("AUTH", "full", "k", "1 per minute")
    with app.app_context():
        assert guesses.reserve_guess([roomy, full]).ok
        refused = guesses.reserve_guess([roomy, full])
        assert refused.refused == full and 0 < refused.retry_after <= 60
        left = [guesses.reserve_guess([roomy]).ok for _ in range(10)]
    assert left.count(True) == 9  # 10 minus the one kept place; the refused guess took none


def test_an_unreachable_redis_counts_in_memory(app):
    app.extensions[guesses.EXTENSION] = guesses.GuessStore(f"redis://127.0.0.1:{free_port()}/0")
    limit = GuessLimit("AUTH", "down", "k", "2 per minute")
    with app.app_context():
        assert [guesses.reserve_guess([limit]).ok for _ in range(3)] == [True, True, False]
