"""In-memory rate-limit storage that expires old entries in the calling thread, not in a timer.

limits' ``MemoryStorage`` starts a ``threading.Timer`` 10 ms ahead on every hit when none is
alive: a worker answering a request every few milliseconds starts a new thread about a hundred
times a second, and each start waits for the new thread to take the GIL (py-spy on a gunicorn
worker under the signed-in bench: 15 % of its busy time in ``Thread.start``, 749 thread starts
for 3,000 requests). This storage keeps ``MemoryStorage``'s data, reads and strategies (fixed,
moving and sliding windows) and overrides only the three writes that scheduled the timer; they
sweep expired entries themselves, at most once every ``SWEEP_EVERY_S``, in whichever thread hits
(a thread that finds a sweep running goes on without waiting).

Registered with limits as the scheme ``memory+swept://``: the portal's rate-limit storage when no
``REDIS_URL`` is set (``app.config``). Expiry does not depend on the sweep: every read already
treats an expired counter or window entry as absent; the sweep only bounds the memory held.
"""

from __future__ import annotations

import bisect
import threading
import time

from limits.storage import MemoryStorage
from limits.storage.memory import Entry

SCHEME = "memory+swept"
MEMORY_STORAGE_URI = f"{SCHEME}://"
SWEEP_EVERY_S = 1.0


def _newest_first(entry: Entry) -> float:
    return -entry.atime


class SweptMemoryStorage(MemoryStorage):
    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._sweeping = threading.Lock()
        self._swept_at = time.monotonic()

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        self.get(key)  # drops the counter if it expired: a new window starts at this hit
        self._sweep_now_and_then()
        with self.locks[key]:
            self.storage[key] += amount
            if self.storage[key] == amount:
                self.expirations[key] = time.time() + expiry
        return self.storage.get(key, 0)

    def decr(self, key: str, amount: int = 1) -> int:
        self.get(key)
        self._sweep_now_and_then()
        with self.locks[key]:
            self.storage[key] = max(self.storage[key] - amount, 0)
        return self.storage.get(key, 0)

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        return self.acquire_entry_with_window(key, limit, expiry, amount)[0]

    def acquire_entry_with_window(
        self, key: str, limit: int, expiry: int, amount: int = 1
    ) -> tuple[bool, float, int]:
        """``acquire_entry`` and then ``get_moving_window`` in one pass under the key's lock:
        (acquired, start of the window, entries in it). The rate-limit guard answers every
        request with the window's headers; reading the window again cost a second lookup,
        a second lock and a second bisection per request."""
        if amount > limit:
            return (False, *self.get_moving_window(key, limit, expiry))
        self._sweep_now_and_then()
        with self.locks[key]:
            events = self.events.setdefault(key, [])  # newest first
            now = time.time()
            # The entry that would fall out of the window, if the window is full (a length test:
            # the list is shorter than the limit on most hits, and an IndexError costs more).
            entry = events[limit - amount] if len(events) > limit - amount else None
            acquired = not (entry and entry.atime >= now - expiry)
            if acquired:
                events[:0] = [Entry(expiry)] * amount
            if not events:
                return acquired, now, 0
            # As get_moving_window: the entries younger than the window, and the oldest's time.
            # The sweep keeps the list to about one window, so its oldest entry is most often
            # still in it, and then so is every entry: no bisection needed.
            start = time.time() - expiry
            if events[-1].atime > start:
                alive = len(events)
            else:
                alive = bisect.bisect_left(events, -start, key=_newest_first)
            return acquired, events[alive - 1].atime, alive

    def _sweep_now_and_then(self) -> None:
        if time.monotonic() - self._swept_at < SWEEP_EVERY_S or not self._sweeping.acquire(blocking=False):
            return
        try:
            self._swept_at = time.monotonic()
            self.sweep()
        finally:
            self._sweeping.release()

    def sweep(self) -> None:
        """Forget expired counters and moving-window entries (and the locks of keys left empty)."""
        now = time.time()
        for key in list(self.events):
            with self.locks[key]:
                events = self.events.get(key)
                if events:
                    # Newest first, so the entries still alive are a prefix. An entry whose
                    # expiry is now still counts (the verdicts count atime >= now - window).
                    alive = bisect.bisect_right(events, -now, key=lambda entry: -entry.expiry)
                    del events[alive:]
                if not events:
                    self.events.pop(key, None)
                    self.locks.pop(key, None)
        for key, expires_at in list(self.expirations.items()):
            if expires_at <= now:
                self.storage.pop(key, None)
                self.expirations.pop(key, None)
                self.locks.pop(key, None)
