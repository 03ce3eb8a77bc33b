"""The in-memory rate-limit storage: limits' MemoryStorage less its timer thread per hit."""

import threading
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from limits import parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter, SlidingWindowCounterRateLimiter

from app import limit_storage
from app.limit_storage import MEMORY_STORAGE_URI, SweptMemoryStorage

STRATEGIES = (FixedWindowRateLimiter, MovingWindowRateLimiter, SlidingWindowCounterRateLimiter)


class Clock:
    """time.time and time.monotonic, moved by hand (both storages and every strategy read them)."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __enter__(self):
        self._patches = [
            mock.patch("time.time", lambda: self.now),
            mock.patch("time.monotonic", lambda: self.now),
        ]
        for patch in self._patches:
            patch.start()
        return self

    def __exit__(self, *exc):
        for patch in self._patches:
            patch.stop()


def count_thread_starts(storage, hits: int, gap_s: float) -> int:
    started = []
    original = threading.Thread.start

    def counting_start(thread):
        started.append(thread)
        original(thread)

    strategy = MovingWindowRateLimiter(storage)
    item = parse("1000/minute")
    with mock.patch.object(threading.Thread, "start", counting_start):
        for number in range(hits):
            strategy.hit(item, "k", str(number % 3))
            threading.Event().wait(gap_s)  # longer than the 10 ms MemoryStorage's timer waits
    return len(started)


def test_the_uri_names_this_storage():
    assert isinstance(storage_from_string(MEMORY_STORAGE_URI), SweptMemoryStorage)


def test_hits_start_no_thread_where_memory_storage_starts_one_each():
    assert count_thread_starts(MemoryStorage(), hits=6, gap_s=0.05) >= 1  # the cost, shown
    assert count_thread_starts(SweptMemoryStorage(), hits=6, gap_s=0.05) == 0


@settings(max_examples=60, deadline=None)
@given(
    strategy_index=st.integers(0, len(STRATEGIES) - 1),
    steps=st.lists(
        st.tuples(st.sampled_from(["hit", "test", "clear"]), st.integers(0, 2), st.floats(0, 40)),
        max_size=60,
    ),
)
def test_every_strategy_gives_memory_storages_verdicts(strategy_index, steps):
    strategy = STRATEGIES[strategy_index]
    item = parse("3/10 seconds")
    with Clock() as clock:
        ours, theirs = strategy(SweptMemoryStorage()), strategy(MemoryStorage())
        for action, key_number, wait in steps:
            clock.now += wait
            key = f"k{key_number}"
            if action == "clear":
                ours.clear(item, key), theirs.clear(item, key)
                continue
            assert getattr(ours, action)(item, key) == getattr(theirs, action)(item, key)
            assert ours.get_window_stats(item, key).remaining == theirs.get_window_stats(item, key).remaining


@pytest.mark.parametrize("strategy", [FixedWindowRateLimiter, MovingWindowRateLimiter])
def test_expired_entries_are_swept_by_a_later_hit(strategy):
    with Clock() as clock:
        storage = SweptMemoryStorage()
        limiter = strategy(storage)
        item = parse("5/second")
        for number in range(200):
            limiter.hit(item, "ip", str(number))
        held = len(storage.expirations) + len(storage.events)
        assert held == 200
        clock.now += 2  # every entry expired; a sweep is due
        limiter.hit(item, "ip", "fresh")
        assert len(storage.expirations) + len(storage.events) == 1  # only the fresh one is held


def test_a_sweep_waits_for_its_interval():
    assert limit_storage.SWEEP_EVERY_S == 1.0  # the times below are chosen around it
    with Clock() as clock:
        storage = SweptMemoryStorage()
        storage.incr("a", 1)
        clock.now += 1.5
        storage.incr("b", 10)  # a sweep is due: "a" expired and goes
        storage.incr("c", 0.1)
        assert set(storage.expirations) == {"b", "c"}
        clock.now += 0.5
        storage.incr("d", 10)  # "c" expired, but the last sweep was 0.5 s ago: it stays held
        assert set(storage.expirations) == {"b", "c", "d"}
        clock.now += 0.6
        storage.incr("e", 10)  # 1.1 s after the last sweep: this hit sweeps "c" away
        assert set(storage.expirations) == {"b", "d", "e"}
        assert storage.get("b") == 1 and storage.get("c") == 0


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.tuples(st.integers(0, 2), st.floats(0, 40), st.integers(1, 3)), max_size=60),
)
def test_one_pass_count_gives_the_hit_and_the_window_memory_storage_gives(steps):
    """What the rate-limit guard reads in one pass (its verdict, then the headers' window) is
    what MemoryStorage answers to a hit followed by get_window_stats."""
    from app.rate_limits import Counting

    with Clock() as clock:
        ours, theirs = (
            Counting(MovingWindowRateLimiter(SweptMemoryStorage())),
            MovingWindowRateLimiter(MemoryStorage()),
        )
        for key_number, wait, amount in steps:
            clock.now += wait
            key = f"k{key_number}"
            item = parse(f"{amount}/10 seconds")
            _, admitted, stats = ours.hit_with_window(item, key)
            assert admitted == theirs.hit(item, key)
            expected = theirs.get_window_stats(item, key)
            assert stats.remaining == expected.remaining
            if expected.remaining < item.amount:
                # An empty window's reset time is limits' oldest entry not yet expired, which
                # depends on when expired entries were last removed; only a held one is compared.
                assert stats.reset_time == expected.reset_time


def test_a_strategy_other_than_the_moving_window_reads_the_window_afterwards():
    from app.rate_limits import Counting

    counting = Counting(FixedWindowRateLimiter(SweptMemoryStorage()))
    strategy, admitted, stats = counting.hit_with_window(parse("2/minute"), "k")
    assert admitted and stats is None
    assert strategy.get_window_stats(parse("2/minute"), "k").remaining == 1
