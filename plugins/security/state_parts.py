"""The classes the security state is made of (``state.SecurityState`` holds one of each): plain
holders, safe under threaded servers and bounded, that read neither the app nor the database.

They live apart from the modules that use them so that ``state.py`` can name them while those
modules read the state: no import runs in a circle.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from limits import RateLimitItem

from app.models import utcnow

REPORTED_MAX_KEYS = 10_000


@dataclass
class BanCache:
    """This worker's copy of the active bans: IP -> end (epoch seconds), and when it was read."""

    loaded: float | None = None  # monotonic time of the last read; None: read on next use
    bans: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class EndpointPolicy:
    """What the limits make of one endpoint (and whether its URL is the API's), worked out once
    per app: the configuration does not change while the app serves. What every counted request
    needs of it (the parsed limit, its counter's scope, its name in the headers) is worked out
    here once, not per request."""

    name: str  # AUTH, MFA, API, DEFAULT or ENDPOINT
    limit: str
    counts_failures_only: bool  # sign-in and second-factor endpoints count wrong answers
    exempt: bool  # RATE_LIMIT_EXEMPT_ENDPOINTS: nothing counts it
    item: RateLimitItem  # ``limit`` as `limits` counts it
    scope: str  # the counter's last identifier: "<endpoint>:<policy>"
    header_name: str  # its name in the IETF headers ("api", "default", ...)
    header_field: str  # its RateLimit-Policy field: '"api";q=300;w=900'
    key_around: tuple[str, str]  # its counter's storage key before and after the client's part

    def is_guess(self, method: str) -> bool:
        """A POST to a sign-in or second-factor endpoint: a password or a code is checked."""
        return self.counts_failures_only and method == "POST"

    def counts_nothing(self, method: str) -> bool:
        """No limit counts the request: showing a sign-in or code form, or an exempt endpoint
        (sign-in and second-factor endpoints count wrong answers only, see failures.py)."""
        return (self.counts_failures_only or self.exempt) and not self.is_guess(method)


class RejectionCounts:
    """Rejections of one process not yet written, per (identifier, endpoint): a 429 costs no
    database write; the audit writer adds them to security_rate_limits in one upsert."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[tuple[str, str], list] = {}  # key -> [count, first, last]

    def add(self, identifier: str, endpoint: str) -> bool:
        """Count one rejection; return whether the buffer was empty before."""
        now = utcnow()
        with self.lock:
            was_empty = not self.counts
            entry = self.counts.setdefault((identifier, endpoint), [0, now, now])
            entry[0] += 1
            entry[2] = now
            return was_empty

    def take(self) -> dict[tuple[str, str], list]:
        with self.lock:
            counts, self.counts = self.counts, {}
            return counts


class ReportedMemory:
    """Per key: until when (monotonic) its reports count, and how many there were; oldest first."""

    def __init__(self, max_keys: int = REPORTED_MAX_KEYS) -> None:
        self.lock = threading.Lock()
        self.entries: OrderedDict[str, list] = OrderedDict()
        self.max_keys = max_keys

    def take(self, key: str, seconds: float, amount: int) -> bool:
        """Count one report of ``key`` unless ``amount`` were counted in its window (atomic: two
        threads of one process never both take the last one)."""
        now = time.monotonic()
        with self.lock:
            entry = self.entries.get(key)
            if entry is None or entry[0] <= now:
                self.entries.pop(key, None)
                entry = self.entries[key] = [now + seconds, 0]
                while len(self.entries) > self.max_keys:
                    self.entries.popitem(last=False)
            if entry[1] >= amount:
                return False
            entry[1] += 1
            return True

    def exhaust(self, key: str, amount: int) -> None:
        """Mark ``key`` as reported ``amount`` times (another process did it)."""
        with self.lock:
            entry = self.entries.get(key)
            if entry is not None:
                entry[1] = amount


@dataclass
class Window:
    """One source's detection being counted: its first row and how many followed it."""

    started: float  # time.monotonic() of the stored occurrence
    row: dict[str, Any]
    first_seen: datetime
    last_seen: datetime
    repeats: int = 0


class RepeatMemory:
    """The open windows of one process, oldest first; bounded and safe under threaded servers.

    ``write`` stores a count event; it takes ``log_event``'s arguments."""

    def __init__(self, write: Callable[..., Any]) -> None:
        self.write = write
        self.lock = threading.Lock()
        self.windows: OrderedDict[str, Window] = OrderedDict()
        self.next_sweep = 0.0

    def admit(self, key: str, row: dict[str, Any], window: float, max_keys: int) -> tuple[bool, list[Window]]:
        """(whether to store ``row``, the closed windows whose counts are due)."""
        now, wall = time.monotonic(), utcnow()
        with self.lock:
            current = self.windows.get(key)
            if current is not None and now - current.started < window:
                current.repeats += 1
                current.last_seen = wall
                return False, []
            closed = [self.windows.pop(key)] if current is not None else []
            self.windows[key] = Window(now, row, wall, wall)
            while len(self.windows) > max_keys:  # the oldest window's count is written early
                closed.append(self.windows.popitem(last=False)[1])
        return True, [item for item in closed if item.repeats]

    def expired(self, window: float) -> list[Window]:
        """Take the windows that have closed; return those with a count to write."""
        now = time.monotonic()
        due: list[Window] = []
        with self.lock:
            while self.windows:
                key, oldest = next(iter(self.windows.items()))
                if now - oldest.started < window:
                    break
                del self.windows[key]
                if oldest.repeats:
                    due.append(oldest)
        return due


class TrafficBuffer:
    """Counts of one worker not yet written; safe under threaded servers."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[tuple[int, str, str]] = Counter()

    def add(self, bucket: int, ip: str, endpoint: str | None) -> bool:
        """Count one request; return whether the buffer was empty before."""
        with self.lock:
            was_empty = not self.counts
            self.counts[(bucket, "ip", ip[:120])] += 1
            if endpoint is not None:
                self.counts[(bucket, "endpoint", endpoint[:120])] += 1
            return was_empty

    def take(self) -> Counter:
        with self.lock:
            counts, self.counts = self.counts, Counter()
            return counts
